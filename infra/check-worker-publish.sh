#!/usr/bin/env bash
# Publishes the background functions' worker (functions/Worker) and checks the listing the Functions host needs:
# functions.metadata naming the five functions, worker.config.json, extensions.json, host.json, and .azurefunctions/
# with the storage-queue extension the queue triggers run on. Used by .ci/run; prints what is missing and fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/artifacts/worker-publish"
rm -rf "$out"
dotnet publish "$root/functions/Worker/Referral.Worker.csproj" --configuration Release --output "$out" --nologo --verbosity quiet

missing=0
need() { if [ ! -e "$out/$1" ]; then echo "worker publish: $1 is missing" >&2; missing=1; fi; }
need functions.metadata
need worker.config.json
need extensions.json
need host.json
need Referral.Worker.dll
need .azurefunctions
if ! ls "$out/.azurefunctions" 2>/dev/null | grep -q '^Microsoft\.Azure\.WebJobs\.Extensions\.Storage\.Queues\.dll$'; then
  echo "worker publish: .azurefunctions/ holds no Microsoft.Azure.WebJobs.Extensions.Storage.Queues.dll" >&2
  missing=1
fi
for function in referral-notify ehr-writeback referral-reminders table-backup token-replay-purge poison-archive; do
  if ! grep -q "\"name\": *\"$function\"" "$out/functions.metadata" 2>/dev/null; then
    echo "worker publish: functions.metadata does not name $function" >&2
    missing=1
  fi
done
if ! grep -q '"Referral.Worker.dll"\|Referral.Worker' "$out/worker.config.json" 2>/dev/null; then
  echo "worker publish: worker.config.json does not start Referral.Worker" >&2
  missing=1
fi
if [ "$missing" -ne 0 ]; then exit 1; fi
echo "worker publish: functions.metadata, worker.config.json, extensions.json, host.json and .azurefunctions/ (queue extension) are in $out"
