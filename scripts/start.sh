#!/usr/bin/env bash
# The README's start command: installs what is missing, then starts the studio (embedded mode:
# SQLite, a broker without a server, one local worker, the demo model). Extra arguments go to
# `studio up` (e.g. --port 8080, --data-dir DIR, --benchmarks DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -f frontend/package.json ] && [ ! -f frontend/dist/index.html ] && command -v npm >/dev/null; then
  echo "building the dashboard (first start only)..."
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi
exec .venv/bin/studio up "$@"
