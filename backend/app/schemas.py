"""API schemas (pydantic). One naming family per resource: XCreate, XPublic, XsPublic{data,count}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from typing_extensions import TypedDict

from worker.engine.config import NO_NUL_PATTERN, NUL_MESSAGE, AdapterConfig, JobConfig, JobSettings

from .models import JobStatus

# Ids are 32-bit in PostgreSQL: a larger number is a 422 at the door, not a database error later.
MAX_ID = 2**31 - 1


class _NoNul:
    """Refuses NUL (U+0000): PostgreSQL cannot store it in text, so on every database it is a
    422 naming the field at the door, not a 500 later. The pattern puts the rule in the OpenAPI
    document, where clients and fuzzers see it; the message is this one, not the pattern's."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Before the string's own checks, so a pattern or length refusal never hides this one.
        return core_schema.no_info_before_validator_function(_refuse_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out.setdefault("pattern", NO_NUL_PATTERN)  # a field's own pattern excludes NUL itself
        return out


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    return value


# Every text a client sends (body fields, query and form values) is ApiText.
ApiText = Annotated[str, _NoNul()]


class Message(BaseModel):
    message: str


class DependencyHealth(BaseModel):
    """One thing the API needs, as /health found it."""

    ok: bool
    detail: str = Field(description="'ok', or why it cannot be reached")
    latency_ms: float = Field(description="how long the check took")


class Health(BaseModel):
    """`ok` when the database and the broker both answer; `degraded` (HTTP 503) otherwise."""

    status: Literal["ok", "degraded"]
    message: str = Field(description="'ok', or which dependency is down")
    database: DependencyHealth
    broker: DependencyHealth


class ErrorMessage(BaseModel):
    """Every refusal: what is wrong, in one sentence. Malformed requests also list `problems`
    (field and message), the same shape as an upload's."""

    detail: str


class Page(BaseModel):
    count: int


# --- users, teams, tokens ---------------------------------------------------------------------
class TeamMembershipPublic(BaseModel):
    id: int
    name: str
    role: Literal["owner", "member"]


class UserPublic(BaseModel):
    id: int
    email: str
    full_name: str
    is_admin: bool
    teams: list[TeamMembershipPublic]


class UserCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    email: ApiText = Field(min_length=3, max_length=255, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")
    password: ApiText = Field(min_length=8, max_length=256)
    full_name: ApiText = Field(default="", max_length=255)


class LoginRequest(BaseModel):
    model_config = ConfigDict(strict=True)
    email: ApiText = Field(max_length=255)
    password: ApiText = Field(max_length=256)


class LoginResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserPublic


class TokenCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    name: ApiText = Field(min_length=1, max_length=120)


class TokenPublic(BaseModel):
    id: int
    name: str
    kind: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="shown once; only its hash is stored")


class TokensPublic(Page):
    data: list[TokenPublic]


class TeamCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    name: ApiText = Field(min_length=1, max_length=120)


class TeamPublic(BaseModel):
    id: int
    name: str
    role: Literal["owner", "member"]
    created_at: datetime


class TeamsPublic(Page):
    data: list[TeamPublic]


class MemberAdd(BaseModel):
    model_config = ConfigDict(strict=True)
    email: ApiText = Field(max_length=255)
    role: Literal["owner", "member"] = "member"


class MemberPublic(BaseModel):
    user_id: int
    email: str
    full_name: str
    role: Literal["owner", "member"]


class MembersPublic(Page):
    data: list[MemberPublic]


# --- datasets ---------------------------------------------------------------------------------
class HistogramPublic(BaseModel):
    bin_width: int
    counts: list[int]


class TokenStatsPublic(BaseModel):
    count: int
    min: int | None = None
    max: int | None = None
    mean: float | None = None
    p50: int | None = None
    p95: int | None = None
    histogram: HistogramPublic | None = None
    tokenizer: str | None = None


class DatasetPublic(BaseModel):
    id: int
    team_id: int
    name: str
    filename: str
    format: str
    size_bytes: int
    row_count: int
    dropped_rows: int
    token_stats: TokenStatsPublic
    created_at: datetime
    in_use: bool


class DatasetsPublic(Page):
    data: list[DatasetPublic]


class DatasetRecord(BaseModel):
    instruction: str
    input: str
    output: str
    answer: str


class DatasetPreview(Page):
    data: list[DatasetRecord]


class UploadProblem(BaseModel):
    row: int | None
    field: str | None
    message: str


class UploadError(BaseModel):
    detail: str
    problems: list[UploadProblem]


# --- catalogues -------------------------------------------------------------------------------
class BaseModelPublic(BaseModel):
    id: int
    reference: str
    label: str
    family: str
    num_layers: int | None
    parameters: int | None


class BaseModelsPublic(Page):
    data: list[BaseModelPublic]


class BaseModelCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    reference: ApiText = Field(min_length=3, max_length=512)
    label: ApiText | None = Field(default=None, max_length=255)


class SchemaFragment(TypedDict, total=False):
    """A JSON-Schema fragment describing a value (the subset the method catalogue uses); a key
    that does not constrain the value is absent, never null."""

    type: Literal["integer", "number", "boolean", "string", "array", "object", "null"]
    enum: list[Any]
    anyOf: list[SchemaFragment]  # noqa: N815 - JSON Schema's own key
    items: SchemaFragment
    minimum: int | float
    maximum: int | float
    exclusiveMinimum: int | float  # noqa: N815
    exclusiveMaximum: int | float  # noqa: N815


class ParamSchema(SchemaFragment, total=True):
    """A method parameter's schema: a fragment with the parameter's default and help."""

    default: Any  # the value used when the parameter is not given (null: unset)
    description: str


class MethodParamPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    name: str
    schema_: ParamSchema = Field(alias="schema")


class PlacementPublic(BaseModel):
    modules: list[str] | None
    layers: str | list[int]
    position: str | None  # a method's default is one position (presets may map modules)


class MethodPresetPublic(BaseModel):
    name: str
    method: str = Field(description="the catalogue method it is listed under")
    label: str
    description: str
    adapter: AdapterConfig = Field(description="the whole adapter config the preset sets")
    training: dict[str, Any] = Field(description="training settings (TrainingConfig's keys)")
    evaluation: dict[str, Any] = Field(description="evaluation settings (scoring, decoding)")


class MethodPublic(BaseModel):
    name: str
    family: str = Field(description="bottleneck | lora | prompt | other")
    description: str
    params: list[MethodParamPublic]
    extra_params_from: str | None
    placement_words: list[str]
    accepts_raw_module_names: bool
    positions: list[str]
    takes_layers: bool
    default_placement: PlacementPublic
    default_learning_rate: float
    peft_type: str | None
    refused_families: dict[str, str]
    words_by_family: dict[str, list[str]] = Field(
        description="placement words each model family offers for this method"
    )
    presets: list[MethodPresetPublic] = Field(
        default_factory=list, description='settings "as in the paper" for this method'
    )


class MethodsPublic(Page):
    data: list[MethodPublic]


class BenchmarkPublic(BaseModel):
    name: str
    suite: str
    description: str
    scorer: str
    imported: bool
    row_count: int | None


class BenchmarksPublic(Page):
    data: list[BenchmarkPublic]
    suites: list[str]


class BenchmarkImport(BaseModel):
    model_config = ConfigDict(strict=True)
    folder: ApiText = Field(description="a folder in the LLM-Adapters layout on the server")


class EstimateRequest(BaseModel):
    base_model: ApiText = Field(min_length=1, max_length=512)
    adapter: dict[str, Any] = Field(description="an adapter config (AdapterConfig's shape)")


class EstimatePublic(BaseModel):
    trainable_parameters: int | None
    total_parameters: int | None
    trainable_percent: float | None


class MemoryEstimatePublic(BaseModel):
    """Peak memory of a training step in bytes, by what holds it; the parts add up to total."""

    weights: int = Field(description="the frozen base model in its dtype (or quantized)")
    adapter: int = Field(description="trainable weights (float32)")
    gradients: int = Field(description="their gradients (float32)")
    optimizer: int = Field(description="AdamW's two float32 states per trainable weight")
    activations: int = Field(
        description="what autograd keeps for the backward for one micro-batch, plus the loss "
        "head's peak"
    )
    runtime: int = Field(description="the job process itself on a CPU (0 on a GPU)")
    total: int


class DeviceProfilePublic(BaseModel):
    kind: Literal["cpu", "cuda"]
    name: str
    dtype: str = Field(description="the dtype precision 'auto' trains in there")
    matmul_flops: float = Field(description="measured FLOP/s of a large matmul in that dtype")
    memory_bytes: int | None
    runtime_bytes: int
    threads: int | None
    source: Literal["worker", "api"] = Field(
        description="worker: reported by a worker when it ran a job; api: measured on the "
        "API's machine (no worker has reported yet)"
    )
    worker: str | None = None
    measured_at: datetime | None = None


class JobEstimatePublic(BaseModel):
    """What a job will need, before it runs (docs/estimates.md)."""

    trainable_parameters: int
    total_parameters: int
    trainable_percent: float
    memory: MemoryEstimatePublic
    device: DeviceProfilePublic
    dtype: str = Field(description="the dtype the base model loads in")
    sequence_tokens: int = Field(description="tokens per example in the longest micro-batch")
    tokens_per_step: int
    flops_per_step: float
    seconds_per_step: float
    total_steps: int | None = Field(description="null: unknown until a dataset is chosen")
    total_seconds: float | None
    train_examples: int | None = Field(
        default=None, description="the dataset's rows less the validation set"
    )
    notes: list[str]


class EstimateJobRequest(JobSettings):
    """A job config (JobCreate.config's shape) to estimate; the dataset is optional (without
    it, the total time is unknown)."""

    dataset_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="an uploaded dataset, for the step count"
    )


