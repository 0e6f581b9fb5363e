#!/usr/bin/env bash
# Produces the tables described in docs/src/trustworthy-numbers.md
# ("Measured"). Run on a
# QUIET machine (close browsers and calls): it measures the quick profile's
# CPU cells three times -- quiet; beside a busy-loop hog with --on-busy
# ignore; beside the hog with the default policy (retry) -- then prints a
# Markdown table of efficiency per model, how many cells were retried or
# marked disturbed, a real `doctor` output, and how long the default
# `report` took. About 3 to 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
cargo build --release --quiet
out=${1:-target/trustworthy}
rm -rf "$out" && mkdir -p "$out"

hog_pid=
stop_hog() { [ -n "$hog_pid" ] && kill "$hog_pid" 2>/dev/null; wait "$hog_pid" 2>/dev/null || true; hog_pid=; }
trap stop_hog EXIT INT TERM

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo
echo '```'
echo "\$ $lab doctor"
"$lab" doctor
echo '```'
echo

sweep() { # name, then extra arguments
  local name=$1; shift
  "$lab" sweep --profile quick --workloads cpu --out "$out/$name" "$@" >/dev/null 2>"$out/$name.log"
}
sweep quiet
sh -c 'while :; do :; done' & hog_pid=$!
sweep hog-ignore --on-busy ignore
sweep hog-default
stop_hog

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name, "results.jsonl")) as f:
        return {(r["model"], r["tasks"]): r for r in map(json.loads, filter(str.strip, f))}
quiet, ignore, default = load("quiet"), load("hog-ignore"), load("hog-default")
print("Commands: `sweep --profile quick --workloads cpu` (quiet); the same beside "
      "`sh -c 'while :; do :; done'` with `--on-busy ignore`; and with the default "
      "(`--on-busy retry --retries 3`).")
print()
print("| model | tasks | quiet | hog, ignore | hog, default | retried | outside cores (hog, default) | waiting cores (hog, default) |")
print("|---|---|---|---|---|---|---|---|")
def cell(r):
    if r is None: return "–"
    text = f'{r["efficiency"]:.2f}'
    if r.get("disturbed"): text += " (disturbed)"
    elif r.get("conditions", {}).get("capacity_left_cores") is not None: text += " (on capacity left)"
    return text
def waiting(cond):
    # The most waiting for a core in one timed region (PSI); "(own)" where the
    # cell's own threads queue, so the policy does not judge it.
    value = cond.get("region_waiting_cores_max")
    if value is None: return "–"
    return f"{value:.2f}" + ("" if cond.get("pressure_judged") else " (own)")
for key in sorted(quiet, key=lambda k: (k[0], k[1])):
    d = default.get(key)
    cond = (d or {}).get("conditions", {})
    print(f'| {key[0]} | {key[1]} | {cell(quiet[key])} | {cell(ignore.get(key))} | {cell(d)} | '
          f'{cond.get("retried", 0)} | {cond.get("foreign_cpu_cores", 0):.2f} | {waiting(cond)} |')
for name, runs in (("quiet", quiet), ("hog, ignore", ignore), ("hog, default", default)):
    retried = sum(r.get("conditions", {}).get("retried", 0) for r in runs.values())
    marked = sum(1 for r in runs.values() if r.get("disturbed"))
    print(f"\n{name}: {len(runs)} cells, {retried} repeats retried, {marked} cells marked disturbed", end="")
print()
PY

echo
start=$(date +%s.%N)
"$lab" report --out "$out/report" >/dev/null 2>"$out/report.log"
end=$(date +%s.%N)
python3 -c "import sys; print(f'Default \`report\` (quick profile, every workload and model) took {float(sys.argv[2]) - float(sys.argv[1]):.0f} s.')" "$start" "$end"
