#!/usr/bin/env bash
# Records the figures of load from more than one generator (issue #23, item
# 3) into docs/figures/load-generators/ — run on a quiet machine after
# `cargo build --release`:
#   merged/  two `load` processes started together against one tokio server
#            (wait 20 ms, 100 connections, 1,000 req/s each), their interval
#            logs merged by `report --input a.hlog b.hlog`;
#   single/  one `load` at the combined rate and connections, for comparison;
#   locust/  scripts/locust_compare.sh: the lab's open-loop generator and
#            Locust (one master, two workers) against a mode=block server.
# Writes meta.json (date, commit, machine, commands, load averages) last.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
dest=docs/figures/load-generators
rm -rf "$dest"
mkdir -p "$dest/logs"
load_before=$(cut -d' ' -f1 /proc/loadavg)
doctor=$("$lab" doctor 2>&1 | head -1 || true)

"$lab" serve --model tokio --port 0 >"$dest/logs/serve.out" 2>"$dest/logs/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$dest/logs/serve.out" ] && break; sleep 0.1; done
address=$(head -1 "$dest/logs/serve.out")
each=(--target "$address" --path '/work?wait_ms=20&bytes=64' --duration-s 10 --warmup-s 1 --json)
"$lab" load "${each[@]}" --rate 1000 --connections 100 --histogram-log "$dest/logs/a.hlog" >"$dest/logs/a.json" &
first=$!
"$lab" load "${each[@]}" --rate 1000 --connections 100 --histogram-log "$dest/logs/b.hlog" >"$dest/logs/b.json" &
second=$!
wait $first $second
"$lab" load "${each[@]}" --rate 2000 --connections 200 --histogram-log "$dest/logs/single.hlog" >"$dest/logs/single.json"
kill $server; wait $server 2>/dev/null || true
"$lab" report --input "$dest/logs/a.hlog" "$dest/logs/b.hlog" --out "$dest/merged" >/dev/null
"$lab" report --input "$dest/logs/single.hlog" --out "$dest/single" >/dev/null
LAB="$PWD/$lab" scripts/locust_compare.sh "$dest/locust" >/dev/null

# The pages are drawn from the data beside them (`report --input`): keep
# the data only, not three copies of the page's template.
rm -f "$dest/merged/index.html" "$dest/single/index.html" "$dest/locust/report/index.html"

cat >"$dest/meta.json" <<META
{
  "what": "Load from more than one generator: two load processes' interval logs merged (merged/load.jsonl) beside one generator at the combined rate (single/load.jsonl), and the lab's open-loop generator beside Locust's closed-loop master with two workers against a mode=block tokio server (locust/report/load.jsonl).",
  "date": "$(date -u +%F)",
  "commit": "$(git rev-parse --short HEAD)",
  "command": "scripts/load_generators_figures.sh",
  "machine": "$(nproc)-CPU $(uname -srm)",
  "doctor": "$(echo "$doctor" | sed 's/"/\\"/g')",
  "load_average_before": $load_before,
  "load_average_after": $(cut -d' ' -f1 /proc/loadavg)
}
META
echo "$dest"
