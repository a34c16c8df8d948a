"""API schemas (pydantic). One naming family per resource: XCreate, XPublic, XsPublic{data,count}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from typing_extensions import TypedDict

from worker.engine.config import (
    NO_NUL_PATTERN,
    NUL_MESSAGE,
    AdapterConfig,
    JobConfig,
    JobSettings,
    PromptTemplate,
    ScoringRule,
)
from worker.engine.study import PathAxis, ResultTable, StudyConfig, VariantsAxis

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
    must_change_password: bool = Field(
        default=False,
        description="invited with a one-time password: set a new one (POST /users/me/password) "
        "before anything else",
    )
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


class InviteCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    email: ApiText = Field(min_length=3, max_length=255, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")
    full_name: ApiText = Field(default="", max_length=255)
    role: Literal["owner", "member"] = "member"


class PasswordChange(BaseModel):
    model_config = ConfigDict(strict=True)
    current_password: ApiText = Field(max_length=256)
    new_password: ApiText = Field(min_length=1, max_length=256)


class MemberPublic(BaseModel):
    user_id: int
    email: str
    full_name: str
    role: Literal["owner", "member"]


class InviteCreated(BaseModel):
    member: MemberPublic
    one_time_password: str = Field(
        description="shown once: the invited person signs in with it and must then set their own"
    )


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
    trainable_percent: float | None = Field(
        description="trainable parameters as a share of the base model's parameters, in %"
    )
    note: str | None = Field(
        default=None, description="why there is no estimate, when trainable_parameters is null"
    )


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
    attempt: int | None = Field(default=None, description="which run of the job this entry is")
    worker: str | None = Field(default=None, description="the worker of that run")


class EvalProgress(BaseModel):
    benchmark: str
    step: int = Field(description="the training step the evaluation is for (0 = before training)")
    done: int
    total: int


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
    eta_seconds: float | None = Field(
        description="seconds left: the rest of training and every evaluation still to come"
    )
    eval_progress: EvalProgress | None = Field(
        default=None, description="the evaluation running (or last run): examples done of total"
    )
    cancel_requested: bool
    queue_reason: str | None = Field(
        default=None, description="why a queued job is still waiting (null when it is not queued)"
    )
    dispatched: bool = Field(
        default=True, description="false while the job's message has not reached the queue"
    )
    attempts: int = Field(
        default=0, description="runs started so far (a lost worker's job runs again)"
    )
    worker: str | None
    error: str | None
    trainable_parameters: int | None
    total_parameters: int | None
    trainable_percent: float | None = Field(
        description="trainable parameters as a share of the base model's parameters, in %"
    )
    queue_position: int | None = Field(
        default=None,
        description="place in the training queue while queued (1 = the next to start); null "
        "otherwise",
    )
    peak_memory_bytes: int | None
    wall_seconds: float | None
    seconds_per_step: float | None = Field(description="measured: training time per step")
    dtype: str | None = Field(
        default=None,
        description="what the base model computed in (bfloat16, float32, float16); precision "
        "auto is bfloat16 on a GPU and on a CPU with bf16 units; null until the job has run",
    )
    estimate: JobEstimatePublic | None = Field(
        description="the estimate made when the job was created (null for older jobs)"
    )
    train_loss: float | None
    best_accuracy: float | None
    results: dict[str, float]
    scoring: ScoringRule = Field(
        description="the scoring rule its results, best accuracy and curves follow (paper | "
        "strict): that of its stored results, else the rule its config will score with"
    )
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
    scoring: str | None = Field(default=None, description="the scoring rule (paper | strict)")


class JobResultPublic(BaseModel):
    benchmark: str
    suite: str = Field(description="arithmetic | commonsense | the benchmark's own")
    accuracy: float = Field(description="fraction correct, 0-1")
    correct: int
    total: int = Field(description="examples scored")
    scoring: str | None = Field(description="the scoring rule (paper | strict)")


class JobResultsPublic(Page):
    data: list[JobResultPublic]


class JobPromptsPublic(BaseModel):
    """The job's first training example rendered with its template, verbatim."""

    template: PromptTemplate
    training: str = Field(description="prompt and answer, as trained on")
    evaluation: str = Field(description="the prompt as asked at evaluation")


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
    scope: str = Field(description="a benchmark name, a suite name, harness or harness:<task>")
    benchmarks: list[str]
    harness_scopes: list[str] = Field(
        default_factory=list,
        description="the team's lm-evaluation-harness tasks with scores, as harness:<task> scopes",
    )
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
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0: greedy decoding")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)


class GenerationPublic(BaseModel):
    id: int
    job_id: int
    prompt: str
    status: str
    base_output: str | None
    adapter_output: str | None
    error: str | None
    created_at: datetime
    max_new_tokens: int
    temperature: float
    top_p: float


class GenerationsPublic(BaseModel):
    data: list[GenerationPublic]
    count: int


# --- studies ----------------------------------------------------------------------------------
StudyCellState = Literal["pending", "submitting", "submitted", "reused", "error"]
StudyCellStatus = Literal[
    "pending", "queued", "running", "succeeded", "failed", "cancelled", "error"
]


class StudyCreate(StudyConfig):
    """A study as posted: the study of DESIGN.md (`name`, `base`, `axes`), its team, and the
    preset it was built from, if any. `base` is a job config as POST /jobs takes it (with
    dataset_id); the axes fill in or replace parts of it, so it may be partial."""

    team_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="default: your first team"
    )
    preset: str | None = Field(
        default=None, max_length=64, description="the study preset it was built from, if any"
    )


