import io
import json
import time
from pathlib import Path

import pytest

from worker.engine.data import (
    FORMATS,
    IGNORE_INDEX,
    MAX_PROBLEMS,
    DatasetReader,
    Problem,
    RecordChecker,
    detect_format,
    load_records,
    normalise,
    split_validation,
    token_statistics,
    tokenize_example,
    validate_records,
)
from worker.engine.errors import DataError
from worker.engine.prompts import build_prompt
from worker.engine.tiny import build_byte_tokenizer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
RECORDS = [
    {
        "instruction": "Add 2 and 3.",
        "input": "",
        "output": "2 + 3 = 5. The answer is 5.",
        "answer": "5",
    },
    {"instruction": "Subtract.", "input": "9 - 4", "output": "The answer is 5.", "answer": 5},
]


def _write(path: Path, fmt: str, records) -> Path:
    if fmt == "json":
        path.write_text(json.dumps(records))
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        lines = ["instruction,input,output,answer"] + [
            ",".join(f'"{r.get(k, "")}"' for k in ("instruction", "input", "output", "answer"))
            for r in records
        ]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_each_format_loads_the_same_records(tmp_path, fmt):
    recs = load_records(_write(tmp_path / f"d.{fmt}", fmt, RECORDS), require_answer=True)
    assert [r["instruction"] for r in recs] == ["Add 2 and 3.", "Subtract."]
    assert recs[1]["answer"] == "5" and recs[1]["input"] == "9 - 4"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.json", "[]", "has no records"),
        ("obj.json", '{"instruction": "x"}', "must be an array"),
        ("broken.json", "[{", "not valid JSON"),
        ("nofield.jsonl", '{"instruction": "x"}\n', "row 1, field 'output': missing"),
        (
            "blank.jsonl",
            '{"instruction": " ", "output": "y"}\n',
            "row 1, field 'instruction': is empty",
        ),
        ("types.jsonl", '{"instruction": 3, "output": "y"}\n', "must be text, got int"),
        ("extra.jsonl", '{"instruction": "x", "output": "y", "label": 1}\n', "unknown field"),
        ("allempty.jsonl", '{"instruction": "x", "output": ""}\n', "no usable records left"),
        ("cols.csv", "question,answer\nx,y\n", "CSV header lacks column(s) instruction, output"),
        ("scalar.jsonl", "3\n", "a record must be an object"),
    ],
)
def test_bad_files_name_row_and_field(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as err:
        load_records(path)
    assert message in str(err.value)


def test_not_utf8_and_missing(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('[{"instruction": "caf\xe9", "output": "x"}]'.encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_records(path)
    with pytest.raises(DataError, match="not found"):
        load_records(tmp_path / "missing.json")


def test_answer_required_for_evaluation_sets(tmp_path):
    path = _write(tmp_path / "d.jsonl", "jsonl", [{"instruction": "x", "output": "y"}])
    assert load_records(path)
    with pytest.raises(DataError, match="field 'answer': missing"):
        load_records(path, require_answer=True)


def test_prompt_masking_and_cutoff():
    tok = build_byte_tokenizer()
    rec = {"instruction": "Add 2 and 3.", "input": "", "output": "The answer is 5."}
    prompt_len = len(tok(build_prompt(rec["instruction"]))["input_ids"])
    masked = tokenize_example(rec, tok, cutoff_len=1000, train_on_inputs=False)
    full = tokenize_example(rec, tok, cutoff_len=1000, train_on_inputs=True)
    assert masked["input_ids"] == full["input_ids"]
    assert masked["labels"][:prompt_len] == [IGNORE_INDEX] * prompt_len
    assert masked["labels"][prompt_len:] == full["input_ids"][prompt_len:]
    assert full["input_ids"][-1] == tok.eos_token_id
    assert tok.decode(full["input_ids"][prompt_len:-1]) == rec["output"]
    cut = tokenize_example(rec, tok, cutoff_len=prompt_len + 3, train_on_inputs=False)
    assert len(cut["input_ids"]) == prompt_len + 3


def test_validation_split_is_seeded_and_disjoint():
    recs = [{"instruction": str(i), "input": "", "output": "x", "answer": ""} for i in range(50)]
    train, val = split_validation(recs, 10, seed=1)
    assert len(val) == 10 and len(train) == 40
    assert not {r["instruction"] for r in train} & {r["instruction"] for r in val}
    assert split_validation(recs, 10, seed=1) == (train, val)
    assert split_validation(recs, 10, seed=2)[1] != val
    assert len(split_validation(recs, 1000, seed=1)[1]) == 25  # never more than half


def test_duplicates_and_empty_outputs_are_dropped_not_refused(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [
        {"instruction": "a", "output": "x"},
        {"instruction": "a", "output": "x"},
        {"instruction": "b", "output": ""},
        {"instruction": "c", "output": "z"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert [r["instruction"] for r in load_records(path)] == ["a", "c"]
    problems = validate_records(rows)
    assert {(p.row, p.severity) for p in problems} == {(2, "warning"), (3, "warning")}


def test_token_statistics():
    tok = build_byte_tokenizer()
    stats = token_statistics(RECORDS, tok)
    assert stats["count"] == 2 and stats["min"] <= stats["p50"] <= stats["max"]
    assert sum(stats["histogram"]["counts"]) == 2


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
def test_paper_training_set_loads():
    recs = load_records(SHARED / "train" / "math_data.json")
    # The paper's file has a few empty outputs and duplicates: dropped, not refused.
    assert 3200 < len(recs) < 3260 and all(r["output"] for r in recs)


# --- reading and validating uploads: the rules as tables ------------------------------------
def _read(name: str, content: bytes | str, **kw):
    """(records kept, errors, reader) of a file read with DatasetReader."""
    data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    reader = DatasetReader(io.BytesIO(data), name, **kw)
    kept = list(reader)
    return kept, reader.errors, reader


GOOD = '{"instruction": "q", "output": "a"}'
DEEP = "[" * 100_000 + "]" * 100_000

# (case, file name, content, row of the first error, text in it)
MALFORMED = [
    ("null record in an array", "d.json", "[null]", 1, "must be an object, got null"),
    ("null line", "d.jsonl", f"{GOOD}\nnull\n", 2, "must be an object, got null"),
    ("deep nesting (JSON)", "d.json", f"[{DEEP}]", 1, "nested too deeply"),
    ("deep nesting (JSON Lines)", "d.jsonl", f'{{"input": {DEEP}}}', 1, "nested too deeply"),
    (
        "5,000-digit integer",
        "d.jsonl",
        '{"instruction": "q", "output": "a", "answer": ' + "9" * 5000 + "}",
        1,
        "5,000 digits",
    ),
    ("Infinity", "d.jsonl", '{"instruction": "q", "output": "a", "answer": Infinity}', 1, "finite"),
    ("NaN", "d.json", '[{"instruction": "q", "output": "a", "answer": NaN}]', 1, "finite"),
    ("1e999", "d.jsonl", '{"instruction": "q", "output": "a", "answer": -1e999}', 1, "finite"),
    ("lone surrogate", "d.jsonl", '{"instruction": "\\ud800", "output": "a"}', 1, "surrogate"),
    ("NUL (JSON escape)", "d.jsonl", '{"instruction": "a\\u0000b", "output": "a"}', 1, "NUL"),
    ("NUL (CSV)", "d.csv", "instruction,output\nq\x00,a\n", 1, "NUL"),
    (
        "long field (JSON)",
        "d.jsonl",
        json.dumps({"instruction": "x" * 131_073, "output": "a"}),
        1,
        "131,072",
    ),
    ("long field (CSV)", "d.csv", "instruction,output\n" + "x" * 131_073 + ",a\n", 1, "131,072"),
    ("more columns than the header", "d.csv", "instruction,output\nq,a,extra\n", 1, "3 columns"),
    ("bare \\r in a field", "d.csv", "instruction,output\nq\rr,a\n", 1, "carriage return"),
    ("duplicate CSV column", "d.csv", "instruction,output,output\nq,a,b\n", None, "repeats"),
    ("unknown CSV column", "d.csv", "instruction,output,label\nq,a,b\n", None, "unknown field"),
    ("not UTF-8 (line)", "d.csv", b"instruction,output\nq\xff,a\n", 1, "not UTF-8"),
    ("not UTF-8 (array)", "d.json", b'[{"instruction": "q\xff", "output": "a"}]', 1, "not UTF-8"),
    ("extra data after the array", "d.json", f"[{GOOD}] x", None, "extra data"),
    ("array not closed", "d.json", f"[{GOOD}", 1, "not closed"),
    ("trailing comma", "d.json", f"[{GOOD},]", 2, "not valid JSON"),
    ("bad JSON line", "d.jsonl", f"{GOOD}\n{{oops}}\n", 2, "line 2 is not valid JSON"),
    (
        "record over the bound",
        "d.jsonl",
        json.dumps({"instruction": "x" * 5000, "output": "a"}),
        1,
        "limit",
    ),
    ("array record over the bound", "d.json", f'[{{"instruction": "{"x" * 5000}"}}]', 1, "limit"),
    (
        "CSV record over the bound",
        "d.csv",
        'instruction,output\n"' + "x\n" * 3000 + '",a\n',
        1,
        "limit",
    ),
]


@pytest.mark.parametrize("case,name,content,row,needle", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_files_name_the_problem_and_the_row(case, name, content, row, needle):
    kept, errors, _ = _read(name, content, max_record_bytes=4096 if "bound" in case else 1 << 22)
    assert errors, f"{case}: accepted"
    assert errors[0].row == row and needle in str(errors[0]), str(errors[0])
    assert kept == [] or all(isinstance(r, dict) for r in kept)


# (case, file name, content, format, or None with the text of the DataError)
TYPES = [
    ("array", "d.json", f"[{GOOD}]", "json"),
    ("JSON Lines named .json", "d.JSON", f"{GOOD}\n{GOOD}\n", "jsonl"),
    ("one object in a .json", "d.json", GOOD, "json"),  # then refused: not an array
    ("pretty-printed object in a .json", "d.json", '{\n "instruction": "q"\n}\n{}', "json"),
    ("ndjson", "d.ndjson", GOOD, "jsonl"),
    ("CSV", "d.csv", "instruction,output\nq,a\n", "csv"),
    ("BOM and blank lines first", "d.csv", "\ufeff\n\ninstruction,output\nq,a\n", "csv"),
    (".txt", "d.txt", "instruction,output\nq,a\n", "unknown file type"),
    ("no extension", "data", GOOD, "no extension"),
    (".csv holding JSON", "d.csv", f"[{GOOD}]", "holds JSON"),
    (".csv holding JSON Lines", "d.csv", GOOD, "holds JSON"),
    (".jsonl holding an array", "d.jsonl", f"[{GOOD}]", "holds a JSON array"),
    ("empty", "d.jsonl", " \n\t\n", "empty"),
]


@pytest.mark.parametrize("case,name,content,expected", TYPES, ids=[c[0] for c in TYPES])
def test_file_type_comes_from_extension_and_content(case, name, content, expected):
    stream = io.BytesIO(content.encode())
    if expected in FORMATS:
        assert detect_format(name, stream) == expected
        assert stream.tell() == 0  # the reader starts from the beginning again
    else:
        with pytest.raises(DataError, match=expected):
            detect_format(name, stream)


# (case, file name, content, instructions kept)
ACCEPTED = [
    (
        "quoted \\r and \\n in a CSV field",
        "d.csv",
        'instruction,output\n"a\rb\nc",x\n',
        ["a\rb\nc"],
    ),
    ("CRLF line ends", "d.csv", "instruction,output\r\nq,a\r\nr,b\r\n", ["q", "r"]),
    ("short CSV row", "d.csv", "instruction,input,output,answer\nq,,a\n", ["q"]),
    (
        "U+2028 inside a JSON Lines string",
        "d.jsonl",
        '{"instruction": "a\u2028b", "output": "x"}',
        ["a\u2028b"],
    ),
    (
        "surrogate pair",
        "d.jsonl",
        '{"instruction": "\\ud83d\\ude00", "output": "x"}',
        ["\U0001f600"],
    ),
    ("BOM", "d.jsonl", "\ufeff" + GOOD, ["q"]),
    ("BOM before a CSV header", "d.csv", "\ufeffinstruction,output\nq,a\n", ["q"]),
    ("BOM before an array", "d.json", f"\ufeff [{GOOD}]", ["q"]),
    ("JSON Lines in a .json", "d.json", f"{GOOD}\n\n{GOOD.replace('q', 'r')}\n", ["q", "r"]),
    ("empty array", "d.json", "[ ]", []),
    ("number answers", "d.json", '[{"instruction": "q", "output": "a", "answer": 1.5}]', ["q"]),
]


@pytest.mark.parametrize("case,name,content,kept", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_well_formed_edge_cases_are_read(case, name, content, kept):
    records, errors, _ = _read(name, content)
    assert [r["instruction"] for r in records] == kept
    assert errors == ([] if kept else [Problem(None, None, "the dataset has no records")])


def test_json_array_is_read_across_chunk_boundaries():
    # Records of varied sizes put numbers, strings and separators on every chunk boundary.
    rows = [
        {"instruction": "i" * (i * 997 % 70_000), "output": str(i), "answer": i * 10**7 + 0.5}
        for i in range(1, 120)
    ]
    text = json.dumps(rows, indent=1)
    records, errors, reader = _read("d.json", text)
    assert not errors and reader.rows == len(rows)
    assert records == [normalise(r) for r in rows]


def test_errors_are_capped_and_reading_stops():
    text = "\n".join('{"instruction": 1, "output": "a"}' for _ in range(1000))
    _, errors, reader = _read("d.jsonl", text)
    assert len(errors) == MAX_PROBLEMS and reader.capped and reader.rows == MAX_PROBLEMS


def test_row_limit_stops_reading():
    text = "\n".join(f'{{"instruction": "{i}", "output": "a"}}' for i in range(50))
    _, _, reader = _read("d.jsonl", text, max_rows=10)
    assert reader.over_row_limit and reader.rows == 11


def test_validation_is_linear_in_rows():
    # The old validator re-counted its problems for every row: 40,000 duplicates took 30 s.
    rows = [{"instruction": "a", "output": "x"}] * 60_000
    start = time.perf_counter()
    problems = validate_records(rows)
    assert time.perf_counter() - start < 5
    assert len(problems) == 59_999 and problems[-1].message == "duplicate of row 1"


@pytest.mark.parametrize(
    "record, field, needle",
    [
        ({"instruction": "q", "output": "a", "answer": float("inf")}, "answer", "finite"),
        ({"instruction": "q", "output": "a", "answer": True}, "answer", "got bool"),
        ({"instruction": "q", "output": "a", 3: "x"}, "3", "unknown field"),
        ({"instruction": "q", "output": "a", "k\x00": "x"}, "k\\u0000", "unknown field"),
        ({"instruction": None, "output": "a"}, "instruction", "missing"),
        ({"instruction": "q", "output": ["a"]}, "output", "got list"),
    ],
)
def test_record_rules(record, field, needle):
    (problem,) = RecordChecker().check(1, record)
    assert (problem.row, problem.field, problem.severity) == (1, field, "error")
    assert needle in problem.message


PLAIN = {"instruction": "q", "input": "", "output": "a", "answer": "1"}


@pytest.mark.parametrize(
    "record, plain",
    [
        (PLAIN, True),
        ({"instruction": "q", "output": "a"}, True),
        ({**PLAIN, "input": None}, True),
        ({**PLAIN, "answer": None}, True),
        ({**PLAIN, "answer": 3}, False),
        ({**PLAIN, "output": " "}, False),
        ({**PLAIN, "instruction": "\t"}, False),
        ({**PLAIN, "input": "x\x00"}, False),
        ({**PLAIN, "answer": "\x00"}, False),
        ({**PLAIN, "output": "\udc80"}, False),
        ({**PLAIN, "instruction": "x" * 131_073}, False),
        ({**PLAIN, "extra": "x"}, False),
        ({**PLAIN, "input": 5}, False),
    ],
)
def test_the_fast_path_agrees_with_the_full_rules(record, plain):
    # Plain records take a shortcut; whatever it accepts, the full rules accept alike.
    for require_answer in (False, True):
        fast = RecordChecker(require_answer=require_answer)._check_plain(1, record)
        full = RecordChecker(require_answer=require_answer)._check_all(1, record)
        assert fast is None or fast == full == []
    assert (RecordChecker()._check_plain(1, record) is not None) == plain
