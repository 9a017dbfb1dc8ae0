#!/usr/bin/env bash
# Makes sure a PostgreSQL server runs on this machine for the test suite, and prints the
# admin URL the tests create their throwaway databases with. Installs Debian's package
# when it is missing (the tests must run on PostgreSQL as well as SQLite).
set -euo pipefail
if [ -n "${NAP_TEST_POSTGRES_URL:-}" ]; then echo "$NAP_TEST_POSTGRES_URL"; exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
cluster=$(pg_lsclusters -h | head -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  as_root pg_createcluster "$version" main >&2
  cluster=$(pg_lsclusters -h | head -n 1)
fi
read -r version name port _ <<<"$cluster"
as_root pg_ctlcluster "$version" "$name" start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  as_root runuser -u postgres -- pg_isready -q -p "$port" && break
  sleep 1
done
as_root runuser -u postgres -- psql -q -p "$port" -tAc \
  "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nap_test') THEN
     CREATE ROLE nap_test LOGIN CREATEDB PASSWORD 'nap_test'; END IF; END \$\$;
   -- DROP DATABASE ... WITH (FORCE) must be able to end an autovacuum worker.
   GRANT pg_signal_backend TO nap_test;" >&2
echo "postgresql://nap_test:nap_test@127.0.0.1:${port}/postgres"