class StudyCellPublic(BaseModel):
    index: int = Field(description="0-based position in the grid (the last axis varies fastest)")
    labels: dict[str, str] = Field(description="axis name -> this cell's label on it")
    values: dict[str, Any] = Field(description="axis name -> the swept value")
    state: StudyCellState = Field(
        description="pending (waiting for its turn, no job yet), submitting, submitted (job_id "
        "is its job), reused (job_id is an earlier job with the same config, data and code), "
        "error (its job could not be created: see error)"
    )
    status: StudyCellStatus = Field(description="the cell's job's status, or pending / error")
    job_id: int | None
    error: str | None
    phase: str | None
    fraction: float = Field(description="progress of the cell's job, 0-1")
    trainable_parameters: int | None
    total_parameters: int | None
    peak_memory_bytes: int | None
    wall_seconds: float | None
    accuracy: dict[str, float] = Field(description="benchmark -> final accuracy (fraction 0-1)")
    examples: dict[str, int] = Field(description="benchmark -> examples the accuracy rests on")
    scoring: str | None = Field(description="the scoring rule of its accuracies")
    config: JobConfig = Field(description="the cell's whole job config")


class StudyProgress(BaseModel):
    total: int
    pending: int = Field(description="cells without a job yet (waiting for their turn)")
    queued: int
    running: int
    succeeded: int = Field(description="succeeded cells, reused ones included")
    reused: int
    failed: int = Field(description="failed cells, and cells whose job could not be created")
    cancelled: int
    fraction: float = Field(description="cells that ended (succeeded, failed or cancelled) / total")


class StudyPlanCell(BaseModel):
    index: int
    labels: dict[str, str] = Field(description="axis name -> this cell's label on it")
    title: str
    estimate: JobEstimatePublic | None = Field(
        description="what the cell's job will need; null when it cannot be estimated (see note)"
    )
    note: str | None = Field(default=None, description="why there is no estimate")


class StudyPlanPublic(BaseModel):
    """A study checked and sized before launch: nothing is stored or queued."""

    cells: list[StudyPlanCell]
    count: int = Field(description="cells in the grid (the product of the axes)")
    total_seconds: float | None = Field(
        description="the cells' estimated times added up (one worker, one cell after another); "
        "null when a cell's time is unknown"
    )
    peak_memory_bytes: int | None = Field(description="the largest cell's estimated peak memory")
    max_active_cells: int = Field(description="cells of one study queued or running at once")


class StudyPublic(BaseModel):
    id: int
    team_id: int
    owner_id: int | None
    owner_email: str | None
    name: str
    description: str | None
    preset: str | None
    finding: str | None = Field(description="the paper's finding for a preset's study")
    status: Literal["active", "cancelled"] = Field(
        description="active: pending cells are submitted as others end; cancelled: they wait "
        "for POST /studies/{id}/resume"
    )
    state: Literal["running", "finished", "cancelled"] = Field(
        description="running (cells queued, running or waiting), finished (every cell ended), "
        "cancelled (stopped with cells left)"
    )
    max_active_cells: int = Field(description="cells of one study queued or running at once")
    spec: StudyConfig = Field(description="the study as submitted")
    axes: list[str]
    seed_axis: str | None
    progress: StudyProgress
    cells: list[StudyCellPublic]
    results: ResultTable = Field(description="the paper-shaped table (accuracy in percent)")
    created_at: datetime
    updated_at: datetime


class StudiesPublic(Page):
    data: list[StudyPublic]


class StudyCurvePoint(BaseModel):
    step: int
    accuracy: float = Field(description="percent")


class StudyPlotPoint(BaseModel):
    index: int
    labels: dict[str, str]
    values: dict[str, Any] = Field(description="axis name -> the swept value (x of the plot)")
    status: StudyCellStatus
    job_id: int | None
    trainable_parameters: int | None
    peak_memory_bytes: int | None
    wall_seconds: float | None
    accuracy: dict[str, float] = Field(description="benchmark -> final accuracy in percent")
    average: float | None = Field(description="mean over the study's benchmarks, in percent")
    pareto: dict[str, bool] = Field(
        description="cost (trainable_parameters, peak_memory_bytes, wall_seconds) -> whether the "
        "cell is on the Pareto front of that cost against the average accuracy"
    )
    curves: dict[str, list[StudyCurvePoint]] = Field(
        description="benchmark -> accuracy at each evaluation step (the cell's curve)"
    )


class StudyPlotPublic(BaseModel):
    axes: list[str]
    seed_axis: str | None
    benchmarks: list[str]
    data: list[StudyPlotPoint]


class StudyPresetPublic(BaseModel):
    name: str
    title: str
    finding: str = Field(description="what the paper found (shown beside the result)")
    method: str
    axes: list[PathAxis | VariantsAxis]
    cells: int = Field(description="cells with one seed")


class StudyPresetsPublic(Page):
    data: list[StudyPresetPublic]


# --- exports: a finished job's adapter as a merged model or a GGUF file ------------------------
class ExportCreate(BaseModel):
    model_config = ConfigDict(strict=True)
    format: Literal["merged", "gguf"] = Field(
        description="merged: base + adapter as safetensors and tokenizer (zip); "
        "gguf: the merged model as one GGUF file (llama.cpp, Ollama; LLaMA family)"
    )


class ExportPublic(BaseModel):
    format: str
    status: str = Field(description="queued | running | succeeded | failed")
    phase: str | None = None
    message: str | None = None
    error: str | None = None
    size_bytes: int | None = None
    seconds: float | None = None
    updated_at: float | None = Field(default=None, description="Unix time of the last change")


class ExportsPublic(Page):
    data: list[ExportPublic]
