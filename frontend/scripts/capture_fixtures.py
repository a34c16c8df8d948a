"""Captures the dashboard's unit-test fixtures (src/test/fixtures/*.json) from the real API.

The fixtures are answers of the service itself (in-process, an SQLite file, the catalogue the
engine builds), so the unit tests run against the shapes the generated client describes rather
than hand-written ones. Run from the repository root after changing a catalogue or the job
config, and commit the changed files:

    STUDIO_TEST_REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python frontend/scripts/capture_fixtures.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from backend.app.core.config import Settings  # noqa: E402
from backend.app.core.db import session_scope  # noqa: E402
from backend.app.embedded import migrate  # noqa: E402
from backend.app.main import create_app  # noqa: E402
from backend.app.services.accounts import create_team, create_user, issue_token  # noqa: E402

OUT = REPO / "frontend" / "src" / "test" / "fixtures"
BENCHMARKS = REPO.parent / "shared" / "datasets" / "llm-adapters"
MODELS = {
    "demo:smollm2-135m": "SmolLM2-135M-Instruct (demo)",
    "tiny:llama": None,
    "tiny:gpt2": None,
}

# A job set through REST with fields the New job form does not show, for the clone test.
REST_JOB = {
    "name": "rest-series",
    "base_model": "tiny:llama",
    "adapter": {
        "method": "series",
        "placement": {"modules": ["mlp"], "layers": [1], "position": "after"},
        "params": {"bottleneck_size": 8},
    },
    "training": {
        "max_steps": 6,
        "batch_size": 4,
        "micro_batch_size": 2,
        "prompt_template": "chat",
        "lr_scheduler": "cosine",
        "weight_decay": 0.01,
        "save_steps": 3,
    },
    "evaluation": {
        "benchmarks": ["svamp"],
        "every_n_steps": 2,
        "batch_size": 2,
        "decoding": {"max_new_tokens": 4},
    },
}


def write(name: str, body: object) -> None:
    (OUT / name).write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT / name}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            environment="test",
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{Path(tmp) / 'studio.db'}",
            broker_url=os.environ.get("STUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/5"),
            stats_tokenizer="bytes",
        )
        settings.data_dir.mkdir(parents=True)
        migrate(settings)
        with session_scope(settings.sqlalchemy_url) as s:
            admin = create_user(s, "admin@example.com", "admin-password", "Ada", is_admin=True)
            team = create_team(s, "team-a", admin)
            team_id = team.id
            token = issue_token(s, admin, "fixtures")[1]
        h = {"Authorization": f"Bearer {token}"}

        def call(method: str, path: str, **kw: object) -> object:
            r = client.request(method, f"/api/v1{path}", headers=h, **kw)  # type: ignore[arg-type]
            assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
            return r.json()

        with TestClient(create_app(settings)) as client:
            for reference, label in MODELS.items():
                call("POST", "/models", json={"reference": reference, "label": label})
            call("POST", "/benchmarks/import", json={"folder": str(BENCHMARKS)})
            rows = "\n".join(
                json.dumps({"instruction": f"What is {a} + 1?", "output": str(a + 1)})
                for a in range(8)
            )
            dataset = call("POST", "/datasets", files={"file": ("tiny.jsonl", rows)})
            write("models.json", call("GET", "/models"))
            write("methods.json", call("GET", "/methods"))
            write("benchmarks.json", call("GET", "/benchmarks"))
            write("datasets.json", call("GET", "/datasets"))
            write("defaults.json", call("GET", "/jobs/defaults"))
            config = {**REST_JOB, "dataset_id": dataset["id"]}  # type: ignore[index]
            job = call("POST", "/jobs", json={"team_id": team_id, "config": config})
            call("POST", f"/jobs/{job['id']}/cancel")  # type: ignore[index]
            write("job.json", call("GET", f"/jobs/{job['id']}"))  # type: ignore[index]
            # The New study screen: the presets, one built at a small scale, and its plan.
            write("study_presets.json", call("GET", "/studies/presets"))
            scale = {
                "base_model": "tiny:llama",
                "dataset_id": dataset["id"],  # type: ignore[index]
                "steps": 4,
                "eval_examples": 4,
                "benchmarks": ["svamp"],
                "seeds": [1],
                "decoding": "fast",
            }
            built = call("POST", "/studies/presets/lora-rank", json=scale)
            write("study_preset_built.json", built)
            plan = call("POST", "/studies/plan", json={**built, "preset": "lora-rank"})  # type: ignore[dict-item]
            write("study_plan.json", plan)


if __name__ == "__main__":
    main()
