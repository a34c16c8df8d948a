"""OpenAI-compatible fine-tuning: `/v1/files` and `/v1/fine_tuning/jobs` (with events and
checkpoints), a door onto the studio's own datasets and jobs so that the official `openai`
client works with `base_url="http://HOST:PORT/v1"`. The studio's API (/api/v1) stays the full
one; here ids, statuses and errors take OpenAI's shapes. Mounted at /v1 by backend/app/main.py.

Ids: `file-<dataset id>`, `ftjob-<job id>`, `ftevent-<job id>-<h|l><n>`, `ftckpt-<job id>-<step>`.
A succeeded job's model is `job-<job id>` (the name the OpenAI inference endpoints serve)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker.engine.adapters import default_learning_rate
from worker.engine.errors import ConfigError, DataError

from ...core.errors import ConflictError, NotFoundError
from ...models import BaseModelEntry, Dataset, Job, JobLog, MetricPoint, User
from ...schemas import ApiText
from ...services import jobs as job_service
from ...services import storage
from ...services.datasets import UploadRejected, store_upload
from ...services.openai_files import is_openai_jsonl, rewrite_openai_jsonl
from ..deps import CurrentUser, SessionDep, SettingsDep, resolve_team, team_ids

# --- errors in OpenAI's shape -------------------------------------------------------------


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


class OpenAIRefusal(Exception):
    """An error this door answers in OpenAI's shape (status, message, param, code)."""

    def __init__(
        self, status_code: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status_code, self.message, self.param, self.code = status_code, message, param, code


_TYPE_OF_STATUS = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}


