#!/usr/bin/env bash
# Measures the figures quoted in README's "Measured here" section and prints
# them as a Markdown table. Run on a quiet machine: cargo build --release first.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet

row() { # label, then run arguments
  local label=$1; shift
  "$lab" run "$@" --repeat 5 --json | python3 scripts/record_row.py "$label"
}

echo "| cell | model | tasks | wall ms (min / median / max) | ideal ms | efficiency | peak threads | peak RSS MiB | status |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in tokio smol async-std; do
  row "sleep 100 ms" --workload sleep --model "$m" --tasks 10000 --sleep-ms 100
done
row "sleep 100 ms" --workload sleep --model threads --tasks 1000 --sleep-ms 100
row "sleep 100 ms" --workload sleep --model tokio --tasks 1000 --sleep-ms 100
row "sleep 20 ms" --workload sleep --model sequential --tasks 20 --sleep-ms 20
for m in sequential rayon threads thread-pool tokio tokio-current async-std smol; do
  row "cpu 20,000 µs" --workload cpu --model "$m" --tasks 8 --cpu-us 20000
done
