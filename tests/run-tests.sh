#!/usr/bin/env bash
# The one test command (README.md): installs what the tests need on a fresh machine with only the
# .NET 10 SDK and Node 20, runs every test in Referral.sln, and ends with the line
# "N passed, N failed" (", N skipped" when any were) counted from the run's TRX results.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Browser tests drive Debian's Chromium; a browser download never works here.
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# The tests of several smart-app instances share a real Redis (Debian's redis-server), started by their fixture.
if [ ! -x /usr/bin/redis-server ]; then
  echo "Installing Debian's redis-server for the tests of several instances..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
fi

# The journey test keeps a picture of each report PDF's first page, drawn by poppler's pdftoppm.
if [ ! -x /usr/bin/pdftoppm ]; then
  echo "Installing Debian's poppler-utils (pdftoppm) for the report pictures..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq poppler-utils >/dev/null
fi

# Azurite (infra/local/package.json, pinned by its lockfile). The tests would install it too;
# doing it once here keeps the test run's own time for tests.
if [ ! -f infra/local/node_modules/azurite/package.json ]; then
  echo "Installing Azurite (npm ci in infra/local)..."
  (cd infra/local && npm ci --no-audit --no-fund --loglevel=error)
fi

# The one clock of the test run (tests/Referral.Tests/Infrastructure/TestClock.cs) starts at the machine's now unless
# REFERRAL_TEST_CLOCK says otherwise: a UTC time of day (HH:mm, the next one to come) or an ISO-8601 instant.
if [ -n "${REFERRAL_TEST_CLOCK:-}" ]; then
  clock_start="$REFERRAL_TEST_CLOCK"
  if [[ "$REFERRAL_TEST_CLOCK" =~ ^[0-9]{2}:[0-9]{2}$ ]]; then
    clock_start=$(date -u -d "today $REFERRAL_TEST_CLOCK" +%s)
    if [ "$clock_start" -le "$(date -u +%s)" ]; then clock_start=$((clock_start + 86400)); fi
    clock_start=$(date -u -d "@$clock_start" +%Y-%m-%dT%H:%MZ)
  fi
  echo "Test clock: REFERRAL_TEST_CLOCK=$REFERRAL_TEST_CLOCK, so the tests' clock starts at $clock_start (the machine's: $(date -u +%Y-%m-%dT%H:%MZ))"
fi

# Each host the tests start would watch its appsettings files for changes, and a test run starts hundreds of hosts at
# once across its assemblies: the watchers ran out of the user's inotify instances (128 by default on Linux). No test
# edits a settings file while its app runs, so the hosts read their configuration once.
export DOTNET_hostBuilder__reloadConfigOnChange=false

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

status=0
dotnet test Referral.sln --configuration Release --logger "trx" --results-directory "$results" "$@" || status=$?

# Sum the counters of every TRX file the run wrote (one per test assembly).
passed=0 failed=0 skipped=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" || true)
  value() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  skipped=$((skipped + $(value notExecuted)))
done

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The run failed outside any test (build error, crashed test host): count it, never report green.
  failed=1
fi

summary="$passed passed, $failed failed"
if [ -n "${REFERRAL_TEST_CLOCK:-}" ]; then
  echo "Test clock: REFERRAL_TEST_CLOCK=$REFERRAL_TEST_CLOCK (started at $clock_start)"
fi
if [ "$skipped" -gt 0 ]; then
  summary="$summary, $skipped skipped"
fi
echo "Screenshots and other test artifacts: $root/artifacts/tests"
echo "$summary"
exit "$status"