def _error_response(
    status_code: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    kind = _TYPE_OF_STATUS.get(status_code, "invalid_request_error")
    if status_code >= 500:
        kind = "server_error"
    body = OpenAIError(error=OpenAIErrorDetail(message=message, type=kind, param=param, code=code))
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


class OpenAIRoute(APIRoute):
    """Answers every refusal of its routes (auth, validation, the services' errors) in OpenAI's
    error shape, here rather than in the app's handlers, which keep /api/v1's `detail` body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def openai_shaped(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIRefusal as e:
                return _error_response(e.status_code, e.message, e.param, e.code)
            except RequestValidationError as e:
                first = e.errors()[0] if e.errors() else {}
                param = ".".join(
                    str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")
                )
                msg = "; ".join(
                    f"{'.'.join(str(x) for x in err.get('loc', ())[1:])}: {err.get('msg')}"
                    for err in e.errors()[:5]
                )
                return _error_response(400, f"invalid request: {msg}", param or None, "invalid")
            except StarletteHTTPException as e:
                return _error_response(
                    e.status_code, str(e.detail), headers=getattr(e, "headers", None)
                )
            except NotFoundError as e:
                return _error_response(404, str(e), code="not_found")
            except ConflictError as e:
                return _error_response(409, str(e), code="conflict")
            except (ConfigError, DataError) as e:
                return _error_response(400, str(e), code="invalid_config")

        return openai_shaped


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIError, "description": "the request is refused (the error names why)"},
    401: {"model": OpenAIError, "description": "no API token, or an unknown one"},
    404: {"model": OpenAIError, "description": "not found (or another team's)"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": OpenAIError, "description": "refused in the object's current state"}
}

router = APIRouter(tags=["openai-fine-tuning"], route_class=OpenAIRoute, responses=ERRORS)


def _unix(t: datetime | None) -> int | None:
    return int(t.timestamp()) if t is not None else None


def _number(prefix: str, value: str, param: str, what: str) -> int:
    digits = value.removeprefix(prefix)
    if not value.startswith(prefix) or not digits.isdigit() or len(digits) > 12:
        raise OpenAIRefusal(404, f"no {what} {value!r}: ids look like '{prefix}123'", param)
    return int(digits)


# --- files ---------------------------------------------------------------------------------


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str = "fine-tune"
    status: str = "processed"
    status_details: str | None = None


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool = False


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


def _file(ds: Dataset) -> FileObject:
    return FileObject(
        id=f"file-{ds.id}",
        bytes=ds.size_bytes,
        created_at=_unix(ds.created_at) or 0,
        filename=ds.filename,
        status_details=f"{ds.row_count} rows ({ds.dropped_rows} dropped)",
    )


def _team_dataset(session: Session, user: User, file_id: str, param: str) -> Dataset:
    dataset_id = _number("file-", file_id, param, "file")
    ds = session.get(Dataset, dataset_id)
    if ds is None or ds.team_id not in team_ids(session, user):
        raise OpenAIRefusal(404, f"no file {file_id!r} in your teams", param, "file_not_found")
    return ds


@router.post(
    "/files",
    response_model=FileObject,
    status_code=status.HTTP_200_OK,
    responses={413: {"model": OpenAIError, "description": "the file is over the size limit"}},
)
def create_file(
    file: Annotated[UploadFile, File(description="JSON Lines: chat, prompt/completion or Alpaca")],
    purpose: Annotated[ApiText, Form(max_length=64)],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> FileObject:
    """Uploads a training file: it becomes a studio dataset of your first team, validated whole;
    OpenAI chat lines (`{"messages": [...]}`) and prompt/completion lines are accepted."""
    if purpose != "fine-tune":
        raise OpenAIRefusal(
            400, f"purpose {purpose!r} is not supported: only 'fine-tune' files", "purpose"
        )
    team = resolve_team(session, user, None)
    filename = file.filename or "upload.jsonl"
    stream: IO[bytes] = file.file
    head = stream.read(65536)
    stream.seek(0)
    if is_openai_jsonl(head):
        try:
            stream = rewrite_openai_jsonl(stream)
        except DataError as e:
            raise OpenAIRefusal(400, f"{filename}: {e}", "file", "invalid_file") from None
    try:
        up = store_upload(settings, team, filename, None, stream)
    except UploadRejected as e:
        problems = "; ".join(
            f"row {p.row}: {p.field}: {p.message}" if p.row else p.message for p in e.problems[:5]
        )
        message = f"{filename}: {e.detail}" + (f" ({problems})" if problems else "")
        # OpenAI answers a refused file with 400 (413 stays: the file is too large).
        status_code = 400 if e.status == 422 else e.status
        raise OpenAIRefusal(status_code, message, "file", "invalid_file") from None
    finally:
        if stream is not file.file:
            stream.close()
    try:
        ds = Dataset(
            team_id=team,
            owner_id=user.id,
            name=filename,
            filename=filename,
            format=up.format,
            path=up.path,
            size_bytes=up.size_bytes,
            row_count=up.row_count,
            dropped_rows=up.dropped_rows,
            stats=up.stats,
        )
        session.add(ds)
        session.commit()
    except BaseException:
        storage.delete_stored(settings, up.path)  # no orphan file when the row is not stored
        raise
    return _file(ds)


@router.get("/files", response_model=FileList)
def list_files(
    user: CurrentUser,
    session: SessionDep,
    purpose: Annotated[ApiText | None, Query(max_length=64)] = None,
    after: Annotated[ApiText | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
) -> FileList:
    """Your teams' datasets, newest first (every one can be a fine-tuning file)."""
    if purpose not in (None, "fine-tune"):
        return FileList(data=[])
    where: list[ColumnElement[bool]] = [Dataset.team_id.in_(team_ids(session, user))]
    if after:
        where.append(Dataset.id < _number("file-", after, "after", "file"))
    rows = session.scalars(
        select(Dataset).where(*where).order_by(Dataset.id.desc()).limit(limit + 1)
    ).all()
    return FileList(data=[_file(d) for d in rows[:limit]], has_more=len(rows) > limit)


@router.get("/files/{file_id}", response_model=FileObject)
def retrieve_file(file_id: str, user: CurrentUser, session: SessionDep) -> FileObject:
    return _file(_team_dataset(session, user, file_id, "file_id"))


@router.delete("/files/{file_id}", response_model=FileDeleted, responses=CONFLICT)
def delete_file(
    file_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileDeleted:
    ds = _team_dataset(session, user, file_id, "file_id")
    if session.scalar(select(exists().where(Job.dataset_id == ds.id))):
        raise OpenAIRefusal(
            409, f"file {file_id} is used by a fine-tuning job; delete the job first", "file_id"
        )
    path = ds.path
    session.delete(ds)
    session.commit()
    storage.delete_stored(settings, path)
    return FileDeleted(id=file_id, deleted=True)


# --- fine-tuning jobs ----------------------------------------------------------------------

Auto = Literal["auto"]


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_epochs: int | Auto | None = Field(default=None, description="studio training.epochs")
    batch_size: int | Auto | None = Field(default=None, description="studio training.batch_size")
    learning_rate_multiplier: float | Auto | None = Field(
        default=None, description="times the adapter method's default learning rate"
    )


class SupervisedMethod(BaseModel):
    hyperparameters: Hyperparameters | None = None


class FineTuningMethod(BaseModel):
    type: Literal["supervised"] = Field(description="only supervised fine-tuning")
    supervised: SupervisedMethod | None = None
    adapter: dict[str, Any] | None = Field(
        default=None,
        description="studio extension: the adapter ({method, placement, params}); default LoRA",
    )


class FineTuningJobCreate(BaseModel):
    model: ApiText = Field(max_length=512, description="a base model reference of the catalogue")
    training_file: ApiText = Field(max_length=64, description="a file id from /v1/files")
    validation_file: ApiText | None = Field(default=None, max_length=64)
    hyperparameters: Hyperparameters | None = None
    method: FineTuningMethod | None = None
    suffix: ApiText | None = Field(
        default=None, max_length=64, description="appended to the studio job's name"
    )
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    metadata: dict[str, ApiText] | None = Field(
        default=None,
        description="read, not stored: `adapter` (a method name) picks the adapter",
    )
    integrations: list[dict[str, Any]] | None = None
    studio: dict[str, Any] | None = Field(
        default=None,
        description="studio extension: a partial job config ({adapter, training, evaluation}) "
        "merged over the one built from the fields above",
    )


class HyperparametersPublic(BaseModel):
    n_epochs: float | None
    batch_size: int | None
    learning_rate_multiplier: float | None


class FineTuningJobError(BaseModel):
    code: str
    message: str
    param: str | None = None


class FineTuningJob(BaseModel):
    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    created_at: int
    finished_at: int | None
    error: FineTuningJobError | None
    fine_tuned_model: str | None
    hyperparameters: HyperparametersPublic
    method: dict[str, Any]
    model: str
    organization_id: str
    result_files: list[str] = []
    seed: int | None
    status: str
    trained_tokens: int | None
    training_file: str | None
    validation_file: str | None = None
    estimated_finish: int | None = None
    integrations: list[dict[str, Any]] = []
    metadata: dict[str, str] | None = None
    suffix: str | None = None
    user_provided_suffix: str | None = None
    studio_job_id: int = Field(description="the job in the studio's own API (/api/v1/jobs/ID)")


class FineTuningJobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJob]
    has_more: bool


class FineTuningJobEvent(BaseModel):
    id: str
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    type: Literal["message", "metrics"] = "message"
    data: dict[str, Any] | None = None


class FineTuningJobEventList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobEvent]
    has_more: bool


