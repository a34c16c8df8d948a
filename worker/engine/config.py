"""The job config of DESIGN.md: one typed definition (pydantic models), parsed strictly.

These models are the contract: the CLI and the worker parse configs with them, and the API
derives its request and response schemas from them, so the OpenAPI document (and the
dashboard's generated client) carries every field's type, default, bounds and help.

Unknown keys and wrong types are refused (no "3" -> 3, no true for an integer; an integer is
accepted where a number is), so a typo never silently falls back to a default. Every refusal
names the dotted key. Method-specific checks (which placements a method accepts, its params)
live with the adapter registry; this module checks shapes and ranges only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from .errors import ConfigError

Precision = Literal["auto", "fp32", "fp16", "bf16"]
Quantization = Literal["none", "8bit", "4bit"]
DecodingStrategy = Literal["greedy", "beam"]
DecodingPreset = Literal["custom", "paper", "fast"]
ScoringRule = Literal["paper", "strict"]
PromptTemplate = Literal["alpaca", "llm-adapters", "chat"]
# transformers.SchedulerType's values (tests/engine/test_config.py checks they still match).
LrScheduler = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
    "greedy",
]

# Caps on what the fractional defaults give a large data set (the paper's counts: 120
# validation rows, 100 warm-up steps), so a fraction fits 64 rows and 100,000 alike.
VAL_SET_CAP = 120
WARMUP_CAP = 100

# The error types this module gives pydantic's errors (the API shows them as they are).
UNKNOWN_KEY = "unknown_key"
INVALID_VALUE = "invalid_value"


class ConfigSection(BaseModel):
    """One object of the job config: strict, closed, and refusing with messages that say why."""

    # Responses always carry every field, so their schema marks them required (the generated
    # client then types a returned config as complete).
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        allow_inf_nan=False,  # Python's json reads NaN and Infinity; no setting wants them
        json_schema_serialization_defaults_required=True,
    )

    # Messages for keys a neighbouring format has but this one refuses (e.g. the API's).
    unknown_key_hints: ClassVar[dict[str, str]] = {}

    @model_validator(mode="wrap")
    @classmethod
    def _readable_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        nul: list[Any] = [
            {"type": PydanticCustomError(INVALID_VALUE, NUL_MESSAGE), "loc": loc, "input": value}
            for loc, value in _nul_strings(data, ())
        ]
        if nul:  # the outermost section reports them all, each at its dotted key
            raise ValidationError.from_exception_data(cls.__name__, nul)
        try:
            return handler(data)
        except ValidationError as e:
            errors = _readable(cls, e)
        raise ValidationError.from_exception_data(cls.__name__, errors) from None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The no-NUL rule in the schema too, so the API's document shows it for every key.
        out = handler(schema)
        for prop in handler.resolve_ref_schema(out).get("properties", {}).values():
            _no_nul_pattern(prop)
        return out

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


NUL_MESSAGE = "must not contain NUL characters (U+0000)"
NO_NUL_PATTERN = r"^[^\x00]*$"


def _nul_strings(value: Any, loc: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    """(location, value) of every string holding NUL, keys included, at any depth: no file,
    database or tokenizer downstream takes NUL, so a config never carries one."""
    if isinstance(value, str):
        return [(loc, value)] if "\x00" in value else []
    found: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                found.append(((*loc, key), key))
            found += _nul_strings(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += _nul_strings(item, (*loc, i))
    return found


def _no_nul_pattern(schema: dict[str, Any]) -> None:
    if schema.get("type") == "string" and not {"enum", "const", "pattern"} & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN
    nested = [schema.get(key) for key in ("items", "additionalProperties")]
    for sub in [*schema.get("anyOf", []), *(n for n in nested if isinstance(n, dict))]:
        _no_nul_pattern(sub)


def _got(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, bool) or value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
_BOUND_WORDS = {
    "greater_than": ("gt", "must be greater than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "too_short": ("min_length", "must have at least {} items"),
    "too_long": ("max_length", "must have at most {} items"),
    "string_too_short": ("min_length", "must have at least {} characters"),
    "string_too_long": ("max_length", "must have at most {} characters"),
}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _message(error: Mapping[str, Any], cls: type[ConfigSection], field: str) -> tuple[str, str]:
    """(error type, message without the key) for one pydantic error at `field` of `cls`."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    info = cls.model_fields.get(field)
    if kind == "missing":
        return INVALID_VALUE, f"is required ({info.description if info else ''})"
    if kind in _TYPE_WORDS:
        return INVALID_VALUE, f"must be {_TYPE_WORDS[kind]}, got {_got(value)}"
    if kind == "literal_error":
        return INVALID_VALUE, f"must be one of {ctx['expected']}, got {_got(value)}"
    if kind in _BOUND_WORDS:
        key, words = _BOUND_WORDS[kind]
        if kind == "string_too_short" and ctx[key] == 1:
            return INVALID_VALUE, "must not be empty"
        return INVALID_VALUE, f"{words.format(_number(ctx[key]))}, got {_got(value)}"
    if kind == "value_error":
        return INVALID_VALUE, str(ctx.get("error", error["msg"]))
    return INVALID_VALUE, f"{error['msg'][:1].lower()}{error['msg'][1:]}, got {_got(value)}"


