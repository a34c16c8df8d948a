"""`studio up`: the embedded default (SQLite, a broker with no server, one local worker), run as
a user would, then the same end-to-end flow as the distributed test."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backend.app.embedded import WORKER_GRACE_S

from .conftest import SHARED, arithmetic_jsonl, tiny_job_config, upload
from .stack import REPO, free_port, healthy, wait_for
from .test_worker_e2e import follow


def start_studio(
    tmp_path: Path,
    cwd: Path = REPO,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen, int, str]:
    """`studio up` on a free port with its data in tmp_path/studio, started from `cwd` (with
    `extra_env` on top of the embedded defaults); returns (process, port, API token) once it
    has printed the token and answers."""
    port = port or free_port()
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("STUDIO_") and k != "STUDIO_MODEL_CACHE"]:
        del env[key]  # nothing from the distributed tests: the embedded defaults only
    env.update(STUDIO_STATS_TOKENIZER="bytes", STUDIO_BENCHMARK_DIR=str(SHARED))
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    log = tmp_path / "up.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "studio"),
        ],
        env=env,
        cwd=cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        text = wait_for(
            lambda: "API token:" in (t := log.read_text(errors="replace")) and t,
            180,
            "studio up printed no token",
        )
        assert f"http://127.0.0.1:{port}" in text and "SQLite" in text
        assert re.search(r"sign in:\s+admin@studio\.local / \S+", text)  # a generated password
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), 60, "the API never answered")
    except BaseException:
        stop_studio(proc)
        raise
    return proc, port, re.search(r"API token: (sst_\S+)", text).group(1)


def stop_studio(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_studio_up_runs_a_job_end_to_end(tmp_path: Path):
    proc, port, token = start_studio(tmp_path)
    try:
        c = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        models = [m["reference"] for m in c.get("/api/v1/models").json()["data"]]
        assert "demo:smollm2-135m" in models  # registered by studio up
        imported = [b for b in c.get("/api/v1/benchmarks").json()["data"] if b["imported"]]
        assert len(imported) >= 10
        assert (tmp_path / "studio" / "studio.db").is_file()
        assert (tmp_path / "studio" / "broker" / "queue").is_dir()  # filesystem broker

        r = c.post("/api/v1/models", json={"reference": "tiny:llama"}, headers=c.headers)
        assert r.status_code == 201, r.text
        ds = upload(c, token, arithmetic_jsonl())
        assert ds.status_code == 201, ds.text
        r = c.post("/api/v1/jobs", json={"config": tiny_job_config(ds.json()["id"])})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        events = follow(c, job_id)
        assert events[-1] == ("end", {"status": "succeeded"})
        job = c.get(f"/api/v1/jobs/{job_id}").json()
        assert job["worker"].startswith("local@") and "svamp" in job["results"]
        curve = c.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
        assert [p["step"] for p in curve] == [0, 2, 4, 6]
        assert c.get(f"/api/v1/jobs/{job_id}/artifact").status_code == 200
        rows = c.get("/api/v1/leaderboard?scope=svamp").json()["data"]
        assert any(r["job_id"] == job_id for r in rows)
    finally:
        stop_studio(proc)
    # The local worker went down with it.
    out = subprocess.run(["pgrep", "-f", f"{tmp_path}/studio"], capture_output=True, text=True)
    assert out.stdout.strip() == "", "a worker outlived studio up"


def test_studio_up_writes_nothing_where_it_is_started(tmp_path: Path):
    """Every file of the studio, the filesystem broker's control folder included (kombu's default
    is ./control), lives in its data folder: the directory `studio up` is started from stays
    empty, and so does the repository, where the local worker runs."""
    start = tmp_path / "start"
    start.mkdir()
    repo_before = set(os.listdir(REPO))
    proc, port, token = start_studio(tmp_path, cwd=start)
    data = tmp_path / "studio"
    try:
        wait_for(
            lambda: b"ready." in (data / "worker.log").read_bytes(), 90, "the worker never started"
        )
        c = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert c.post("/api/v1/models", json={"reference": "tiny:llama"}).status_code == 201
        ds = upload(c, token, arithmetic_jsonl())
        assert ds.status_code == 201, ds.text
        # A job sent and cancelled at once: the API publishes (binding the gpu queue in the
        # control folder) and, while the job is queued, broadcasts a revoke.
        config = tiny_job_config(ds.json()["id"], evaluation={"benchmarks": []})
        config["training"]["max_steps"] = 400
        r = c.post("/api/v1/jobs", json={"config": config})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        assert c.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
        assert follow(c, job_id)[-1] == ("end", {"status": "cancelled"})
    finally:
        stop_studio(proc)
    assert sorted(p.name for p in start.iterdir()) == [], "studio up wrote into its start folder"
    assert set(os.listdir(REPO)) - repo_before == set(), "studio up wrote into the repository"
    assert (data / "broker" / "control" / "gpu.exchange").is_file()  # where it went instead


def _descendants(root: int) -> dict[int, str]:
    """PID -> command line of every process below `root`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = _cmdline(pid)
                frontier.append(pid)
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:  # a zombie has ended; only its parent's wait is missing
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_studio_up_stopped_by_a_signal_leaves_no_process(tmp_path: Path, sig: signal.Signals):
    """Stopped mid-job by SIGTERM (a service manager, `kill`) or SIGINT (Ctrl-C), `studio up`
    takes its worker and the job's process with it; before, SIGTERM left the worker running
    under PID 1. Its data folder is private (0700) and so is its database (0600)."""
    proc, port, token = start_studio(tmp_path)
    data = tmp_path / "studio"
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE((data / "studio.db").stat().st_mode) == 0o600
        c = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert c.post("/api/v1/models", json={"reference": "tiny:llama"}).status_code == 201
        ds = upload(c, token, arithmetic_jsonl())
        assert ds.status_code == 201, ds.text
        config = tiny_job_config(ds.json()["id"], evaluation={"benchmarks": []})
        config["training"]["max_steps"] = 100_000  # still training when the signal comes
        r = c.post("/api/v1/jobs", json={"config": config})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        tree = wait_for(
            lambda: (
                (t := _descendants(proc.pid))
                and any("worker.job_process" in cmd for cmd in t.values())
                and t
            ),
            120,
            "no job process started",
        )
        assert any("celery" in cmd for cmd in tree.values()), tree
        assert c.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"
    except BaseException:
        stop_studio(proc)
        raise
    proc.send_signal(sig)
    started = time.monotonic()
    proc.wait(60)
    left = wait_for(
        lambda: not any(_alive(pid) for pid in tree) or None,
        WORKER_GRACE_S + 15,
        "processes outlived studio up: "
        + ", ".join(f"{pid} {cmd}" for pid, cmd in tree.items() if _alive(pid)),
    )
    assert left
    took = time.monotonic() - started
    print(f"{sig.name}: studio up and {len(tree)} processes below it gone in {took:.1f} s")