class CheckpointMetrics(BaseModel):
    step: int
    train_loss: float | None = None
    valid_loss: float | None = None
    full_valid_loss: float | None = None


class FineTuningJobCheckpoint(BaseModel):
    id: str
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: CheckpointMetrics
    step_number: int


class FineTuningJobCheckpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuningJobCheckpoint]
    first_id: str | None
    last_id: str | None
    has_more: bool


def fine_tuned_model_name(job_id: int) -> str:
    """The model name a succeeded job is served under by the OpenAI inference endpoints."""
    return f"job-{job_id}"


def _openai_job(job: Job) -> FineTuningJob:
    config = job.config or {}
    training = config.get("training") or {}
    method = (config.get("adapter") or {}).get("method", job.method)
    lr = training.get("learning_rate")
    try:
        multiplier = None if lr is None else lr / default_learning_rate(method)
    except Exception:  # noqa: BLE001 - a method the registry no longer knows: no multiplier
        multiplier = None
    hyper = HyperparametersPublic(
        n_epochs=training.get("epochs"),
        batch_size=training.get("batch_size"),
        learning_rate_multiplier=1.0 if lr is None else multiplier,
    )
    error = None
    if job.status == "failed":
        error = FineTuningJobError(code="job_failed", message=job.error or "the job failed")
    return FineTuningJob(
        id=f"ftjob-{job.id}",
        created_at=_unix(job.created_at) or 0,
        finished_at=_unix(job.finished_at),
        error=error,
        fine_tuned_model=fine_tuned_model_name(job.id) if job.status == "succeeded" else None,
        hyperparameters=hyper,
        method={
            "type": "supervised",
            "supervised": {"hyperparameters": hyper.model_dump()},
            "adapter": config.get("adapter"),
        },
        model=job.base_model,
        organization_id=f"team-{job.team_id}",
        seed=training.get("seed"),
        status=job.status,  # the studio's five states are OpenAI's names too
        trained_tokens=None,  # the studio counts tokens per dataset, not per run
        training_file=f"file-{job.dataset_id}" if job.dataset_id else None,
        estimated_finish=(
            int(datetime.now().timestamp() + job.eta_seconds)
            if job.eta_seconds and job.status == "running"
            else None
        ),
        studio_job_id=job.id,
    )


