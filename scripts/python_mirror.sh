#!/usr/bin/env bash
# The lab's fan-out, CPU and blocking-in-async experiments in Python (standard
# library only). Writes reports/python/results.jsonl (or --out DIR) with the
# lab's field names; see scripts/python/mirror.py --help.
set -euo pipefail
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found (set PYTHON=/path/to/python3)" >&2
  exit 2
fi
exec "$python" "$(dirname "$0")/python/mirror.py" "$@"
