#!/usr/bin/env bash
# The README's test command (and CI's): installs what is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export STUDIO_MODEL_CACHE=${STUDIO_MODEL_CACHE:-$PWD/.cache/models}
.venv/bin/ruff check worker tests bench
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
