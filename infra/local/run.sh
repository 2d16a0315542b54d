#!/usr/bin/env bash
# The one-command local run (README.md): Azurite, the sandbox EHR, the FHIR API (functions/), the background
# functions' worker (functions/Worker, without the Functions host: its local trigger runner polls the queues and
# fires the timers) and the smart-app, on loopback, in Development. Prints where to click; Ctrl-C stops everything it started.
#
# Ports (override with the environment):
#   SANDBOX_EHR_PORT=5100  SMART_APP_PORT=5200  FUNCTIONS_PORT=7071
#   AZURITE_BLOB_PORT=10000  AZURITE_QUEUE_PORT=10001  AZURITE_TABLE_PORT=10002  REDIS_PORT=6380
set -euo pipefail
set -m # each background job gets its own process group, so stopping one stops its children too

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

ehr_port=${SANDBOX_EHR_PORT:-5100}
app_port=${SMART_APP_PORT:-5200}
fn_port=${FUNCTIONS_PORT:-7071}
blob_port=${AZURITE_BLOB_PORT:-10000}
queue_port=${AZURITE_QUEUE_PORT:-10001}
table_port=${AZURITE_TABLE_PORT:-10002}
redis_port=${REDIS_PORT:-6380}

ehr_url="http://127.0.0.1:$ehr_port"
app_url="http://127.0.0.1:$app_port"
fn_url="http://127.0.0.1:$fn_port"

logs="$root/artifacts/local"
mkdir -p "$logs"