class EstimateCreate(BaseModel):
    team_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="the dataset's team; default: your first team"
    )
    config: EstimateJobRequest = Field(description="the job config to estimate")


# --- jobs -------------------------------------------------------------------------------------
class JobConfigCreate(JobSettings):
    """The job config as the API takes it: the training data is an uploaded dataset, never a
    path on the server."""

    unknown_key_hints = {
        "dataset_path": "the API takes dataset_id (upload the file first), not dataset_path"
    }
    dataset_id: int = Field(ge=1, le=MAX_ID, description="id of an uploaded dataset")


class JobDefaults(JobSettings):
    """The job config a new job starts from: the engine's defaults, with LoRA (the paper's
    headline method) and no base model or dataset chosen yet."""

    base_model: str = Field(
        default="", max_length=512, description="empty: choose one of GET /models"
    )
    adapter: AdapterConfig = Field(
        default_factory=lambda: AdapterConfig(method="lora"),
        description="the adapter method, its placement and params (empty: the method's defaults)",
    )
    dataset_id: int | None = Field(default=None, description="null: choose an uploaded dataset")


class JobCreate(BaseModel):
    team_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="default: your first team"
    )
    config: JobConfigCreate = Field(description="the job config of DESIGN.md")


class StateChange(BaseModel):
    status: JobStatus
    at: datetime
    reason: str | None = None


