#!/usr/bin/env bash
# The lab's own overhead: `async-vs-blocking overhead` runs the bare reference
# programs (examples/bare_*.rs: spawn N tasks that sleep D, join, print wall
# time and peak RSS) beside the lab's `run` of the same cell, interleaved,
# and this script prints the Markdown table described in docs/src/
# trustworthy-numbers.md ("The lab's own overhead"). Targets: wall time within 5 %, peak memory within 10 %.
# Run on a quiet machine; the 1,000,000-task row needs about 600 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin async-vs-blocking --examples
lab=target/release/async-vs-blocking

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "| model | tasks | sleep ms | bare wall ms | lab wall ms | time ratio | bare peak MiB | lab peak MiB | memory ratio | extra bytes per task |"
echo "|---|---|---|---|---|---|---|---|---|---|"
format_row=$(cat <<'PY'
import json, sys
o = json.loads(sys.stdin.read())
print(f"| {o['model']} | {o['tasks']:,} | {o['sleep_ms']:g} | {o['bare_wall_ms']:.1f} | {o['lab_wall_ms']:.1f} | "
      f"{o['time_ratio']:.3f} | {o['bare_peak_rss_kib'] / 1024:.0f} | {o['lab_peak_rss_kib'] / 1024:.0f} | "
      f"{o['memory_ratio']:.2f} | {o['extra_bytes_per_task']:.0f} |")
PY
)
row() { # model, tasks, sleep ms, repeats
  "$lab" overhead --model "$1" --tasks "$2" --sleep-ms "$3" --repeat "$4" --json | python3 -c "$format_row"
}
row tokio 5000 30 3
row tokio 1000000 1000 1
row threads 1000 30 3
