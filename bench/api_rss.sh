#!/usr/bin/env bash
# Resident memory of one idle API process, after startup, having answered only /api/v1/health:
#   bash bench/api_rss.sh [ROUNDS]        uvicorn serving create_app on a fresh SQLite studio
#   bash bench/api_rss.sh [ROUNDS] --up   `studio up`'s own process (the API; the worker is its child)
# Prints VmRSS (MB) and whether libtorch is mapped. Run from anywhere; uses the repo's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
mode=${2:-uvicorn}
py=.venv/bin/python
for i in $(seq "$rounds"); do
  data=$(mktemp -d)
  port=$("$py" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  export STUDIO_DATABASE_URL= STUDIO_BROKER_URL= STUDIO_STATS_TOKENIZER=bytes
  if [ "$mode" = "--up" ]; then
    "$py" -m worker.cli up --port "$port" --data-dir "$data/studio" >"$data/up.log" 2>&1 &
  else
    export STUDIO_DATA_DIR=$data
    "$py" -c "from backend.app.core.config import settings
from backend.app.embedded import migrate
settings.data_dir.mkdir(parents=True, exist_ok=True)
migrate(settings)"
    "$py" -m uvicorn backend.app.main:app --port "$port" --log-level warning &
  fi
  pid=$!
  for _ in $(seq 900); do
    curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  sleep 3  # let startup finish (the reaper's first pass) before reading
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  torch=no
  grep -q libtorch "/proc/$pid/maps" && torch=yes
  echo "round $i ($mode): VmRSS $((rss / 1024)) MB  (libtorch mapped: $torch)"
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
done