class JobPublic(BaseModel):
    id: int
    team_id: int
    owner_id: int | None
    owner_email: str | None
    name: str
    base_model: str
    method: str
    dataset_id: int | None
    config: JobConfig = Field(description="the config the job runs with, defaults filled in")
    status: JobStatus
    phase: str | None
    step: int
    total_steps: int | None
    fraction: float
    eta_seconds: float | None
    cancel_requested: bool
    worker: str | None
    error: str | None
    trainable_parameters: int | None
    total_parameters: int | None
    trainable_percent: float | None
    peak_memory_bytes: int | None
    wall_seconds: float | None
    seconds_per_step: float | None = Field(description="measured: training time per step")
    estimate: JobEstimatePublic | None = Field(
        description="the estimate made when the job was created (null for older jobs)"
    )
    train_loss: float | None
    best_accuracy: float | None
    results: dict[str, float]
    history: list[StateChange]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class JobsPublic(Page):
    data: list[JobPublic]


class MetricPointPublic(BaseModel):
    step: int
    epoch: float | None
    loss: float | None
    learning_rate: float | None
    tokens_per_second: float | None


class JobMetrics(BaseModel):
    train: list[MetricPointPublic]
    validation: list[MetricPointPublic]


class AccuracyPointPublic(BaseModel):
    step: int
    accuracy: float
    correct: int
    total: int


