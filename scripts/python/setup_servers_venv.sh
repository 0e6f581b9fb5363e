#!/usr/bin/env bash
# Creates the virtual environment the seeds' own Python servers run in
# (scripts/python/servers/: py-fastapi, py-aiohttp) and installs the pinned
# versions in scripts/python/servers/requirements.txt from PyPI.
#
#   scripts/python/setup_servers_venv.sh      # -> target/venv-servers
#   AVB_PY_SERVERS_VENV=/some/dir scripts/python/setup_servers_venv.sh
#
# Run it again at will: a venv already holding exactly these requirements is
# left alone (a copy of the file in the venv, written last, says so). The
# sweep and the tests look in the same place. Needs python3 (3.9 or later)
# with its venv module and pip (Debian: apt-get install python3-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
venv="${AVB_PY_SERVERS_VENV:-target/venv-servers}"
requirements=scripts/python/servers/requirements.txt
stamp="$venv/.requirements"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found (set PYTHON=/path/to/python3)" >&2
  exit 2
fi
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
  echo "$venv: up to date"
  exit 0
fi
started=$(date +%s)
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
  echo "error: '$python -m venv' failed; on Debian or Ubuntu: apt-get install python3-venv" >&2
  exit 1
fi
# Exactly the pinned set, nothing resolved anew; binary wheels only, so no
# compiler is needed and nothing is built from source.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: --no-deps -r "$requirements"
"$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null
cp "$requirements" "$stamp"
echo "$venv: ready ($("$venv/bin/python" --version), $(grep -c '==' "$requirements") pinned packages, $(( $(date +%s) - started )) s)"
