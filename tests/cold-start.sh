#!/usr/bin/env bash
# Cold start as App Service sees it (issue 17): publishes one app as it is deployed (Release, ReadyToRun), starts it
# against Azurite with its Development settings, and prints, for each run, the time from process start to the first
# 200 of its liveness endpoint. Usage: tests/cold-start.sh api|smart-app [runs, default 5]. Not part of the tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
app=${1:?usage: tests/cold-start.sh api|smart-app [runs]}
runs=${2:-5}
case "$app" in
  api) project=functions/Referral.Functions.csproj dll=Referral.Functions.dll live=/api/health/live ;;
  smart-app) project=smart-app/Referral.SmartApp.csproj dll=Referral.SmartApp.dll live=/health ;;
  *) echo "usage: tests/cold-start.sh api|smart-app [runs]" >&2; exit 2 ;;
esac

if [ ! -f "$root/infra/local/node_modules/azurite/package.json" ]; then
  (cd "$root/infra/local" && npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d)
dotnet publish "$root/$project" -c Release -o "$work/app" >/dev/null
"$root/infra/local/node_modules/.bin/azurite" --silent --location "$work/azurite" --skipApiVersionCheck >/dev/null 2>&1 &
azurite=$!
trap 'kill "$azurite" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 3

for run in $(seq 1 "$runs"); do
  port=$((7300 + run))
  started=$(date +%s%N)
  (cd "$work/app" && ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:$port" exec dotnet "$dll" >/dev/null 2>&1) &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port$live"; do
    kill -0 "$pid" 2>/dev/null || { echo "$app run $run: the app exited before answering" >&2; exit 1; }
    sleep 0.01
  done
  echo "$app run $run: $(( ($(date +%s%N) - started) / 1000000 )) ms to the first 200 of $live"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  sleep 2
done
