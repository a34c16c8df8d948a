#!/usr/bin/env bash
# The README's test command (and CI's): installs what is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/services.sh  # PostgreSQL and Redis: started where they are not running
export STUDIO_MODEL_CACHE=${STUDIO_MODEL_CACHE:-$PWD/.cache/models}
.venv/bin/ruff check worker backend alembic tests bench
.venv/bin/lint-imports  # the import contracts in pyproject.toml: layers that import one way
.venv/bin/mypy  # worker/ and backend/; strict (disallow_untyped_defs) on worker.engine
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
# The dashboard: generated client up to date, types, unit tests, build, browser end to end.
bash scripts/test_frontend.sh
