#!/usr/bin/env bash
# The figures for the `monoio` model, beside the others (docs/src/
# measuring.md, "A recorded run"): run
# on a quiet machine (cargo build --release first; the benches build their
# own). Prints which I/O driver monoio ran on, the sleep and cpu rows (as
# scripts/measured_here.sh prints them), memory per task, and spawn and
# switch costs per unit.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet

row() { # label, then run arguments
  local label=$1; shift
  "$lab" run "$@" --repeat 5 --json | python3 scripts/record_row.py "$label"
}

echo "driver: $("$lab" run --workload sleep --model monoio --tasks 1 --sleep-ms 1 --repeat 1 --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["machine"].get("runtimes", {}).get("monoio", "not recorded"))')"
echo
echo "| cell | model | tasks | wall ms (min / median / max) | ideal ms | efficiency | peak threads | peak RSS MiB | status |"
echo "|---|---|---|---|---|---|---|---|---|"
row "sleep 100 ms" --workload sleep --model monoio --tasks 10000 --sleep-ms 100
row "cpu 20,000 µs" --workload cpu --model monoio --tasks 8 --cpu-us 20000
echo
# Memory per task: the slope of peak RSS over 1,000..10,000 sleeping tasks.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$lab" sweep --profile memory --models monoio,tokio,threads --out "$out" 2>/dev/null
echo
# Spawn and switch cost per unit (criterion; the report's unit-costs table
# measures the same functions with a smaller budget).
cargo bench --bench spawn_cost -- 'spawn_cost/monoio' 2>/dev/null | grep -E 'spawn_cost/monoio|time:'
cargo bench --bench context_switch -- '/monoio/' 2>/dev/null | grep -E 'monoio|time:'
