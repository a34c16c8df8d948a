"""Experiment tracking through the worker path: `studio up` with STUDIO_MLFLOW_TRACKING_URI
set runs a job whose run lands on a real MLflow server, with TensorBoard files in its
artifacts (downloaded through the API); a job's own `tracking.mlflow` names its experiment."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx

from ..mlflow_server import PORT, running_mlflow_server
from .conftest import arithmetic_jsonl, tiny_job_config, upload
from .test_embedded import start_studio, stop_studio
from .test_worker_e2e import follow


def test_a_studio_job_is_logged_to_the_studios_mlflow_server(tmp_path: Path):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (tmp_path / "mlflow").mkdir()
    with running_mlflow_server(tmp_path / "mlflow", PORT + 2) as uri:
        proc, port, token = start_studio(tmp_path, extra_env={"STUDIO_MLFLOW_TRACKING_URI": uri})
        try:
            c = httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            r = c.post("/api/v1/models", json={"reference": "tiny:llama"})
            assert r.status_code == 201, r.text
            ds = upload(c, token, arithmetic_jsonl())
            assert ds.status_code == 201, ds.text
            config = tiny_job_config(
                ds.json()["id"],
                name="tracked-by-the-studio",
                tracking={"mlflow": {"experiment": "team-runs"}, "tags": {"ticket": "T-1"}},
            )
            r = c.post("/api/v1/jobs", json={"config": config})
            assert r.status_code == 201, r.text
            job_id = r.json()["id"]
            assert follow(c, job_id)[-1] == ("end", {"status": "succeeded"})
            curve = c.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
            board = c.get(f"/api/v1/jobs/{job_id}/tensorboard")
            assert board.status_code == 200, board.text
            zipfile.ZipFile(io.BytesIO(board.content)).extractall(tmp_path / "board")
            assert c.get("/api/v1/jobs/999999/tensorboard").status_code == 404
        finally:
            stop_studio(proc)

        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("team-runs")
        assert experiment is not None
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.run_name == "tracked-by-the-studio"
        assert run.info.status == "FINISHED"
        assert run.data.tags["ticket"] == "T-1"
        assert run.data.params["adapter.method"] == "adapterp"
        history = client.get_metric_history(run.info.run_id, "eval/svamp/accuracy")
        assert sorted((m.step, m.value) for m in history) == [
            (p["step"], p["accuracy"]) for p in curve
        ]
        assert client.list_artifacts(run.info.run_id, "adapter")

    # TensorBoard files in the job's artifacts (downloaded), with the same evaluation curve.
    acc = EventAccumulator(str(tmp_path / "board"))
    acc.Reload()
    points = [(e.step, e.value) for e in acc.Scalars("eval/svamp/accuracy")]
    assert [s for s, _ in points] == [p["step"] for p in curve]
