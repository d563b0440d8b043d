#!/usr/bin/env bash
# Installs (if needed) and starts PostgreSQL on loopback for the central service's tests,
# with a role and database `dmp_test` (password `dmp_test`). Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    echo "bootstrap: installing PostgreSQL"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)
if [ "$status" != "online" ]; then
    echo "bootstrap: starting PostgreSQL $version/$cluster"
    $SUDO pg_ctlcluster "$version" "$cluster" start
fi
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
done

psql_admin() { $SUDO runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'dmp_test'")" != "1" ]; then
    psql_admin -c "CREATE ROLE dmp_test LOGIN PASSWORD 'dmp_test' CREATEDB"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'dmp_test'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE dmp_test OWNER dmp_test"
fi
echo "postgresql+psycopg://dmp_test:dmp_test@127.0.0.1:${port}/dmp_test" > "$(dirname "$0")/../.postgres-url"
