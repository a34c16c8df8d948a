import json
from pathlib import Path

import pytest

from worker.engine.data import (
    IGNORE_INDEX,
    load_records,
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
