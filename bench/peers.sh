#!/usr/bin/env bash
# The benchmarks' peer libraries (TRL and what it needs) in their own venv, bench/.venv-peers:
# never in the studio's .venv, whose pinned transformers/peft the studio is tested with.
# torch first and pinned, so pip takes the CPU build on this machine's disk, not a CUDA download.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv-peers/bin/python ] || "$PY" -m venv .venv-peers
.venv-peers/bin/pip install -qq --disable-pip-version-check torch==2.13.0
.venv-peers/bin/pip install -qq --disable-pip-version-check "trl==1.16.*" peft accelerate datasets
.venv-peers/bin/python -c "import trl, transformers, peft; print('bench/.venv-peers: trl', trl.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"
