#!/usr/bin/env bash
# `make run`: the whole access point on the embedded default (SQLite), fed by the demo CPO.
set -euo pipefail
cd "$(dirname "$0")/.."
NAP=.venv/bin/nap
export NAP_DATABASE_URL="${NAP_DATABASE_URL:-sqlite:///var/nap.sqlite3}"
DEMO_PORT="${DEMO_PORT:-8081}"
HUB_PORT="${HUB_PORT:-8082}"
WEB_PORT="${WEB_PORT:-8080}"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

mkdir -p var
export NAP_OUTBOUND_ALLOW="${NAP_OUTBOUND_ALLOW:-127.0.0.0/8}"  # the demo CPO is on loopback
$NAP db upgrade
.venv/bin/python -m demo_cpo --port "$DEMO_PORT" --locations 200 --ocpi-version 2.3.0 --seed 1 >var/demo-cpo.log 2>&1 &
pids+=($!)
# A roaming hub carrying half of the demo CPO's locations (a third of them told otherwise)
# and another party's: NAP merges the two sources (docs/merge-rules.md).
.venv/bin/python -m demo_cpo --port "$HUB_PORT" --locations 200 --ocpi-version 2.3.0 --seed 1 --token hub-token \
  --hub-party-id DEHUB --hub-party DE/ABC:100 --hub-party DE/XYZ --perturb 0.3 >var/demo-hub.log 2>&1 &
pids+=($!)
.venv/bin/python - "$DEMO_PORT" "$HUB_PORT" <<'PY'
import sys, time, httpx
for port in sys.argv[1:]:
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/ocpi/versions", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        sys.exit(f"the demo CPO on port {port} did not start: see var/demo-cpo.log and var/demo-hub.log")
PY
if ! $NAP feeds list | grep -q '^demo'; then
  $NAP feeds add --name demo --versions-url "http://127.0.0.1:${DEMO_PORT}/ocpi/versions" \
    --token demo-token --interval 5 --licence "CC0-1.0 (demo data)" --country-code DE --party-id ABC
fi
# The demo CPO publishes as DE/ABC; a database from before party claims has the feed without it.
$NAP parties verify demo DE/ABC >/dev/null
$NAP harvest demo
if ! $NAP feeds list | grep -q '^hub'; then
  $NAP feeds add --name hub --kind hub --versions-url "http://127.0.0.1:${HUB_PORT}/ocpi/versions" \
    --token hub-token --interval 5 --licence "CC0-1.0 (demo data)" --party DE:ABC --party DE:XYZ
fi
$NAP harvest hub
$NAP worker >var/worker.log 2>&1 &
pids+=($!)
cat <<MSG

NAP is serving the demo CPO's data on http://127.0.0.1:${WEB_PORT}
  OCPI versions:        http://127.0.0.1:${WEB_PORT}/ocpi/versions
  OCPI 2.3.0 locations: http://127.0.0.1:${WEB_PORT}/ocpi/2.3.0/locations
  OCPI 2.3.0 tariffs:   http://127.0.0.1:${WEB_PORT}/ocpi/2.3.0/tariffs
  DATEX II table:       http://127.0.0.1:${WEB_PORT}/datex2/v3.7/energy-infrastructure/table
  DATEX II AFIR table:  http://127.0.0.1:${WEB_PORT}/datex2/v3.7/energy-infrastructure/table?profile=afir
  DATEX II status:      http://127.0.0.1:${WEB_PORT}/datex2/v3.7/energy-infrastructure/status
  Provenance (the demo CPO and the hub merged): http://127.0.0.1:${WEB_PORT}/api/v1/provenance/DE/ABC/LOC000102

The portal:
  Overview:             http://127.0.0.1:${WEB_PORT}/
  Map:                  http://127.0.0.1:${WEB_PORT}/map
  CPO sign-up:          http://127.0.0.1:${WEB_PORT}/signup
  Administration:       http://127.0.0.1:${WEB_PORT}/admin/
Create an administrator (in another terminal: type the password, then Enter):
  read -rs PW && echo "\$PW" | NAP_DATABASE_URL=${NAP_DATABASE_URL} ${NAP} users add --email admin@example.org --password-stdin --admin

The worker re-harvests the demo feeds every 5 minutes (logs in var/). Ctrl-C stops everything.

MSG
$NAP serve --port "$WEB_PORT"
