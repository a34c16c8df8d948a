"""Studies: a named grid over parts of one job config (DESIGN.md "Studies").

A study is `{"name", "base": <job config>, "axes": [...]}`. An axis is a dotted path with values
(`{"path": "training.seed", "values": [1, 2, 3]}`) or a list of variants, each a label with a
partial job config laid over the base (`{"variants": [{"label": "series after MLP", "set":
{...}}]}`) for values that go together. The cells are the product of the axes, in order (the
last axis varies fastest). This module expands and validates studies and aggregates their
results into the paper's table shape; it runs nothing (the CLI and the service do).
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from .config import NO_NUL_PATTERN, ConfigSection, JobConfig, parse
from .errors import ConfigError

SEED_PATH = "training.seed"
MAX_CELLS = 256  # a bigger grid is more likely a typo than a plan; split it into studies


_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class PathAxis(ConfigSection):
    """One key of the job config swept over values."""

    path: str = Field(
        min_length=1,
        max_length=200,
        # The API's rule for every text input (no NUL); the dotted shape is checked below.
        pattern=NO_NUL_PATTERN,
        description="a dotted path into the job config, e.g. training.seed or "
        "adapter.params.bottleneck_size",
    )
    values: list[Any] = Field(
        min_length=1, max_length=64, description="the values the key takes, one per cell"
    )

    @field_validator("path")
    @classmethod
    def _dotted(cls, path: str) -> str:
        if not _DOTTED_PATH.fullmatch(path):
            raise ValueError(
                f"{path!r} is not a dotted path into the job config (e.g. training.seed)"
            )
        return path

    name: str | None = Field(
        default=None, max_length=64, description="the axis's column name; default: the path"
    )


class Variant(ConfigSection):
    label: str = Field(min_length=1, max_length=120, description="the cell's label on this axis")
    set: dict[str, Any] = Field(
        description="a partial job config laid over the base (nested objects merge)"
    )


class VariantsAxis(ConfigSection):
    """Values that go together (a method with its placement), each with a label."""

    variants: list[Variant] = Field(min_length=1, max_length=64, description="the variants")
    name: str | None = Field(
        default=None, max_length=64, description="the axis's column name; default: 'variant'"
    )


def _axis_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "variants" if "variants" in value else "path"
    return "variants" if isinstance(value, VariantsAxis) else "path"


# Told apart by their keys, so a bad axis gets the errors of its own kind only.
Axis = Annotated[
    Annotated[PathAxis, Tag("path")] | Annotated[VariantsAxis, Tag("variants")],
    Discriminator(_axis_kind),
]


class StudyConfig(ConfigSection):
    name: str = Field(min_length=1, max_length=200, description="a name for the study")
    base: dict[str, Any] = Field(
        description="the job config every cell starts from (the job config of DESIGN.md; "
        "the axes fill in or replace parts of it)"
    )
    axes: list[Axis] = Field(
        min_length=1, max_length=8, description="the axes; the cells are their product"
    )
    description: str | None = Field(
        default=None, max_length=2000, description="what the study asks (shown beside it)"
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        # Each axis first on its own, so an error names study.axes[i] and the key plainly.
        axes = data.get("axes") if isinstance(data, dict) else None
        if isinstance(axes, list):
            for i, axis in enumerate(axes):
                kind = VariantsAxis if _axis_kind(axis) == "variants" else PathAxis
                parse(kind, axis, f"study.axes[{i}]")
        study: StudyConfig = parse(cls, data, "study")
        study.check_axes()
        return study

    @classmethod
    def from_file(cls, path: str | Path) -> StudyConfig:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"study file not found: {p}")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p} is not valid JSON: {e.msg} at line {e.lineno}") from None
        return cls.from_dict(data)

    def axis_names(self) -> list[str]:
        return [axis_name(a) for a in self.axes]

    def check_axes(self) -> None:
        names = self.axis_names()
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"study.axes: two axes are named {dup[0]!r}; give one a name")
        for i, axis in enumerate(self.axes):
            labels = (
                [_value_label(v) for v in axis.values]
                if isinstance(axis, PathAxis)
                else [v.label for v in axis.variants]
            )
            seen = sorted({x for x in labels if labels.count(x) > 1})
            if seen:
                raise ConfigError(f"study.axes[{i}] has the value {seen[0]!r} twice")
        count = math.prod(axis_size(a) for a in self.axes)
        if count > MAX_CELLS:
            raise ConfigError(
                f"study has {count} cells, more than {MAX_CELLS}; split it into several studies"
            )

    def seed_axis(self) -> str | None:
        """The axis repeated runs differ by (mean and std are taken over it), if any."""
        for axis in self.axes:
            if isinstance(axis, PathAxis) and axis.path == SEED_PATH:
                return axis_name(axis)
        return None


def axis_name(axis: Axis) -> str:
    if isinstance(axis, PathAxis):
        return axis.name or axis.path
    return axis.name or "variant"


def axis_size(axis: Axis) -> int:
    return len(axis.values) if isinstance(axis, PathAxis) else len(axis.variants)


def _value_label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class Cell(BaseModel):
    """One job of a study: its place in the grid, its label per axis and its whole config."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(description="0-based position in the grid (the last axis varies fastest)")
    labels: dict[str, str] = Field(description="axis name -> this cell's label on it")
    values: dict[str, Any] = Field(
        description="axis name -> the swept value (a path axis's value; a variant's label)"
    )
    title: str = Field(description="the labels in one line (path axes as key=value)")
    config: dict[str, Any] = Field(description="the base with the axes' values laid over it")


