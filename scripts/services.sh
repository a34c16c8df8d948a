#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) answer;
# starts them (installing them first if needed) where they are not running. Used by the tests.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_isready >/dev/null || ! command -v redis-server >/dev/null; then
  echo "installing PostgreSQL and Redis (apt)..."
  as_root apt-get update -qq && as_root apt-get install -y -qq postgresql redis-server >/dev/null
fi

if ! pg_up; then
  echo "starting PostgreSQL..."
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
    data=/var/lib/postgresql/studio-test
    if [ ! -d "$data" ]; then
      as_root install -d -o postgres -g postgres "$data"
      as_root runuser -u postgres -- "$bin/initdb" -D "$data" -A trust >/dev/null
    fi
    as_root runuser -u postgres -- "$bin/pg_ctl" -D "$data" -w -o "-h 127.0.0.1 -p 5432" \
      -l "$data/server.log" start >/dev/null
  fi
  for _ in $(seq 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" \
  | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE test" >/dev/null
fi

if ! redis_up; then
  echo "starting Redis..."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/studio-redis.log
  for _ in $(seq 30); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }
