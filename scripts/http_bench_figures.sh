#!/usr/bin/env bash
# Measures the `http_server` criterion bench (benches/http_server.rs) and
# records its figures into docs/figures/http-bench/: http_server.json (each
# handler x model: criterion's median time per request and its 95 %
# confidence interval, from target/criterion/.../new/estimates.json) and
# meta.json (date, machine, commit, command, load). README's and the docs'
# bench table is generated from them by tests/figures.rs: afterwards run
#   FIGURES_WRITE=1 cargo test --release --test figures
# Run alone on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${DEST:-docs/figures/http-bench}
load_before=$(cut -d' ' -f1 /proc/loadavg)
date=$(date -u +%Y-%m-%d)
started=$(date +%s)
rm -rf target/criterion/http_server
cargo bench --bench http_server
seconds=$(( $(date +%s) - started ))
load_after=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$dest"
virt=$(systemd-detect-virt 2>/dev/null || echo unknown)
machine="$(nproc)-vCPU $virt guest, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)"
python3 - "$dest" <<PY
import glob, json, os, sys
dest = sys.argv[1]
cells = []
for path in sorted(glob.glob("target/criterion/http_server/*/*/new/estimates.json")):
    handler, model = path.split("/")[3:5]
    median = json.load(open(path))["median"]
    cells.append({
        "handler": handler,
        "model": model,
        "median_ns": median["point_estimate"],
        "ci95_ns": [median["confidence_interval"]["lower_bound"], median["confidence_interval"]["upper_bound"]],
    })
json.dump({"source": "criterion, benches/http_server.rs: 50 keep-alive clients in a closed loop; one iteration is one request", "cells": cells}, open(os.path.join(dest, "http_server.json"), "w"), indent=2)
meta = {
    "what": "cargo bench --bench http_server, run once alone on a quiet machine; http_server.json holds criterion's medians from target/criterion unchanged.",
    "date": "$date",
    "commit": os.popen("git rev-parse --short HEAD").read().strip(),
    "command": "cargo bench --bench http_server",
    "machine": "$machine",
    "load_average_before": float("$load_before"),
    "load_average_after": float("$load_after"),
    "seconds": $seconds,
}
json.dump(meta, open(os.path.join(dest, "meta.json"), "w"), indent=2)
PY
echo "Recorded $dest; now: FIGURES_WRITE=1 cargo test --release --test figures"
