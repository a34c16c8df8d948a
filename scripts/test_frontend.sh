#!/usr/bin/env bash
# The dashboard's checks: generated client up to date, types, unit tests, build, and the
# end-to-end test (real `studio up`, Debian's Chromium). Called by scripts/test.sh after pytest;
# runs unattended (CI=true, no stdin) and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Chromium (Debian package; playwright never downloads a browser here)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y chromium </dev/null || {
    $SUDO apt-get update </dev/null
    $SUDO apt-get install -y chromium </dev/null
  }
fi

cd frontend
# npm ci only when node_modules is missing or package-lock.json changed since the last install.
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund </dev/null
  echo "$want" > "$stamp"
fi

echo "== generated API client matches openapi.json"
npm run --silent check-client </dev/null
echo "== type-check"
npm run --silent typecheck </dev/null
echo "== unit tests"
npm test </dev/null
echo "== build"
npm run build </dev/null
echo "== end-to-end"
npm run e2e </dev/null