def lay_over(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` merged into `config`; a new adapter method starts from its own defaults
    (the base method's placement and params rarely make sense for it), as a cloned job does."""
    new_method = (overrides.get("adapter") or {}).get("method")
    old = config.get("adapter") or {}
    if new_method is not None and new_method != old.get("method"):
        config = {**config, "adapter": {"method": new_method}}
    return merge(config, overrides)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Nested objects merge; everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _nested(path: str, value: Any) -> dict[str, Any]:
    """'training.seed', 1 -> {'training': {'seed': 1}}"""
    nested: Any = value
    for key in reversed(path.split(".")):
        nested = {key: nested}
    return dict(nested)


def expand(study: StudyConfig) -> list[Cell]:
    """The cells, in grid order: each axis's choice applied in axis order over the base."""
    # Each choice: (label, swept value, the partial config it lays over the cell's).
    choices: list[list[tuple[str, Any, dict[str, Any]]]] = []
    for axis in study.axes:
        if isinstance(axis, PathAxis):
            choices.append([(_value_label(v), v, _nested(axis.path, v)) for v in axis.values])
        else:
            choices.append([(v.label, v.label, v.set) for v in axis.variants])
    names = study.axis_names()
    cells = []
    for index, combo in enumerate(itertools.product(*choices)):
        config = copy.deepcopy(study.base)
        for _, _, overrides in combo:
            config = lay_over(config, overrides)
        labels = {n: label for n, (label, _, _) in zip(names, combo, strict=True)}
        values = {n: value for n, (_, value, _) in zip(names, combo, strict=True)}
        title = ", ".join(
            f"{name.rsplit('.', 1)[-1]}={label}" if isinstance(axis, PathAxis) else label
            for axis, name, label in zip(study.axes, names, labels.values(), strict=True)
        )
        name = f"{study.name} / {title}"
        # The cells of a study are logged together (one MLflow experiment, one W&B group).
        tracking = config.setdefault("tracking", {})
        if isinstance(tracking, dict):  # anything else is refused when the cell is validated
            tracking.setdefault("group", study.name)
        config["name"] = name if len(name) <= 255 else name[:252] + "..."
        cells.append(Cell(index=index, labels=labels, values=values, title=title, config=config))
    return cells


def validate_cells(
    cells: Sequence[Cell], check: Callable[[dict[str, Any]], Any] = JobConfig.from_dict
) -> list[Any]:
    """Runs `check` on every cell's config; one ConfigError naming each bad cell and key.

    `check` is the caller's whole validation of one job config (the CLI's needs a file path,
    the API's a stored dataset); what it returns comes back per cell."""
    out, problems = [], []
    for cell in cells:
        try:
            out.append(check(cell.config))
        except ConfigError as e:
            problems.append(f"cell {cell.index} ({cell.title}): {e}")
    if problems:
        more = f"; and {len(problems) - 3} more cells" if len(problems) > 3 else ""
        raise ConfigError(" | ".join(problems[:3]) + more)
    return out


@functools.cache
def code_version() -> str:
    """A digest of the engine's source: runs with the same config, data and code version are
    the same run (a study reuses them). Any change to the engine's code gives a new one."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run_fingerprint(config: dict[str, Any], data_digest: str) -> str:
    """What decides a run's outcome: the config without its name and data reference, the
    training data's content digest and the engine's code version (where it is logged to is not)."""
    skip = ("name", "dataset_id", "dataset_path", "tracking")
    keep = {k: v for k, v in config.items() if k not in skip}
    text = json.dumps({"config": keep, "data": data_digest, "code": code_version()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- results --------------------------------------------------------------------------------


class CellResult(BaseModel):
    """What one finished (or unfinished) cell contributes to the table."""

    model_config = ConfigDict(extra="forbid")

    index: int
    labels: dict[str, str]
    status: str = Field(description="succeeded, failed, cancelled, queued, running or pending")
    trainable_parameters: int | None = None
    total_parameters: int | None = None
    peak_memory_bytes: int | None = None
    wall_seconds: float | None = None
    accuracy: dict[str, float] = Field(
        default_factory=dict, description="benchmark -> accuracy as a fraction (0-1)"
    )
    examples: dict[str, int] = Field(
        default_factory=dict, description="benchmark -> examples the accuracy rests on"
    )
    scoring: str | None = None


class Stat(BaseModel):
    """A figure over a row's runs: mean, sample standard deviation (0 for one run), count."""

    mean: float
    std: float
    n: int


class ResultRow(BaseModel):
    labels: dict[str, str] = Field(description="axis name -> label (the seed axis left out)")
    cells: list[int] = Field(description="the cells this row aggregates")
    runs: int = Field(description="succeeded cells the figures rest on")
    trainable_parameters: int | None
    trainable_percent: float | None
    peak_memory_bytes: Stat | None
    wall_seconds: Stat | None
    accuracy: dict[str, Stat] = Field(description="benchmark -> accuracy in percent")
    average: Stat | None = Field(description="the mean over benchmarks, in percent")
    examples: dict[str, int] = Field(description="benchmark -> examples each score rests on")


class ResultTable(BaseModel):
    """The paper's table: rows = cells (seeds folded), columns = benchmarks and their average."""

    axes: list[str] = Field(description="the row label columns, in order")
    seed_axis: str | None = Field(description="the axis folded into mean ± std, if any")
    benchmarks: list[str]
    scoring: list[str] = Field(description="the scoring rules the figures were scored with")
    rows: list[ResultRow]
    best: dict[str, list[int]] = Field(
        description="column (a benchmark or 'average') -> indices of the rows with its best mean"
    )


def _stat(values: list[float]) -> Stat | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    std = (
        math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        if len(values) > 1
        else 0.0
    )
    return Stat(mean=mean, std=std, n=len(values))


def aggregate(
    results: Iterable[CellResult], axes: list[str], seed_axis: str | None = None
) -> ResultTable:
    """One row per combination of the non-seed axes (in first-cell order); figures from the
    row's succeeded cells; accuracy in percent, mean ± sample std over the seed axis."""
    results = list(results)
    label_axes = [a for a in axes if a != seed_axis]
    benchmarks: list[str] = []
    for r in results:
        benchmarks += [b for b in r.accuracy if b not in benchmarks]
    groups: dict[tuple[str, ...], list[CellResult]] = {}
    for r in sorted(results, key=lambda r: r.index):
        groups.setdefault(tuple(r.labels[a] for a in label_axes), []).append(r)
    rows = []
    for key, members in groups.items():
        done = [m for m in members if m.status == "succeeded"]
        accuracy = {}
        for b in benchmarks:
            stat = _stat([100 * m.accuracy[b] for m in done if b in m.accuracy])
            if stat:
                accuracy[b] = stat
        averages = [
            100 * sum(m.accuracy[b] for b in benchmarks) / len(benchmarks)
            for m in done
            if benchmarks and all(b in m.accuracy for b in benchmarks)
        ]
        trainable = next((m.trainable_parameters for m in done if m.trainable_parameters), None)
        total = next((m.total_parameters for m in done if m.total_parameters), None)
        examples: dict[str, int] = {}
        for m in done:
            examples.update(m.examples)
        rows.append(
            ResultRow(
                labels=dict(zip(label_axes, key, strict=True)),
                cells=[m.index for m in members],
                runs=len(done),
                trainable_parameters=trainable,
                trainable_percent=100 * trainable / total if trainable and total else None,
                peak_memory_bytes=_stat(
                    [float(m.peak_memory_bytes) for m in done if m.peak_memory_bytes is not None]
                ),
                wall_seconds=_stat([m.wall_seconds for m in done if m.wall_seconds is not None]),
                accuracy=accuracy,
                average=_stat(averages),
                examples=examples,
            )
        )
    best: dict[str, list[int]] = {}
    for column in [*benchmarks, "average"]:
        means = [
            (i, (row.average if column == "average" else row.accuracy.get(column)))
            for i, row in enumerate(rows)
        ]
        scored = [(i, s.mean) for i, s in means if s is not None]
        if scored:
            top = max(m for _, m in scored)
            best[column] = [i for i, m in scored if math.isclose(m, top, abs_tol=1e-9)]
    rules = sorted({r.scoring for r in results if r.scoring})
    return ResultTable(
        axes=label_axes,
        seed_axis=seed_axis,
        benchmarks=benchmarks,
        scoring=rules,
        rows=rows,
        best=best,
    )


def pareto_front(points: Sequence[tuple[float | None, float | None]]) -> list[bool]:
    """For (cost, score) points: True where no other point costs no more and scores more (or
    scores as much for less). Points missing either figure are never on the front."""
    flags = []
    for i, (cost, score) in enumerate(points):
        if cost is None or score is None:
            flags.append(False)
            continue
        dominated = any(
            c is not None
            and s is not None
            and j != i
            and c <= cost
            and s >= score
            and (c < cost or s > score)
            for j, (c, s) in enumerate(points)
        )
        flags.append(not dominated)
    return flags


# --- writers --------------------------------------------------------------------------------


def _pm(stat: Stat | None, digits: int = 1) -> str:
    if stat is None:
        return ""
    if stat.n > 1:
        return f"{stat.mean:.{digits}f} ± {stat.std:.{digits}f}"
    return f"{stat.mean:.{digits}f}"


def _mib(stat: Stat | None) -> str:
    return "" if stat is None else f"{stat.mean / 2**20:.0f}"


def _params(row: ResultRow) -> str:
    if row.trainable_parameters is None:
        return ""
    pct = f" ({row.trainable_percent:.3f} %)" if row.trainable_percent is not None else ""
    return f"{row.trainable_parameters:,}{pct}"


def to_csv(table: ResultTable) -> str:
    """One line per row: every figure in its own column (means and stds apart), for tools."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [*table.axes, "runs", "trainable_parameters", "trainable_percent"]
    header += ["peak_memory_bytes", "wall_seconds"]
    for b in [*table.benchmarks, "average"]:
        header += [f"{b}_mean", f"{b}_std"]
    header += [f"{b}_examples" for b in table.benchmarks]
    writer.writerow(header)

    def num(x: float | int | None) -> str:
        return "" if x is None else (str(x) if isinstance(x, int) else f"{x:.6g}")

    for row in table.rows:
        line = [row.labels[a] for a in table.axes]
        line += [str(row.runs), num(row.trainable_parameters), num(row.trainable_percent)]
        line += [
            num(round(row.peak_memory_bytes.mean) if row.peak_memory_bytes else None),
            num(row.wall_seconds.mean if row.wall_seconds else None),
        ]
        for b in table.benchmarks:
            s = row.accuracy.get(b)
            line += [num(s.mean if s else None), num(s.std if s else None)]
        line += [
            num(row.average.mean if row.average else None),
            num(row.average.std if row.average else None),
        ]
        line += [num(row.examples.get(b)) for b in table.benchmarks]
        writer.writerow(line)
    return out.getvalue()


def _footnote(table: ResultTable) -> str:
    examples = sorted({n for row in table.rows for n in row.examples.values()})
    parts = [f"Accuracy in percent ({', '.join(table.scoring) or 'no'} scoring rule)"]
    if examples:
        parts.append(f"each score rests on {', '.join(map(str, examples))} examples per benchmark")
    if table.seed_axis:
        parts.append(f"mean ± standard deviation over {table.seed_axis}")
    parts.append("best per column in bold")
    return "; ".join(parts) + "."


def _cells(table: ResultTable, i: int, row: ResultRow, bold: Callable[[str], str]) -> list[str]:
    out = [row.labels[a] for a in table.axes]
    out += [_params(row), _mib(row.peak_memory_bytes), _pm(row.wall_seconds, 0)]
    for column in [*table.benchmarks, "average"]:
        stat = row.average if column == "average" else row.accuracy.get(column)
        text = _pm(stat)
        out.append(bold(text) if text and i in table.best.get(column, []) else text)
    return out


def to_markdown(table: ResultTable) -> str:
    header = [*table.axes, "trainable params", "peak memory (MiB)", "wall time (s)"]
    header += [*table.benchmarks, "average"]

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |"]
    lines.append(
        "|" + "|".join(["---"] * len(table.axes) + ["---:"] * (len(header) - len(table.axes))) + "|"
    )
    for i, row in enumerate(table.rows):
        cells = _cells(table, i, row, lambda t: f"**{t}**")
        lines.append("| " + " | ".join(esc(c) for c in cells) + " |")
    return "\n".join(lines) + "\n\n" + _footnote(table) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text).replace("±", r"$\pm$")


def to_latex(table: ResultTable) -> str:
    header = [*table.axes, "Params", "Memory (MiB)", "Time (s)", *table.benchmarks, "Avg"]
    spec = "l" * len(table.axes) + "r" * (len(header) - len(table.axes))
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex(h) for h in header) + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(table.rows):
        marked = _cells(table, i, row, lambda t: "\x01" + t)  # bold once escaped
        cells = [
            rf"\textbf{{{_latex(c[1:])}}}" if c.startswith("\x01") else _latex(c) for c in marked
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{_latex(_footnote(table))}}}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


WRITERS: dict[str, tuple[Callable[[ResultTable], str], str]] = {
    "csv": (to_csv, "text/csv"),
    "md": (to_markdown, "text/markdown"),
    "tex": (to_latex, "application/x-tex"),
}


def write_results(table: ResultTable, folder: str | Path) -> dict[str, Path]:
    """results.csv, results.md and results.tex in `folder`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext, (writer, _) in WRITERS.items():
        paths[ext] = out / f"results.{ext}"
        paths[ext].write_text(writer(table), encoding="utf-8")
    return paths


__all__ = [
    "Axis",
    "Cell",
    "CellResult",
    "PathAxis",
    "ResultRow",
    "ResultTable",
    "Stat",
    "StudyConfig",
    "Variant",
    "VariantsAxis",
    "aggregate",
    "expand",
    "pareto_front",
    "to_csv",
    "to_latex",
    "to_markdown",
    "validate_cells",
    "write_results",
]
