#!/usr/bin/env bash
# Puts every claim on trial and prints the Markdown table (`claims
# --markdown`), which starts with the run's date, machine and command; the
# run is also saved as reports/claims.json for the report. Run it on a quiet
# machine: cargo build --release first. The table is printed, not pasted into
# the docs: figures in README.md and docs/ come only from recorded runs kept
# in docs/figures/ (see docs/src/contributing.md, "Figures in the
# documentation").
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
"$lab" claims --markdown --out reports
