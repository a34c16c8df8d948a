#!/usr/bin/env bash
# Resident memory of one idle API process: uvicorn serving create_app on a fresh SQLite studio,
# after startup, having answered only /api/v1/health. Prints VmRSS (MB) and whether torch or
# transformers were loaded. Usage: bash bench/api_rss.sh [ROUNDS]   (run from the repo root)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
py=.venv/bin/python
for i in $(seq "$rounds"); do
  data=$(mktemp -d)
  export STUDIO_DATA_DIR=$data STUDIO_DATABASE_URL= STUDIO_BROKER_URL= STUDIO_STATS_TOKENIZER=bytes
  "$py" -c "from backend.app.core.config import settings
from backend.app.embedded import migrate
settings.data_dir.mkdir(parents=True, exist_ok=True)
migrate(settings)"
  port=$("$py" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  "$py" -m uvicorn backend.app.main:app --port "$port" --log-level warning &
  pid=$!
  for _ in $(seq 300); do
    curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  sleep 3  # let startup finish (the reaper's first pass) before reading
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  maps=$(cat "/proc/$pid/maps")
  torch=no; grep -q "libtorch" <<<"$maps" && torch=yes
  echo "round $i: VmRSS $((rss / 1024)) MB  (libtorch mapped: $torch)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
done
