#!/usr/bin/env bash
# Records the published full server sweep into docs/figures/servers/: the
# sweep's server.jsonl copied unchanged, a shared-vs-apart pair for one
# model (server-shared.jsonl, server-apart.jsonl; apart needs root and
# iproute2, else it is left out and meta.json says so), and meta.json
# (date, machine, commit, command, load before and after, how long it
# took). README's and the docs' server tables are generated from these
# files by tests/figures.rs: after this script, run
#   FIGURES_WRITE=1 cargo test --release --test figures
# and commit docs/figures/servers/ with the pages it rewrote.
#
# Run alone on a quiet machine. Environment:
#   APART_MODEL=M   the model compared shared vs apart [tokio]
#   DEST=DIR        where the figures go [docs/figures/servers]
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
cargo build --release --quiet
scripts/python/setup_servers_venv.sh >&2
dest=${DEST:-docs/figures/servers}
apart_model=${APART_MODEL:-tokio}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load_before=$(cut -d' ' -f1 /proc/loadavg)
doctor=$("$lab" doctor 2>/dev/null | tail -1 || true)
started_utc=$(date -u +%H:%M:%S)
date=$(date -u +%Y-%m-%d)
command="$lab sweep --workloads server --profile full --out $work/full"
started=$(date +%s)
$command 2> "$work/full.log"
seconds=$(( $(date +%s) - started ))
finished_utc=$(date -u +%H:%M:%S)
grep -m1 '^server sweep:' "$work/full.log" > "$work/plan.txt" || true

# Shared vs apart for one model, back to back.
shared_command="$lab sweep --workloads server --models $apart_model --placement shared --out $work/shared"
apart_command="$lab sweep --workloads server --models $apart_model --placement apart --out $work/apart"
$shared_command 2>/dev/null >/dev/null
apart_note="recorded"
if ! $apart_command 2> "$work/apart.log" >/dev/null; then
  apart_note="not recorded: $(tail -1 "$work/apart.log")"
fi
load_after=$(cut -d' ' -f1 /proc/loadavg)

mkdir -p "$dest"
cp "$work/full/server.jsonl" "$dest/server.jsonl"
cp "$work/shared/server.jsonl" "$dest/server-shared.jsonl"
if [ -f "$work/apart/server.jsonl" ]; then
  cp "$work/apart/server.jsonl" "$dest/server-apart.jsonl"
else
  rm -f "$dest/server-apart.jsonl"
fi
virt=$(systemd-detect-virt 2>/dev/null || echo unknown)
machine="$(nproc)-vCPU $virt guest, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)"
[ "$virt" = none ] && machine="$(nproc)-CPU machine, ${machine#*guest, }"
python3 - "$dest/meta.json" <<PY
import json, sys
points = sum(1 for line in open("$dest/server.jsonl") if line.strip())
meta = {
    "what": "The full server sweep (every model and both Python servers), run once alone on a quiet machine; server.jsonl is copied unchanged from its --out directory. server-shared.jsonl and server-apart.jsonl are one model's sweep with generator and server sharing the cores over loopback, then apart (disjoint CPU sets, a veth pair between two network namespaces), run right after.",
    "date": "$date",
    "commit": "$(git rev-parse --short HEAD)",
    "command": "$command".replace("$work", "OUT"),
    "plan": open("$work/plan.txt").read().strip(),
    "shared_command": "$shared_command".replace("$work", "OUT"),
    "apart_command": "$apart_command".replace("$work", "OUT"),
    "apart": "$apart_note",
    "apart_model": "$apart_model",
    "machine": "$machine",
    "doctor": "$doctor",
    "load_average_before": float("$load_before"),
    "load_average_after": float("$load_after"),
    "started_utc": "$started_utc",
    "finished_utc": "$finished_utc",
    "seconds": $seconds,
    "points": points,
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
echo "The full server sweep took $seconds s ($(grep -c . "$dest/server.jsonl") points); figures in $dest."
echo "Now: FIGURES_WRITE=1 cargo test --release --test figures"
