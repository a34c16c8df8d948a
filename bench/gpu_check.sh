#!/usr/bin/env bash
# The GPU check in one go: install the carried wheels, run the GPU tests, then the GPU
# benchmarks, and write every figure to $OUT/gpu_check.json and the whole output to
# $OUT/gpu_check.log. Sized for the device machine's limits (docs/gpu.md): ~8 minutes end to end,
# each part under its own timeout so a hang in one still leaves the others' figures.
#
# On the GPU machine (after `bash bench/gpu_wheels.sh` here; the device tool carries .whl):
#     bash bench/gpu_check.sh
# Rehearsal on a CPU (GPU parts skipped; the benchmark's --small mode runs instead):
#     OUT=runs/gpu_check PYTHON=.venv/bin/python bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/runs/gpu_check}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
: > "$LOG"
PY=${PYTHON:-python3}
TESTS_TIMEOUT=${GPU_CHECK_TESTS_TIMEOUT:-270}
BENCH_TIMEOUT=${GPU_CHECK_BENCH_TIMEOUT:-240}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
started=$(date +%s)
say() { echo "[gpu_check $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

# 1. Wheels: into a folder of their own, ahead of the machine's packages on PYTHONPATH.
SITE=${GPU_CHECK_SITE:-/tmp/site}
install_rc=0
py312() { "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; }
if compgen -G ".whl/*.whl" > /dev/null && ! py312; then
  say "the wheels in .whl/ are for Python 3.12, not $("$PY" -V 2>&1): using the interpreter's own packages"
  export PYTHONPATH=$ROOT
elif compgen -G ".whl/*.whl" > /dev/null; then
  say "installing $(ls .whl/*.whl | wc -l) carried wheels into $SITE"
  "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
    --no-cache-dir --upgrade --target "$SITE" .whl/*.whl >> "$LOG" 2>&1
  install_rc=$?
  export PYTHONPATH=$SITE:$ROOT
else
  say "no .whl/ folder: using the interpreter's own packages"
  export PYTHONPATH=$ROOT
fi

# 2. What this machine is (versions, GPU, whether the project imports).
"$PY" - > "$OUT/env.json" 2>> "$LOG" <<'PYEOF'
import importlib.metadata as md, json, platform, sys
import torch
env = {"python": sys.version.split()[0], "torch": torch.__version__,
       "cuda_available": torch.cuda.is_available(), "cuda": torch.version.cuda,
       "platform": platform.platform()}
for name in ("transformers", "peft", "accelerate", "bitsandbytes", "pydantic", "tokenizers"):
    try:
        env[name] = md.version(name)
    except md.PackageNotFoundError:
        env[name] = None
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    env.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1),
               multiprocessors=p.multi_processor_count, bf16=torch.cuda.is_bf16_supported())
try:
    import worker.engine.training  # noqa: F401  the project imports with these versions
    env["project_imports"] = True
except Exception as e:  # noqa: BLE001  reported, not raised: the JSON says why
    env["project_imports"] = f"{type(e).__name__}: {e}"
print(json.dumps(env))
PYEOF
say "environment: $(cat "$OUT/env.json")"

# 3. The GPU tests (their CPU variants run on a CPU; the rest skip there).
say "GPU tests (timeout ${TESTS_TIMEOUT}s)"
timeout "$TESTS_TIMEOUT" "$PY" -m pytest tests/gpu -p no:cacheprovider -q -rs \
  --junitxml="$OUT/gpu_tests.xml" -o junit_family=xunit2 2>&1 | tee -a "$LOG"
tests_rc=${PIPESTATUS[0]}
say "GPU tests exit code $tests_rc"

# 4. The GPU benchmarks (without CUDA: the --small rehearsal, CPU figures labelled as such).
bench_args=()
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  # The CPU rehearsal: a shared, loaded CPU needs longer for even the small model.
  bench_args=(--small)
  BENCH_TIMEOUT=${GPU_CHECK_BENCH_TIMEOUT:-420}
fi
say "GPU benchmarks ${bench_args[*]} (timeout ${BENCH_TIMEOUT}s)"
timeout "$BENCH_TIMEOUT" "$PY" bench/gpu_bench.py "${bench_args[@]}" --json "$OUT/gpu_bench.json" \
  --profile "$OUT/profile.txt" \
  2>&1 | tee -a "$LOG"
bench_rc=${PIPESTATUS[0]}
say "GPU benchmarks exit code $bench_rc"

# 5. One JSON with every figure.
"$PY" - "$OUT" "$install_rc" "$tests_rc" "$bench_rc" "$(( $(date +%s) - started ))" >> "$LOG" 2>&1 <<'PYEOF'
import json, sys, xml.etree.ElementTree as ET
from pathlib import Path

out, install_rc, tests_rc, bench_rc, seconds = Path(sys.argv[1]), *map(int, sys.argv[2:])

def read_json(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError) as e:
        return {"error": f"{name}: {e}"}

env = read_json("env.json")
tests = []
try:
    for case in ET.parse(out / "gpu_tests.xml").iter("testcase"):
        outcome, detail = "passed", None
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                detail = (node.get("message") or "")[:500]
        tests.append({"test": f"{case.get('classname')}::{case.get('name')}",
                      "outcome": outcome, "seconds": float(case.get("time") or 0), "detail": detail})
except (OSError, ET.ParseError) as e:
    tests.append({"test": "(junit xml)", "outcome": "error", "detail": str(e)})
counts = {k: sum(t["outcome"] == k for t in tests) for k in ("passed", "failed", "error", "skipped")}
cuda = env.get("cuda_available") is True
report = {
    "status": "ran on CUDA" if cuda else "skipped: no CUDA (CPU rehearsal: GPU tests skipped, "
              "benchmark in --small mode on the CPU)",
    "seconds": seconds,
    "exit_codes": {"install": install_rc, "tests": tests_rc, "bench": bench_rc},
    "environment": env,
    "tests": {"counts": counts, "cases": tests},
    "bench": read_json("gpu_bench.json"),
}
(out / "gpu_check.json").write_text(json.dumps(report, indent=2))
print(f"[gpu_check] {report['status']}; tests {counts}; {seconds} s; wrote {out / 'gpu_check.json'}")
PYEOF
tail -1 "$LOG"
# Failing tests or benchmarks fail the check; a skipped GPU part does not.
[ "$install_rc" -eq 0 ] && [ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