def _team_job(session: Session, user: User, ftjob_id: str) -> Job:
    job_id = _number("ftjob-", ftjob_id, "fine_tuning_job_id", "fine-tuning job")
    job = session.get(Job, job_id)
    if job is None or job.team_id not in team_ids(session, user):
        raise OpenAIRefusal(
            404, f"no fine-tuning job {ftjob_id!r} in your teams", None, "not_found"
        )
    return job


def _auto(value: Any) -> Any:
    return None if value == "auto" else value


def build_config(body: FineTuningJobCreate, dataset_id: int) -> dict[str, Any]:
    """The studio job config for an OpenAI job request."""
    hyper = body.hyperparameters or Hyperparameters()
    if body.method and body.method.supervised and body.method.supervised.hyperparameters:
        hyper = body.method.supervised.hyperparameters  # OpenAI: method's take precedence
    adapter: dict[str, Any] = {"method": "lora"}
    if body.metadata and body.metadata.get("adapter"):
        adapter = {"method": body.metadata["adapter"]}
    if body.method and body.method.adapter:
        adapter = body.method.adapter
    training: dict[str, Any] = {}
    if (n := _auto(hyper.n_epochs)) is not None:
        training["epochs"] = n
    if (b := _auto(hyper.batch_size)) is not None:
        training["batch_size"] = b
        training["micro_batch_size"] = min(b, 4)
    if (m := _auto(hyper.learning_rate_multiplier)) is not None:
        if m <= 0:
            raise OpenAIRefusal(400, "learning_rate_multiplier must be above 0", "hyperparameters")
        method = str(adapter.get("method", "lora")).strip().lower()
        # An unknown method gets no rate here: the config check below names it.
        with contextlib.suppress(Exception):
            training["learning_rate"] = m * default_learning_rate(method)
    if body.seed is not None:
        training["seed"] = body.seed
    short = body.model.split(":", 1)[-1].rsplit("/", 1)[-1]
    config: dict[str, Any] = {
        "name": f"ft-{short}" + (f"-{body.suffix}" if body.suffix else ""),
        "base_model": body.model,
        "dataset_id": dataset_id,
        "adapter": adapter,
        "training": training,
        "evaluation": {"benchmarks": []},  # OpenAI jobs train only; the studio API evaluates
    }
    if body.studio:
        config = job_service.merge(config, body.studio)
        config["dataset_id"] = dataset_id  # the file is training_file, never overridden
    return config


