"""Upload validation: time against rows (new vs. the seed code) and a real server's memory.

1. Time. JSON Lines files of 10,000 to 100,000 instruction records in which every record
   appears twice (half the rows are duplicates, dropped with a warning) are read, validated
   and normalised as an upload is: by the current `DatasetReader`, and by the seed
   implementation, i.e. `worker/engine/data.py` as it was at commit SEED_COMMIT (before this
   rewrite), loaded from git history at run time (`git show`) — the seed service path
   (decode, `parse_records`, `validate_records`, `drop_warned`, `normalise`). The seed
   validator re-counted every problem found so far for each row, so its time grows with the
   square of the duplicates; it is only run up to `--seed-max-rows` (default 40,000; about
   half a minute there, more on a loaded machine) and extrapolated as n^2 beyond (marked
   "~"), the current code is run at every size.
2. Memory. A real `uvicorn backend.app.main:app` process (SQLite, embedded broker, a
   temporary data folder) gets a ~50 MB JSON Lines upload (just under the 50 MiB limit)
   posted over HTTP while its resident memory (VmRSS) is sampled every 10 ms. "Idle" is the
   RSS after a warm-up upload of 100 records (imports and the statistics tokenizer loaded).
   With `--seed-memory` the same is done for a server running the seed commit's backend/ and
   worker/ (exported with `git archive`).

Prints the CPU model (lscpu), whether bf16 units are present, and the load average before and
after, since this machine is shared.

    .venv/bin/python bench/upload_validation.py                  # 2-4 minutes (2 cores)
    .venv/bin/python bench/upload_validation.py --seed-memory    # + the seed server, ~3 min
    .venv/bin/python bench/upload_validation.py --no-memory --sizes 100000 --seed-max-rows 0
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED_COMMIT = "7b3dbb9"  # main before the one-pass reader (quadratic duplicate counting)
UPLOAD_BYTES = 50 * 1024 * 1024 - 64 * 1024  # just under STUDIO_MAX_UPLOAD_BYTES' default


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def has_bf16() -> bool:
    flags = Path("/proc/cpuinfo").read_text()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def load_seed_module() -> ModuleType:
    """The seed commit's worker/engine/data.py as a module of the worker.engine package."""
    source = subprocess.run(
        ["git", "show", f"{SEED_COMMIT}:worker/engine/data.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The functions measured do not use prompts; the prompt code may have moved since.
    source = source.replace("from .prompts import build_prompt\n", "")
    spec = importlib.util.spec_from_loader("worker.engine._seed_data", loader=None)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    module.__package__ = "worker.engine"
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, f"{SEED_COMMIT}:worker/engine/data.py", "exec"), module.__dict__)  # noqa: S102
    return module


def record(i: int) -> dict[str, str]:
    a, b = i * 7 % 1000, i * 13 % 997
    return {
        "instruction": f"Tom has {a} marbles and finds {b} more in record {i}. "
        "How many marbles does he have now? Explain each step of the working.",
        "input": "",
        "output": f"Tom starts with {a} marbles. He finds {b} more, so he has {a} + {b} = "
        f"{a + b} marbles. The answer is {a + b}.",
        "answer": str(a + b),
    }