def _readable(cls: type[ConfigSection], error: ValidationError) -> list[Any]:
    """pydantic's errors in this module's words, one per key. Errors of nested sections come
    translated already (their own validator ran first) and pass through."""
    out: list[Any] = []
    seen: set[tuple[Any, ...]] = set()
    known = ", ".join(cls.model_fields)
    for e in error.errors():
        loc = tuple(e["loc"])
        if e["type"] in (UNKNOWN_KEY, INVALID_VALUE):
            out.append(
                {"type": PydanticCustomError(e["type"], e["msg"]), "loc": loc, "input": e["input"]}
            )
            continue
        field = str(loc[0]) if loc else ""
        if e["type"] == "extra_forbidden":
            hint = cls.unknown_key_hints.get(field)
            text = hint or f"unknown key; known keys: {known}"
            out.append(
                {"type": PydanticCustomError(UNKNOWN_KEY, text), "loc": loc, "input": e["input"]}
            )
            continue
        # A union reports one error per member, tagged with the member's name ('str',
        # 'list[int]'); one message for the key reads better: what it takes, and what came.
        union = any(isinstance(part, str) for part in loc[1:])
        if union:
            loc = (loc[0],)
            if loc in seen:
                continue
            info = cls.model_fields[field]
            value = _input_at(error, loc)
            text = f"must be {info.description}, got {_got(value)}"
            kind = INVALID_VALUE
        else:
            kind, text = _message(e, cls, field)
            value = e.get("input")
        seen.add(loc)
        out.append({"type": PydanticCustomError(kind, text), "loc": loc, "input": value})
    return out


def _input_at(error: ValidationError, loc: tuple[Any, ...]) -> Any:
    # The value of a union key is the input of any of its members' errors at that depth.
    for e in error.errors():
        if tuple(e["loc"][: len(loc)]) == loc and len(e["loc"]) == len(loc) + 1:
            return e["input"]
    return None


def config_error(error: ValidationError, root: str) -> ConfigError:
    """One ConfigError for a failed parse, each problem naming its dotted key under `root`."""
    lines = []
    for e in error.errors():
        loc = [root]
        for part in e["loc"]:
            loc[-1:] = [f"{loc[-1]}[{part}]"] if isinstance(part, int) else [loc[-1], str(part)]
        where = ".".join(loc)
        if e["type"] == UNKNOWN_KEY:
            parent, key = where.rsplit(".", 1)
            text = e["msg"]
            if text.startswith("unknown key; "):
                text = f"unknown key {key!r} in {parent}; {text.removeprefix('unknown key; ')}"
            lines.append(text)
        else:
            lines.append(f"{where} {e['msg']}")
    return ConfigError("; ".join(lines[:5]) + ("; ..." if len(lines) > 5 else ""))