@router.post("/fine_tuning/jobs", response_model=FineTuningJob)
def create_fine_tuning_job(
    body: FineTuningJobCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> FineTuningJob:
    """Starts a studio job on an uploaded file (LoRA unless `method.adapter`, `metadata.adapter`
    or `studio.adapter` says otherwise)."""
    try:
        ds = _team_dataset(session, user, body.training_file, "training_file")
    except OpenAIRefusal as e:
        raise OpenAIRefusal(400, e.message, "training_file", "invalid_training_file") from None
    if body.validation_file is not None:
        raise OpenAIRefusal(
            400,
            "validation_file is not supported: the studio holds validation rows out of the "
            "training file (set studio.training.val_set_size)",
            "validation_file",
        )
    if body.integrations:
        raise OpenAIRefusal(
            400,
            "integrations are not supported here; see the studio's tracking settings",
            "integrations",
        )
    if session.scalar(select(BaseModelEntry).where(BaseModelEntry.reference == body.model)) is None:
        known = ", ".join(session.scalars(select(BaseModelEntry.reference))) or "none"
        raise OpenAIRefusal(
            400,
            f"model {body.model!r} is not in the studio's catalogue (known: {known})",
            "model",
            "model_not_found",
        )
    config = build_config(body, ds.id)
    try:
        job = job_service.create_job(session, settings, user, ds.team_id, config)
    except (ConfigError, DataError) as e:
        raise OpenAIRefusal(400, str(e), None, "invalid_config") from None
    return _openai_job(job)


@router.get("/fine_tuning/jobs", response_model=FineTuningJobList)
def list_fine_tuning_jobs(
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[ApiText | None, Query(max_length=64, description="the last id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> FineTuningJobList:
    """Your teams' jobs, newest first; `after` continues from a job id."""
    where: list[ColumnElement[bool]] = [Job.team_id.in_(team_ids(session, user))]
    if after:
        where.append(Job.id < _number("ftjob-", after, "after", "fine-tuning job"))
    rows = session.scalars(select(Job).where(*where).order_by(Job.id.desc()).limit(limit + 1)).all()
    return FineTuningJobList(
        data=[_openai_job(j) for j in rows[:limit]], has_more=len(rows) > limit
    )


@router.get("/fine_tuning/jobs/{fine_tuning_job_id}", response_model=FineTuningJob)
def retrieve_fine_tuning_job(
    fine_tuning_job_id: str, user: CurrentUser, session: SessionDep
) -> FineTuningJob:
    return _openai_job(_team_job(session, user, fine_tuning_job_id))


@router.post(
    "/fine_tuning/jobs/{fine_tuning_job_id}/cancel",
    response_model=FineTuningJob,
    responses=CONFLICT,
)
def cancel_fine_tuning_job(
    fine_tuning_job_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FineTuningJob:
    """A queued job is cancelled now; a running one stops at its next step (status `running`
    until then)."""
    job = _team_job(session, user, fine_tuning_job_id)
    job_service.cancel_job(session, settings, job)
    return _openai_job(job)


def _parse_time(text: str | None) -> float:
    try:
        return datetime.fromisoformat(text).timestamp() if text else 0.0
    except ValueError:
        return 0.0


def _event_level(level: str) -> Literal["info", "warn", "error"]:
    level = level.lower()
    if level in ("error", "critical"):
        return "error"
    return "warn" if level.startswith("warn") else "info"


def job_events(session: Session, job: Job) -> list[FineTuningJobEvent]:
    """A job's state changes and log lines as events, newest first (OpenAI's order)."""
    timed: list[tuple[float, FineTuningJobEvent]] = []
    for i, h in enumerate(job.history or []):
        state = str(h.get("status", ""))
        message = f"Job {state}" + (f": {h['reason']}" if h.get("reason") else "")
        if state == "succeeded":
            message += f"; fine-tuned model {fine_tuned_model_name(job.id)}"
        if state == "failed" and job.error and job.error != h.get("reason"):
            message += f": {job.error}"
        at = _parse_time(h.get("at"))
        event = FineTuningJobEvent(
            id=f"ftevent-{job.id}-h{i}",
            created_at=int(at),
            level="error" if state == "failed" else "info",
            message=message,
            data={"status": state},
        )
        timed.append((at, event))
    for log in session.scalars(select(JobLog).where(JobLog.job_id == job.id).order_by(JobLog.id)):
        event = FineTuningJobEvent(
            id=f"ftevent-{job.id}-l{log.id}",
            created_at=_unix(log.time) or 0,
            level=_event_level(log.level),
            message=log.message,
        )
        timed.append((log.time.timestamp() if log.time else 0.0, event))
    # By the precise time (ties: state changes first, then logs, each in creation order),
    # newest first.
    order = {id(e): n for n, (_, e) in enumerate(timed)}
    timed.sort(key=lambda te: (te[0], order[id(te[1])]), reverse=True)
    return [e for _, e in timed]


@router.get("/fine_tuning/jobs/{fine_tuning_job_id}/events", response_model=FineTuningJobEventList)
def list_fine_tuning_events(
    fine_tuning_job_id: str,
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[
        ApiText | None, Query(max_length=64, description="the last event id seen")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> FineTuningJobEventList:
    """The job's state changes and log lines, newest first; `after` continues from an event."""
    events = job_events(session, _team_job(session, user, fine_tuning_job_id))
    if after:
        ids = [e.id for e in events]
        if after not in ids:
            raise OpenAIRefusal(400, f"no event {after!r} in this job", "after")
        events = events[ids.index(after) + 1 :]
    return FineTuningJobEventList(data=events[:limit], has_more=len(events) > limit)


def _last_loss(session: Session, job_id: int, kind: str) -> tuple[int, float | None] | None:
    point = session.scalars(
        select(MetricPoint)
        .where(MetricPoint.job_id == job_id, MetricPoint.kind == kind)
        .order_by(MetricPoint.step.desc(), MetricPoint.id.desc())
        .limit(1)
    ).first()
    return (point.step, point.loss) if point else None


@router.get(
    "/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints",
    response_model=FineTuningJobCheckpointList,
)
def list_fine_tuning_checkpoints(
    fine_tuning_job_id: str,
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[ApiText | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> FineTuningJobCheckpointList:
    """The adapter the job saved (a studio job keeps one: its final adapter, also what a
    cancelled job saved), with the last train and validation loss."""
    job = _team_job(session, user, fine_tuning_job_id)
    data: list[FineTuningJobCheckpoint] = []
    if job.artifact_dir and job.status in ("succeeded", "cancelled"):
        train = _last_loss(session, job.id, "train")
        valid = _last_loss(session, job.id, "validation")
        step = job.step or (train[0] if train else 0)
        data.append(
            FineTuningJobCheckpoint(
                id=f"ftckpt-{job.id}-{step}",
                created_at=_unix(job.finished_at or job.updated_at) or 0,
                fine_tuned_model_checkpoint=fine_tuned_model_name(job.id),
                fine_tuning_job_id=f"ftjob-{job.id}",
                metrics=CheckpointMetrics(
                    step=step,
                    train_loss=train[1] if train else job.train_loss,
                    valid_loss=valid[1] if valid else None,
                    full_valid_loss=valid[1] if valid else None,
                ),
                step_number=step,
            )
        )
    if after:
        ids = [c.id for c in data]
        data = data[ids.index(after) + 1 :] if after in ids else []
    page = data[:limit]
    return FineTuningJobCheckpointList(
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=len(data) > limit,
    )
