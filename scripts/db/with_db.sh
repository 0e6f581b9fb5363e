#!/usr/bin/env bash
# A throwaway PostgreSQL for as long as a command runs: Debian's initdb and
# postgres in a fresh directory under $TMPDIR (as the `postgres` user when
# run as root, since the server refuses root), 127.0.0.1 on a free port, a
# generated `items` table loaded; the command runs with DATABASE_URL set, and
# the server and its directory are removed however it ends (normal end,
# Ctrl-C, or a killed lab: the keeper notices its pipe close).
# Without a command it waits for Ctrl-C.
#
#   scripts/db/with_db.sh [--rows N] [-- COMMAND ...]
#   scripts/db/with_db.sh -- sh -c 'psql "$DATABASE_URL" -c "SELECT count(*) FROM items"'
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
exec "$lab" db "$@"
