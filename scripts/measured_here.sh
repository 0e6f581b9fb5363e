#!/usr/bin/env bash
# Measures the larger cells described in docs/src/measuring.md ("A recorded
# run") and prints
# them as a Markdown table. Run on a quiet machine: cargo build --release first.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet

row() { # label, then run arguments
  local label=$1; shift
  "$lab" run "$@" --repeat 5 --json | python3 scripts/record_row.py "$label"
}

# The models come from the registry (`list --json`), never from a list here.
models() { # [style]: every model, or those of one style
  "$lab" list --json | python3 -c '
import json, sys
style = sys.argv[1] if len(sys.argv) > 1 else None
print(" ".join(m["name"] for m in json.load(sys.stdin)["models"] if style in (None, m["style"])))' "$@"
}

echo "| cell | model | tasks | wall ms (min / median / max) | ideal ms | efficiency | peak threads | peak RSS MiB | status |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in $(models async); do
  row "sleep 100 ms" --workload sleep --model "$m" --tasks 10000 --sleep-ms 100
done
row "sleep 100 ms" --workload sleep --model threads --tasks 1000 --sleep-ms 100
row "sleep 100 ms" --workload sleep --model tokio --tasks 1000 --sleep-ms 100
row "sleep 20 ms" --workload sleep --model sequential --tasks 20 --sleep-ms 20
for m in $(models); do
  row "cpu 20,000 µs" --workload cpu --model "$m" --tasks 8 --cpu-us 20000
done
