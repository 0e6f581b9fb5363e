#!/usr/bin/env bash
# The lab's own overhead: the bare reference programs (examples/bare_*.rs:
# spawn N tasks that sleep D, join, print wall time and peak RSS) beside the
# lab's `run` of the same cell. Prints a Markdown table of the ratios.
# Targets: wall time within 5 %, peak memory within 10 %. Run on a quiet
# machine; the 1,000,000-task row needs about 600 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin async-vs-blocking --example bare_threads --example bare_tokio
lab=target/release/async-vs-blocking

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "| model | tasks | sleep ms | bare wall ms | lab wall ms | time ratio | bare peak MiB | lab peak MiB | memory ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
row() { # model, bare example, tasks, sleep ms
  local model=$1 bare=$2 tasks=$3 sleep=$4
  local bare_out lab_out
  bare_out=$(target/release/examples/"$bare" "$tasks" "$sleep")
  lab_out=$("$lab" run --workload sleep --model "$model" --tasks "$tasks" --sleep-ms "$sleep" --repeat 1 --on-busy ignore --json)
  python3 - "$model" "$tasks" "$sleep" "$bare_out" "$lab_out" <<'PY'
import json, sys
model, tasks, sleep, bare, lab = sys.argv[1:]
fields = dict(kv.split("=") for kv in bare.split())
bare_ms, bare_kib = float(fields["wall_ms"]), int(fields["peak_rss_kib"])
record = json.loads(lab)
lab_ms, lab_kib = record["wall_ms"]["median"], record["peak_rss_kib"]
print(f"| {model} | {int(tasks):,} | {sleep} | {bare_ms:.1f} | {lab_ms:.1f} | {lab_ms / bare_ms:.3f} | "
      f"{bare_kib / 1024:.0f} | {lab_kib / 1024:.0f} | {lab_kib / bare_kib:.2f} |")
PY
}
row tokio bare_tokio 5000 30
row tokio bare_tokio 1000000 1000
row threads bare_threads 1000 30