pids=()
stop_all() {
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    echo
    echo "Stopping..."
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_log() { # name text log
  local i
  for i in $(seq 1 240); do
    if grep -q "$2" "$3" 2>/dev/null; then return 0; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "$1 stopped while starting; its log ($3):" >&2
      tail -n 30 "$3" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$1 did not start within 2 minutes; see $3" >&2
  exit 1
}

wait_for_port() { # name port log
  local i
  for i in $(seq 1 240); do
    if port_answers "$2"; then return 0; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "$1 stopped while starting; its log ($3):" >&2
      tail -n 30 "$3" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$1 did not answer on port $2 within 2 minutes; see $3" >&2
  exit 1
}

for port in "$ehr_port" "$app_port" "$fn_port" "$blob_port" "$queue_port" "$table_port" "$redis_port"; do
  if port_answers "$port"; then
    echo "Port $port is already in use on 127.0.0.1: stop what uses it, or choose other ports (see the top of $0)." >&2
    exit 1
  fi
done

if [ ! -f infra/local/node_modules/azurite/package.json ]; then
  echo "Installing Azurite (npm ci in infra/local)..."
  (cd infra/local && npm ci --no-audit --no-fund --loglevel=error)
fi

# The smart-app keeps its sessions and Data Protection keys in Redis (Debian's redis-server), as in Azure.
if ! command -v redis-server >/dev/null; then
  echo "Installing Debian's redis-server..."
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
fi

echo "Building..."
dotnet build Referral.sln --nologo --verbosity quiet

echo "Starting Azurite..."
node infra/local/node_modules/azurite/dist/src/azurite.js \
  --blobHost 127.0.0.1 --blobPort "$blob_port" \
  --queueHost 127.0.0.1 --queuePort "$queue_port" \
  --tableHost 127.0.0.1 --tablePort "$table_port" \
  --inMemoryPersistence --disableTelemetry --skipApiVersionCheck \
  >"$logs/azurite.log" 2>&1 &
pids+=($!)
wait_for_port Azurite "$table_port" "$logs/azurite.log"
wait_for_port Azurite "$queue_port" "$logs/azurite.log"

echo "Starting Redis..."
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$logs/redis.log" 2>&1 &
pids+=($!)
wait_for_port Redis "$redis_port" "$logs/redis.log"

# Azurite's published development account: not a secret, it opens only the local emulator.
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
storage="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/$account;QueueEndpoint=http://127.0.0.1:$queue_port/$account;TableEndpoint=http://127.0.0.1:$table_port/$account;"

export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development

start_app() { # name project url log [env assignments...]
  local name=$1 project=$2 url=$3 log=$4
  shift 4
  echo "Starting $name..."
  env "$@" dotnet run --no-build --no-launch-profile --project "$project" --urls "$url" >"$log" 2>&1 &
  pids+=($!)
}

if [ -f infra/local/SandboxEhr/SandboxEhr.csproj ]; then
  # The apps are registered in the sandbox out of the box on the default ports; these keep them so on others.
  start_app "the sandbox EHR" infra/local/SandboxEhr "$ehr_url" "$logs/sandbox-ehr.log" \
    "Sandbox__BaseUrl=$ehr_url" \
    "Sandbox__Clients__0__LaunchUrl=$app_url/launch" \
    "Sandbox__Clients__0__RedirectUris__0=$app_url/callback" \
    "Sandbox__Clients__0__JwksUrl=$app_url/.well-known/jwks.json" \
    "Sandbox__Clients__1__JwksUrl=$fn_url/api/backend/jwks.json" \
    "Sandbox__Clients__2__RedirectUris__0=$app_url/signin-oidc" \
    "Sandbox__Clients__2__PostLogoutRedirectUris__0=$app_url/signout-callback-oidc" \
    "Sandbox__CdsServices=$fn_url"
  wait_for_port "The sandbox EHR" "$ehr_port" "$logs/sandbox-ehr.log"
fi

start_app "the FHIR API" functions "$fn_url" "$logs/functions.log" \
  "AzureWebJobsStorage=$storage" \
  "Auth__Physician__Issuer=$app_url" \
  "Auth__Physician__JwksUrl=$app_url/.well-known/api-jwks.json" \
  "Auth__Therapist__Authority=$ehr_url" \
  "CdsHooks__BaseUrl=$fn_url" \
  "CdsHooks__AppLaunchUrl=$app_url/launch" \
  "CdsHooks__Clients__0__Issuer=$ehr_url" \
  "CdsHooks__Clients__0__JwksUrl=$ehr_url/.well-known/jwks.json" \
  "CdsHooks__Clients__0__FhirServer=$ehr_url/fhir" \
  "Ehrs__0__Iss=$ehr_url/fhir"
wait_for_port "The FHIR API" "$fn_port" "$logs/functions.log"

# The worker listens on no port: it is up when its trigger runner says so. Started without the Functions host's
# arguments, it runs the local trigger runner (DESIGN.md §3). Not `dotnet run`: the Worker SDK makes that start the
# Functions Core Tools, which cannot be installed here; the built worker is started from its folder (its content root).
echo "Starting the background functions' worker..."
(cd functions/Worker && exec env "AzureWebJobsStorage=$storage" \
  "Ehrs__0__Iss=$ehr_url/fhir" \
  "SmartApp__BaseUrl=$app_url" \
  "Notifications__PickupFolder=$logs/mail" \
  dotnet bin/Debug/net10.0/Referral.Worker.dll) >"$logs/worker.log" 2>&1 &
pids+=($!)
wait_for_log "The worker" "Local trigger runner started" "$logs/worker.log"

start_app "the smart-app" smart-app "$app_url" "$logs/smart-app.log" \
  "App__BaseUrl=$app_url" \
  "Ehrs__0__Iss=$ehr_url/fhir" \
  "Functions__BaseUrl=$fn_url" \
  "Inbox__Authority=$ehr_url" \
  "Redis__Configuration=127.0.0.1:$redis_port"
wait_for_port "The smart-app" "$app_port" "$logs/smart-app.log"

cat <<MSG

Everything is running (logs in $logs):

  Sandbox EHR   $ehr_url        <- start here: pick a patient, press "Medical massage referral"
  smart-app     $app_url
  inbox         $app_url/inbox  <- therapists: sign in at the sandbox as one of its therapists
  FHIR API      $fn_url/api/health
  worker        queue and timer functions, fired by its local trigger runner (log: $logs/worker.log)
  mail          $logs/mail         (notifications, as .eml files)
  Redis         127.0.0.1:$redis_port   (the smart-app's sessions and Data Protection keys, encrypted)
  Azurite       tables 127.0.0.1:$table_port, queues 127.0.0.1:$queue_port, blobs 127.0.0.1:$blob_port
                connection string: $storage

Press Ctrl-C to stop everything.
MSG

# Stop everything as soon as any part stops on its own.
wait -n "${pids[@]}" || true
echo "A part of the local run stopped on its own; see the logs in $logs." >&2
exit 1