def jsonl_with_duplicates(rows: int) -> bytes:
    """`rows` records where each distinct record appears twice (the second is a duplicate)."""
    lines = [json.dumps(record(i // 2)) for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def time_new(content: bytes, rounds: int = 3) -> tuple[float, int]:
    """Best of `rounds` (the machine is shared; the seed code is timed once, it is slow)."""
    from worker.engine.data import DatasetReader

    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        reader = DatasetReader(io.BytesIO(content), "bench.jsonl")
        kept = list(reader)
        best = min(best, time.perf_counter() - start)
        assert not reader.errors, reader.errors[:3]
    return best, len(kept)


def time_seed(seed: ModuleType, content: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    text = content.decode("utf-8-sig")
    fmt = seed.detect_format("bench.jsonl", text)
    records, problems = seed.parse_records(text, fmt)
    problems = problems + seed.validate_records(records)
    assert not [p for p in problems if p.severity == "error"]
    kept = [seed.normalise(r) for r in seed.drop_warned(records, problems)]
    return time.perf_counter() - start, len(kept)


def bench_time(sizes: list[int], seed_max_rows: int) -> None:
    seed = load_seed_module()
    print(f"\n1. validation time (JSON Lines, every record twice; seed = {SEED_COMMIT} from git)")
    print(f"{'rows':>8} {'seed s':>8} {'new s':>8} {'ratio':>7}  kept  (new: best of 3)")
    time_new(jsonl_with_duplicates(1000))  # imports and first calls out of the figures
    largest: tuple[int, float] | None = None
    for rows in sizes:
        content = jsonl_with_duplicates(rows)
        new_s, kept = time_new(content)
        if rows <= seed_max_rows:
            seed_s, seed_kept = time_seed(seed, content)
            assert seed_kept == kept, (seed_kept, kept)
            print(f"{rows:>8,} {seed_s:>8.2f} {new_s:>8.2f} {seed_s / new_s:>6.0f}x  {kept:,}")
            largest = (rows, seed_s)
        elif largest:
            # The seed's time is quadratic in the duplicates: scaled from the largest size run.
            guess = largest[1] * (rows / largest[0]) ** 2
            print(
                f"{rows:>8,} {f'~{guess:.1f}':>8} {new_s:>8.2f} {guess / new_s:>6.0f}x  {kept:,}"
                f"  (seed extrapolated from {largest[0]:,} rows as n^2)"
            )
        else:
            print(f"{rows:>8,} {'-':>8} {new_s:>8.2f} {'':>7}  {kept:,}")


# --- memory of a real server --------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)


def write_upload_file(path: Path) -> int:
    """~50 MB of distinct records (so the seed server's validation stays linear too)."""
    rows = 0
    with path.open("wb") as f:
        while f.tell() < UPLOAD_BYTES - 1024:
            f.write((json.dumps(record(rows)) + "\n").encode())
            rows += 1
    return rows


def serve_and_upload(
    code_dir: Path, work: Path, big: Path, tokenizer: str, single: Path | None = None
) -> dict:
    import httpx

    data = work / "data"
    env = {
        **os.environ,
        "PYTHONPATH": str(code_dir),
        "STUDIO_ENVIRONMENT": "test",
        "STUDIO_DATA_DIR": str(data),
        "STUDIO_DATABASE_URL": f"sqlite:///{work / 'studio.db'}",
        "STUDIO_BROKER_URL": "",
        "STUDIO_STATS_TOKENIZER": tokenizer,
    }
    setup = (
        "from backend.app.core.config import Settings\n"
        "from backend.app.core.db import session_scope\n"
        "from backend.app.embedded import migrate\n"
        "from backend.app.services.accounts import create_team, create_user, issue_token\n"
        "s = Settings(); s.data_dir.mkdir(parents=True, exist_ok=True); migrate(s)\n"
        "with session_scope(s.sqlalchemy_url) as db:\n"
        "    u = create_user(db, 'bench@example.com', 'bench-password-1', 'Bench')\n"
        "    create_team(db, 'bench', u)\n"
        "    print(issue_token(db, u, 'bench')[1])\n"
    )
    token = subprocess.run(
        [sys.executable, "-c", setup], cwd=code_dir, env=env, capture_output=True, text=True
    )
    if token.returncode:
        raise RuntimeError(token.stderr[-2000:])
    headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.app.main:app", "--port", str(port),
         "--log-level", "warning"],
        cwd=code_dir,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
            for _ in range(300):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            small = "\n".join(json.dumps(record(i)) for i in range(100))
            r = client.post("/datasets", files={"file": ("warm.jsonl", small)})
            assert r.status_code == 201, r.text
            time.sleep(1)
            idle = rss_mb(server.pid)
            sampler = RssSampler(server.pid)
            sampler.start()
            start = time.perf_counter()
            with big.open("rb") as f:
                r = client.post("/datasets", files={"file": ("big.jsonl", f)})
            seconds = time.perf_counter() - start
            sampler.running = False
            sampler.join()
            assert r.status_code == 201, r.text[:500]
            result = {
                "idle": idle,
                "peak": sampler.peak,
                "seconds": seconds,
                "rows": r.json()["row_count"],
            }
            if single is not None:  # one 20 MB record: refused once past the record bound
                sampler = RssSampler(server.pid)
                sampler.start()
                with single.open("rb") as f:
                    r = client.post("/datasets", files={"file": ("one.jsonl", f)})
                sampler.running = False
                sampler.join()
                result["single_status"] = r.status_code
                result["single_above_idle"] = sampler.peak - idle
                result["single_detail"] = r.json()["problems"][0]["message"][:80]
            return result
    finally:
        server.terminate()
        server.wait(30)


def bench_memory(tokenizer: str, seed_memory: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        work = Path(tmp)
        big = work / "big.jsonl"
        rows = write_upload_file(big)
        size = big.stat().st_size
        single = work / "one.jsonl"
        single.write_text(json.dumps({"instruction": "x" * 20_000_000, "output": "y"}) + "\n")
        print(f"\n2. memory of a uvicorn server during a {size / 2**20:.1f} MiB upload")
        print(f"   ({rows:,} records, JSON Lines; statistics tokenizer {tokenizer})")
        runs = {"new": REPO}
        if seed_memory:
            seed_dir = work / "seed"
            seed_dir.mkdir()
            archive = subprocess.run(
                ["git", "archive", SEED_COMMIT, "backend", "worker", "alembic", "alembic.ini"],
                cwd=REPO,
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(seed_dir)], input=archive, check=True)
            runs["seed"] = seed_dir
        print(f"{'code':>6} {'idle MB':>8} {'peak MB':>8} {'above idle':>11} {'upload s':>9}")
        for label, code_dir in runs.items():
            run_dir = work / label
            run_dir.mkdir(exist_ok=True)
            m = serve_and_upload(
                code_dir, run_dir, big, tokenizer, single if label == "new" else None
            )
            assert m["rows"] == rows, m
            print(
                f"{label:>6} {m['idle']:>8.0f} {m['peak']:>8.0f} {m['peak'] - m['idle']:>10.0f}"
                f" {m['seconds']:>9.1f}"
            )
            if "single_status" in m:
                print(
                    f"         a single 20 MB record: {m['single_status']}, "
                    f"{m['single_above_idle']:.0f} MB above idle ({m['single_detail']})"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,20000,40000,100000")
    ap.add_argument("--seed-max-rows", type=int, default=40_000)
    ap.add_argument("--seed-memory", action="store_true", help="also measure the seed server")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--tokenizer", default="demo:smollm2-135m", help="STUDIO_STATS_TOKENIZER")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()} (bf16 units: {'yes' if has_bf16() else 'no'}), "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    bench_time([int(x) for x in args.sizes.split(",")], args.seed_max_rows)
    if not args.no_memory:
        bench_memory(args.tokenizer, args.seed_memory)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