class JobAccuracy(BaseModel):
    benchmarks: dict[str, list[AccuracyPointPublic]]


class PredictionPublic(BaseModel):
    benchmark: str
    index: int
    prompt: str
    output: str
    extracted: str | None
    gold: str
    correct: bool
    # `extracted` / `correct` follow `scoring` (paper | strict); both rules' readings are kept.
    # The paper's are None on rows stored before migration 0004 (scored with the strict rule).
    scoring: str | None = None
    extracted_paper: str | None = None
    correct_paper: bool | None = None
    extracted_strict: str | None = None
    correct_strict: bool | None = None


class PredictionsPublic(Page):
    data: list[PredictionPublic]


class JobLogPublic(BaseModel):
    id: int
    time: datetime
    level: str
    message: str


class JobLogsPublic(Page):
    data: list[JobLogPublic]


# --- leaderboard ------------------------------------------------------------------------------
class LeaderboardRow(BaseModel):
    rank: int
    job_id: int | None = Field(description="None for published reference figures")
    job_name: str
    published: bool
    published_table: str | None = Field(
        description="for published rows: the paper's table the figures come from"
    )
    base_model: str
    method: str
    placement: dict[str, Any]
    accuracy: float
    scores: dict[str, float]
    examples: int | None = Field(
        description="examples the score rests on (summed over the scope's benchmarks); None "
        "when unknown (a published row whose sets are not imported)"
    )
    examples_full: int | None = Field(
        description="examples in the full sets of those benchmarks; None when unknown"
    )
    sampled: bool = Field(
        description="scored on a sample (fewer examples than the full set): ranked after "
        "full-set rows unless samples=together"
    )
    scoring: str | None = Field(description="the scoring rule: paper | strict (None: mixed)")
    decoding: str = Field(description="the decoding, in words (preset, beams, new tokens)")
    prompt_template: str = Field(description="the prompt template trained and evaluated with")
    trainable_parameters: int | None
    trainable_percent: float | None
    peak_memory_bytes: int | None
    wall_seconds: float | None
    owner_email: str | None
    finished_at: datetime | None


class LeaderboardPublic(Page):
    scope: str = Field(description="a benchmark name or a suite name")
    benchmarks: list[str]
    samples: Literal["apart", "together"] = Field(
        description="apart: rows scored on a sample rank after full-set rows; "
        "together: one ranking by the sort alone"
    )
    data: list[LeaderboardRow]


# --- playground -------------------------------------------------------------------------------
class GenerationCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    job_id: int = Field(ge=1, le=MAX_ID)
    prompt: ApiText = Field(min_length=1, max_length=4000)
    max_new_tokens: int = Field(default=64, ge=1, le=512)


class GenerationPublic(BaseModel):
    id: int
    job_id: int
    prompt: str
    status: str
    base_output: str | None
    adapter_output: str | None
    error: str | None
    created_at: datetime
