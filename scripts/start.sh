#!/usr/bin/env bash
# The README's start command: installs what is missing, then runs the studio's demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/studio demo "$@"
