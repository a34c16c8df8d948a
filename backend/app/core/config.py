"""One settings object for the API, the workers and `studio up` (environment prefix STUDIO_)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changethis", "admin", "password"}
# Left at these, `studio up` generates the first administrator's password (outside production).
UNSET_PASSWORDS = {"", "changethis"}
MIN_ADMIN_PASSWORD = 12
# Guessed first by anyone trying an administrator account (compared case-insensitively).
COMMON_PASSWORDS = {
    "admin", "administrator", "password", "passw0rd", "changeme", "changethis", "letmein",
    "welcome", "qwerty", "secret", "studio", "123456", "12345678", "123456789", "1234567890",
    "123456789012", "password1234", "adminadminadmin", "qwertyuiopasdf", "letmeinletmein",
    "passwordpassword", "administrator1",
}  # fmt: skip


def weak_password_reason(password: str, email: str = "") -> str | None:
    """Why `password` is too weak for an administrator, or None when it is not."""
    if len(password) < MIN_ADMIN_PASSWORD:
        return f"shorter than {MIN_ADMIN_PASSWORD} characters"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return "a commonly guessed password"
    if len(set(lowered)) < 4:
        return "too few different characters"
    if email and lowered in (email.lower(), email.split("@")[0].lower()):
        return "the account's own e-mail"
    return None


def _default_data_dir() -> Path:
    return Path.home() / ".adapter-studio"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = _default_data_dir()
    # Empty means "embedded": SQLite under data_dir and kombu's filesystem broker.
    database_url: str = ""
    broker_url: str = ""
    benchmark_dir: Path | None = None  # a folder in the LLM-Adapters layout to import at start
    frontend_dist: Path | None = None  # the dashboard's build, served at / when present
    # Experiment tracking (docs/integrations.md): every job logs to this MLflow tracking server
    # when set (a job's tracking.mlflow may name another or opt out); W&B when a key is set
    # (WANDB_API_KEY works too) or the mode is offline. TensorBoard files are always written.
    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = "adapter-studio"
    wandb_api_key: str | None = None
    wandb_project: str = "adapter-studio"
    wandb_mode: Literal["online", "offline"] = "online"
    tracking_timeout_s: float = Field(default=30.0, gt=0)  # the most a dead tracker costs a job

    admin_email: str = "admin@studio.local"
    admin_password: str = "changethis"
    default_team: str = "default"

    max_upload_bytes: int = 50 * 1024 * 1024
    max_upload_rows: int = 500_000
    session_days: int = 14
    # Sign-in: failed attempts allowed per account and per client address within the window,
    # then 429 with Retry-After until the oldest failure leaves it.
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_window_s: float = 60.0
    # A running job whose worker has not written a heartbeat for this long is taken for lost:
    # re-queued to resume from its last checkpoint, at most job_max_retries times, then failed.
    heartbeat_interval_s: float = 5.0
    heartbeat_timeout_s: float = 60.0
    reaper_interval_s: float = 5.0
    job_max_retries: int = 2
    # Jobs whose config sets no save_steps checkpoint this often, so a re-queued job resumes.
    default_save_steps: int = 50
    # The outbox: jobs not yet handed to the broker are sent (again) this often; a queued job
    # nobody has taken for queue_stale_s says why, and is sent again if its message was lost.
    dispatch_interval_s: float = 2.0
    queue_stale_s: float = 120.0
    metric_flush_s: float = 1.0
    # Devices a worker advertises (the processes a job may train in on it): its GPUs by default,
    # 1 on a CPU; set it to run several-process jobs on a CPU (gloo) or on part of a machine.
    worker_devices: int | None = Field(default=None, ge=1)
    # Fair queueing of studies: at most this many cells of one study are queued or running at
    # a time; the rest wait as pending cells, submitted as others end (docs/studies.md).
    study_max_active_cells: int = Field(default=2, ge=1)
    # A job process rides out a database outage this long at its start and end (training
    # itself never waits for the database); the API's 503s ask clients to retry after this.
    db_outage_max_s: float = 900.0
    db_retry_after_s: int = 5
    # Tokenizer for the token-length statistics of uploads: a model reference, or "bytes".
    stats_tokenizer: str = "demo:smollm2-135m"
    cors_origins: list[str] = []
    # The inference service (`python -m worker.inference`) that answers the playground and the
    # OpenAI-compatible /v1 endpoints; `studio up` starts one and sets this. Empty: none, and
    # those endpoints answer 503 saying so (docs/integrations.md).
    inference_url: str = ""
    inference_timeout_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and self.admin_password in PLACEHOLDER_SECRETS:
            raise ValueError(
                "STUDIO_ADMIN_PASSWORD is a placeholder; set a real secret in production"
            )
        if self.admin_password not in UNSET_PASSWORDS:
            reason = weak_password_reason(self.admin_password, self.admin_email)
            if reason:  # in every environment: a development studio can still be reachable
                raise ValueError(
                    f"STUDIO_ADMIN_PASSWORD is too weak ({reason}); use at least "
                    f"{MIN_ADMIN_PASSWORD} characters, or leave it unset outside production "
                    "and studio up generates one"
                )
        return self

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @cached_property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'studio.db'}"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @property
    def datasets_dir(self) -> Path:
        return self.storage_dir / "datasets"

    @property
    def artifacts_dir(self) -> Path:
        return self.storage_dir / "artifacts"

    @property
    def benchmarks_store(self) -> Path:
        """Imported benchmark sets, kept in the LLM-Adapters layout the engine reads."""
        return self.storage_dir / "benchmarks"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"


settings = Settings()


def reload_settings() -> Settings:
    """Re-reads the environment (tests and `studio up` set it before building the app)."""
    global settings
    settings = Settings()
    return settings