def parse(cls: type[ConfigSection], data: Any, root: str) -> Any:
    """Validates `data` (plain JSON values) as `cls`; ConfigError names every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{root} must be an object, got {_got(data)}")
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise config_error(e, root) from None


class PlacementConfig(ConfigSection):
    modules: list[str] | None = Field(
        default=None,
        description="placement words (q k v o gate up down attn mlp) or raw module names; "
        "null = the method's default",
    )
    layers: str | list[int] = Field(
        default="all",
        description="'all', a list of layer indices, or a range like '0-11'",
    )
    position: str | dict[str, str] | None = Field(
        default=None,
        description="bottleneck adapters: 'after', 'before', 'beside', or with a block "
        "('after_attn', 'after_mlp', 'beside_mlp', ...); or one per module, "
        "{module word: position} (e.g. the paper's AdapterH: {'gate': 'before', 'up': "
        "'before', 'down': 'after'}); null = the method's default",
    )


class AdapterConfig(ConfigSection):
    method: str = Field(
        min_length=1,
        max_length=64,
        description="adapter method: lora, dora, series, adapterh, adapterp, parallel, "
        "scaled_parallel, prefix, ptuning, prompt, ia3 or any other peft method by name",
    )
    placement: PlacementConfig = Field(
        default_factory=PlacementConfig, description="where the adapter goes"
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="method parameters (r, alpha, bottleneck_size, ...); the method catalogue "
        "lists each method's with its schema; unset ones take the method's defaults",
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterConfig:
        return parse(cls, data, "adapter")


class TrainingConfig(ConfigSection):
    epochs: float = Field(default=3.0, gt=0, description="passes over the training set")
    max_steps: int | None = Field(
        default=None, ge=1, description="stop after this many optimiser steps (overrides epochs)"
    )
    learning_rate: float | None = Field(
        default=None, gt=0, description="peak learning rate; null = the method's default"
    )
    batch_size: int = Field(default=16, ge=1, description="examples per optimiser step")
    micro_batch_size: int = Field(
        default=4, ge=1, description="examples per forward pass (gradient accumulation)"
    )
    cutoff_len: int = Field(default=256, ge=8, description="truncate examples to this many tokens")
    val_set_size: float = Field(
        default=0.1,
        ge=0,
        description=f"rows held out for the validation loss: a fraction of the data below 1 "
        f"(at most {VAL_SET_CAP} rows), or a count; at most half of the data",
    )
    train_on_inputs: bool = Field(default=True, description="include the prompt tokens in the loss")
    warmup_ratio: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description=f"linear warm-up as a fraction of the optimiser steps (at most {WARMUP_CAP} "
        "steps); warmup_steps, when set, wins",
    )
    warmup_steps: int | None = Field(
        default=None, ge=0, description="linear warm-up steps; null = from warmup_ratio"
    )
    lr_scheduler: LrScheduler = Field(
        default="linear", description="learning-rate schedule (a transformers scheduler name)"
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay")
    seed: int = Field(
        default=42, ge=0, le=2**32 - 1, description="seed for data order and initialisation"
    )
    precision: Precision = Field(
        default="auto",
        description="weights and compute: auto (bf16 where the hardware has it, else fp32), "
        "fp32, fp16 (GPU only) or bf16",
    )
    quantization: Quantization = Field(
        default="none", description="load the base model quantized (CUDA only, bitsandbytes)"
    )
    processes: int = Field(
        default=1,
        ge=1,
        le=16,
        description="processes that train the job together, data parallel, each on a GPU of "
        "its own (torchrun; NCCL on GPUs, gloo on a CPU); batch_size stays the examples per "
        "optimiser step, so it must be a multiple of micro_batch_size x processes",
    )
    auto_micro_batch: bool = Field(
        default=True,
        description="on a GPU, raise micro_batch_size to the largest divisor of batch_size "
        "whose step fits in 80 % of the GPU's memory (measured on the longest examples); the "
        "examples per optimiser step stay batch_size. Not with packing or several processes; a "
        "CPU keeps micro_batch_size",
    )
    gradient_checkpointing: bool = Field(default=False, description="trade compute for memory")
    packing: bool = Field(default=False, description="pack examples without padding (padding-free)")
    prompt_template: PromptTemplate = Field(
        default="alpaca",
        description="how records become prompts: alpaca (the clean text), llm-adapters (the "
        "paper's training and evaluation prompts, byte for byte) or chat (the tokenizer's)",
    )
    logging_steps: int = Field(default=1, ge=1, description="report loss every N steps")
    save_steps: int | None = Field(
        default=None, ge=1, description="checkpoint every N steps (resume from the last)"
    )
    resume: bool = Field(
        default=False, description="resume from the last checkpoint in the output folder"
    )

    @field_validator("val_set_size")
    @classmethod
    def _whole_count(cls, value: float) -> float:
        if value >= 1 and not float(value).is_integer():
            raise ValueError(f"must be a fraction below 1 or a whole count, got {value}")
        return value


class DecodingConfig(ConfigSection):
    preset: DecodingPreset = Field(
        default="custom",
        description="custom (the fields below), paper (4 beams; 256 new tokens for arithmetic, "
        "32 for commonsense, as the LLM-Adapters evaluation) or fast (batched greedy)",
    )
    strategy: DecodingStrategy = Field(default="greedy", description="greedy or beam search")
    num_beams: int = Field(default=4, ge=1, description="beams for beam search")
    max_new_tokens: int = Field(default=256, ge=1, description="tokens to generate per answer")


class HarnessConfig(ConfigSection):
    """lm-evaluation-harness tasks run on the trained model (worker/engine/evaluation/harness.py)."""

    tasks: list[str] = Field(
        min_length=1, description="lm-evaluation-harness task (or group) names to run"
    )
    include_path: str | None = Field(
        default=None,
        description="folder of task YAML files of your own (relative data_files are read from "
        "it); nothing is fetched from a hub, so a task's data must be local",
    )
    limit: int | None = Field(default=None, ge=1, description="examples per task; null = all")
    num_fewshot: int | None = Field(
        default=None, ge=0, description="few-shot examples per prompt; null = the task's own"
    )
    metric: str | None = Field(
        default=None,
        min_length=1,
        max_length=48,
        description="the metric stored as each task's score (e.g. acc, exact_match); null = "
        "the task's first",
    )
    batch_size: int = Field(default=8, ge=1, description="requests per forward pass")

    @field_validator("tasks")
    @classmethod
    def _task_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip() or "," in name:
                raise ValueError(f"each task is one non-empty name without commas, got {name!r}")
        if len(set(value)) != len(value):
            raise ValueError("a task is listed twice")
        return value


class EvaluationConfig(ConfigSection):
    benchmarks: list[str] = Field(
        default_factory=list, description="benchmark names to evaluate on (gsm8k, boolq, ...)"
    )
    every_n_steps: int | None = Field(
        default=None, ge=1, description="evaluate during training every N steps; null = at the end"
    )
    max_examples: int | None = Field(
        default=None, ge=1, description="cap examples per benchmark; null = all"
    )
    batch_size: int = Field(default=16, ge=1, description="prompts per generation batch")
    scoring: ScoringRule = Field(
        default="paper", description="which scoring rule scores the paper's benchmarks"
    )
    data_dir: str | None = Field(
        default=None, description="folder in the LLM-Adapters layout holding the benchmark sets"
    )
    decoding: DecodingConfig = Field(
        default_factory=DecodingConfig, description="decoding settings"
    )
    harness: HarnessConfig | None = Field(
        default=None,
        description="lm-evaluation-harness tasks to run after training; null = none",
    )


class MlflowTrackingConfig(ConfigSection):
    enabled: bool = Field(
        default=True,
        description="log to MLflow when a tracking server is known (tracking_uri, or the "
        "studio's STUDIO_MLFLOW_TRACKING_URI); false = not this job",
    )
    tracking_uri: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="an http(s):// MLflow tracking server for this job; null = the studio's "
        "setting (STUDIO_MLFLOW_TRACKING_URI)",
    )
    experiment: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="MLflow experiment; null = the study's name for a study cell, else the "
        "studio's STUDIO_MLFLOW_EXPERIMENT (default 'adapter-studio')",
    )
    log_adapter: bool = Field(
        default=True, description="upload the trained adapter folder as the run's artifact"
    )

    @field_validator("tracking_uri")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        # A job's config comes from any team member: it may name a server, never a path or
        # database on the worker's machine (the studio's own setting may be any MLflow URI).
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                f"must be an http:// or https:// address of an MLflow tracking server, got "
                f"{_got(value)} (file and database stores can only be the studio's setting)"
            )
        return value


class WandbTrackingConfig(ConfigSection):
    enabled: bool = Field(
        default=True,
        description="log to Weights & Biases when the studio has a key (WANDB_API_KEY) or "
        "mode is offline; false = not this job",
    )
    mode: Literal["online", "offline"] | None = Field(
        default=None,
        description="online (needs the key) or offline (run files written into the job's "
        "artifacts, for `wandb sync` later); null = the studio's STUDIO_WANDB_MODE",
    )
    project: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="W&B project; null = the studio's STUDIO_WANDB_PROJECT "
        "(default 'adapter-studio')",
    )
    entity: str | None = Field(
        default=None, min_length=1, max_length=128, description="W&B team or user; null = the key's"
    )


class TrackingConfig(ConfigSection):
    mlflow: MlflowTrackingConfig = Field(
        default_factory=MlflowTrackingConfig, description="MLflow settings of this job"
    )
    wandb: WandbTrackingConfig = Field(
        default_factory=WandbTrackingConfig, description="Weights & Biases settings of this job"
    )
    group: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="runs logged together (a study sets its name: one MLflow experiment and "
        "one W&B group per study)",
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="extra tags for the tracked run (key -> value)"
    )


class JobSettings(ConfigSection):
    """Everything in a job config but where the training data comes from (the CLI names a
    file, the API a stored dataset: each derives its own from this)."""

    name: str = Field(default="run", min_length=1, max_length=255, description="a name for the run")
    base_model: str = Field(
        min_length=1,
        max_length=512,
        description="hf:<hub id>, path:<folder>, gguf:<file> or demo:smollm2-135m",
    )
    adapter: AdapterConfig = Field(description="the adapter method, its placement and params")
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="training settings"
    )
    evaluation: EvaluationConfig = Field(
        default_factory=EvaluationConfig, description="evaluation settings"
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig,
        description="experiment tracking (TensorBoard files are always written; MLflow and "
        "W&B when configured)",
    )


class JobConfig(JobSettings):
    dataset_path: str | None = Field(
        default=None, description="training data file (CLI); the API uses dataset_id"
    )
    dataset_id: int | None = Field(default=None, ge=1, description="stored dataset id (API)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobConfig:
        return parse(cls, data, "config")

    @classmethod
    def from_file(cls, path: str | Path) -> JobConfig:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p} is not valid JSON: {e.msg} at line {e.lineno}") from None
        return cls.from_dict(data)
