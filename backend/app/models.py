"""The database schema (SQLAlchemy 2). API schemas live in `schemas.py`; this is storage only."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints so Alembic can drop them again on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class JobStatus(StrEnum):
    """A job's lifecycle (DESIGN.md): queued -> running -> succeeded | failed | cancelled.
    The one list of states: the API's enum and the generated client's type come from it."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_STATES = tuple(s.value for s in JobStatus)
FINAL_STATES = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware on the way out everywhere: SQLite stores no zone, so UTC is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Timestamped, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Invited with a one-time password: nothing but setting a new one until it is replaced.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Team(Timestamped, Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )


class Membership(Timestamped, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "team_id", name="uq_membership_user_team"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    role: Mapped[Literal["owner", "member"]] = mapped_column(String(16), default="member")
    user: Mapped[User] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(back_populates="memberships")


class ApiToken(Timestamped, Base):
    """Only the SHA-256 of a token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Dataset(Timestamped, Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1024))  # relative to the storage folder
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    dropped_rows: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Benchmark(Timestamped, Base):
    """A benchmark set imported once per installation (files under storage/benchmarks)."""

    __tablename__ = "benchmarks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    suite: Mapped[str] = mapped_column(String(32))
    row_count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(1024))


class BaseModelEntry(Timestamped, Base):
    """A base model reference offered in the catalogue, with what the forms need to know."""

    __tablename__ = "base_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(512), unique=True)
    label: Mapped[str] = mapped_column(String(255))
    family: Mapped[str] = mapped_column(String(32))
    num_layers: Mapped[int | None] = mapped_column(Integer)
    parameters: Mapped[int | None] = mapped_column(BigInteger)
    model_config_data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Job(Timestamped, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # Both end in id: the list orders by (created_at, id) and the leaderboard reads ids of a
        # team's succeeded jobs from the index alone.
        Index("ix_jobs_team_created_id", "team_id", "created_at", "id"),
        Index("ix_jobs_team_status_id", "team_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    base_model: Mapped[str] = mapped_column(String(512))
    method: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    phase: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    # {"benchmark", "step", "done", "total"} of the evaluation running or last run
    eval_progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The nonce of the job's current dispatch: a message carrying another one is stale.
    task_id: Mapped[str | None] = mapped_column(String(64))
    # The outbox: None while the current dispatch has not reached the broker (services/dispatch).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a queued job is still waiting ("waiting for the queue: the broker is unreachable").
    queue_reason: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims by a worker, so far
    error: Mapped[str | None] = mapped_column(Text)
    trainable_parameters: Mapped[int | None] = mapped_column(BigInteger)
    total_parameters: Mapped[int | None] = mapped_column(BigInteger)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    wall_seconds: Mapped[float | None] = mapped_column(Float)
    seconds_per_step: Mapped[float | None] = mapped_column(Float)  # measured, training only
    # What the base model computed in: "auto" is bfloat16 on a CPU with bf16 units (run summary)
    dtype: Mapped[str | None] = mapped_column(String(16))
    train_loss: Mapped[float | None] = mapped_column(Float)
    best_accuracy: Mapped[float | None] = mapped_column(Float)
    artifact_dir: Mapped[str | None] = mapped_column(String(1024))
    # What the studio expected before launch (worker/engine/estimate.py), beside the measured
    # figures above: parameters, peak memory by part, time per step and in total.
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Every state change with its time: [{"status": ..., "at": iso}, ...]
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The study this job is a cell of (null for a single job), and its cell index there.
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("studies.id", ondelete="SET NULL"), index=True
    )
    study_cell: Mapped[int | None] = mapped_column(Integer)
    # sha256 of what decides a run's outcome (config without its name, the dataset's content,
    # the engine's code): a study cell with the same fingerprint reuses a succeeded job.
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)


class Study(Timestamped, Base):
    """A grid of jobs (DESIGN.md "Studies"). Its cells are rows of `study_cells`; a cell gets
    a job when the study's turn in the queue comes (services/studies.py)."""

    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the study as submitted
    # active: pending cells are submitted as others end; cancelled: they wait for a resume.
    status: Mapped[str] = mapped_column(String(16), default="active")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StudyCell(Base):
    __tablename__ = "study_cells"
    __table_args__ = (UniqueConstraint("study_id", "index", name="uq_study_cells_study_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    labels: Mapped[dict[str, str]] = mapped_column(JSONType)
    values: Mapped[dict[str, Any]] = mapped_column(JSONType)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)  # validated, defaults filled in
    # pending (no job yet) -> submitting -> submitted (job_id set) | reused (job_id: an
    # earlier job with the same fingerprint) ; error: the job could not be created.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))  # as Job.fingerprint
    error: Mapped[str | None] = mapped_column(Text)


class DeviceProfile(Base):
    """A worker's device as the worker measured it (matmul throughput, memory): the figure
    time estimates divide by. One row per worker and device kind, replaced on each report."""

    __tablename__ = "device_profiles"
    __table_args__ = (UniqueConstraint("worker", "kind", name="uq_device_profiles_worker_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # cpu | cuda
    name: Mapped[str] = mapped_column(String(255))
    dtype: Mapped[str] = mapped_column(String(16))
    matmul_flops: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    runtime_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    threads: Mapped[int | None] = mapped_column(Integer)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerEntry(Base):
    """A Celery worker as it announced itself when it started: how many devices it has, so the
    queue (broker.queue_for) can say why a job that needs more waits. One row per worker name."""

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    device_kind: Mapped[str] = mapped_column(String(16))  # cpu | cuda
    devices: Mapped[int] = mapped_column(Integer)
    queues: Mapped[str] = mapped_column(String(1024))  # comma-separated
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricPoint(Base):
    """A training-loss or validation-loss point; the series the loss/lr charts draw."""

    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_job_step", "job_id", "step"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # train | validation
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[float | None] = mapped_column(Float)
    loss: Mapped[float | None] = mapped_column(Float)
    learning_rate: Mapped[float | None] = mapped_column(Float)
    tokens_per_second: Mapped[float | None] = mapped_column(Float)


class EvalPoint(Base):
    """Accuracy on one benchmark at one step: the accuracy curve (step 0 = before training)."""

    __tablename__ = "eval_points"
    __table_args__ = (Index("ix_eval_points_job_step", "job_id", "step"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float] = mapped_column(Float)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    # the rule: paper | strict | harness:<metric> (an lm-evaluation-harness score)
    scoring: Mapped[str | None] = mapped_column(String(64))


class JobResult(Base):
    """Final accuracy per benchmark (the leaderboard reads these)."""

    __tablename__ = "job_results"
    __table_args__ = (
        UniqueConstraint("job_id", "benchmark", name="uq_job_results_job_benchmark"),
        Index("ix_job_results_benchmark_accuracy", "benchmark", "accuracy"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(32))
    accuracy: Mapped[float] = mapped_column(Float)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    # the rule: paper | strict | harness:<metric> (an lm-evaluation-harness score)
    scoring: Mapped[str | None] = mapped_column(String(64))


class LeaderboardScore(Base):
    """A succeeded job's score per scope (each benchmark, and each suite's average), written
    when the job succeeds, so ranking thousands of jobs is an index scan, not an aggregation."""

    __tablename__ = "leaderboard_scores"
    __table_args__ = (
        UniqueConstraint("job_id", "scope", name="uq_leaderboard_scores_job_scope"),
        Index("ix_leaderboard_scores_rank", "team_id", "scope", text("score DESC"), "job_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))  # a benchmark or a suite
    score: Mapped[float] = mapped_column(Float)  # percent, like the paper
    benchmarks: Mapped[int] = mapped_column(Integer)  # how many benchmarks the score averages
    scoring: Mapped[str | None] = mapped_column(String(64))  # the rule of its results


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_job_benchmark", "job_id", "benchmark", "correct"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(64))
    index: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text)
    extracted: Mapped[str | None] = mapped_column(Text)
    gold: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)
    # `extracted` / `correct` follow `scoring`; both rules' readings are kept (None where a
    # row predates migration 0004 and the paper rule was never applied to it).
    scoring: Mapped[str | None] = mapped_column(String(16))
    extracted_paper: Mapped[str | None] = mapped_column(Text)
    correct_paper: Mapped[bool | None] = mapped_column(Boolean)
    extracted_strict: Mapped[str | None] = mapped_column(Text)
    correct_strict: Mapped[bool | None] = mapped_column(Boolean)


class JobLog(Base):
    __tablename__ = "job_logs"
    __table_args__ = (Index("ix_job_logs_job_id", "job_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)


class Generation(Timestamped, Base):
    """A playground request: one prompt answered by the base model and by a job's adapter."""

    __tablename__ = "generations"
    # The playground's history: a team's newest first.
    __table_args__ = (Index("ix_generations_team_id_created_at", "team_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    prompt: Mapped[str] = mapped_column(Text)
    max_new_tokens: Mapped[int] = mapped_column(Integer, default=64)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    base_output: Mapped[str | None] = mapped_column(Text)
    adapter_output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # The sampling settings it was answered with (the playground's history shows them).
    temperature: Mapped[float] = mapped_column(Float, default=0.0)
    top_p: Mapped[float] = mapped_column(Float, default=1.0)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
