#!/usr/bin/env bash
# Measures the figures described in docs/src/python-mirror.md ("The seeds'
# own servers"): the server
# sweep for tokio beside the Python servers (FastAPI under uvicorn, aiohttp),
# then wrk (closed loop) against load (open loop) for the same three. Run on
# a quiet machine; it creates the Python venv first if it is missing
# (scripts/python/setup_servers_venv.sh). Prints Markdown; the points are
# in reports/python-servers/server.jsonl (or $OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/python/setup_servers_venv.sh >&2
MODELS=${MODELS:-tokio,py-fastapi,py-aiohttp} \
WRK_SERVERS=${WRK_SERVERS:-tokio,py-fastapi,py-aiohttp} \
CEILING=0 \
OUT=${OUT:-reports/python-servers} \
  exec scripts/servers_table.sh
