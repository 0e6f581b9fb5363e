#!/usr/bin/env bash
# The figures described in docs/src/file-io.md ("Measured here"): the `file` and
# `file-cold` workloads for every model (from the registry), each task
# reading its own --file-kib file, warm and cold, with the threads each
# runtime started for the reads, and the `async-file-io` verdict.
# Run it on a quiet machine (`async-vs-blocking doctor` says `fit`);
# cargo build --release first. Prints Markdown; writes its data to $out.
#
#   scripts/file_figures.sh [OUT_DIR] [FILE_KIB]     # defaults: reports/files 16
#   FILE_TASKS=1,10 FILE_REPEATS=1 scripts/file_figures.sh /tmp/try   # a quick check of the script
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
out=${1:-reports/files}
kib=${2:-16}
tasks=${FILE_TASKS:-1,10,100,1000}
repeats=${FILE_REPEATS:-5}
started=$(date +%s)

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo '```'
echo "\$ $lab doctor"
"$lab" doctor || true
echo '```'
echo
# Every model, 1 to 1,000 tasks, 5 repeats, each in its own process; the
# files are written (and for file-cold dropped from the page cache) before
# every repeat's timed region.
"$lab" sweep --workloads file,file-cold --tasks "$tasks" --file-kib "$kib" \
  --repeat "$repeats" --out "$out" --overwrite >&2
echo "Command: \`async-vs-blocking sweep --workloads file,file-cold --tasks $tasks --file-kib $kib --repeat $repeats\`"
echo
python3 - "$out/results.jsonl" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
machine = records[0]["machine"] if records else {}
print(f"Machine: {machine.get('cores')} cores, {machine.get('cpu_model')}, Linux {machine.get('kernel')}; "
      f"monoio: {machine.get('runtimes', {}).get('monoio', 'driver not recorded')}")
print()
print("| workload | model | tasks | wall ms (min / median / max) | ideal ms | efficiency | peak threads | threads started by the run | pages cached at start | status |")
print("|---|---|---|---|---|---|---|---|---|---|")
notes = set()
for r in records:
    w = r["wall_ms"]
    cache = r.get("file_cache") or {}
    cached = f"{cache.get('resident_share_max', 0) * 100:.0f} %"
    if cache.get("cold") and not cache.get("really_cold"):
        cached += " (NOT cold)"
    if cache.get("note"):
        notes.add(cache["note"])
    status = r["status"] + (" (disturbed)" if r.get("disturbed") else "")
    extra = r.get("extra_threads")
    print(f"| {r['workload']} | {r['model']} | {r['tasks']} | {w['min']:.2f} / {w['median']:.2f} / {w['max']:.2f} "
          f"| {r['ideal_ms']:.2f} | {r['efficiency']:.2f} | {r['peak_threads']} "
          f"| {'-' if extra is None else extra} | {cached} | {status} |")
for note in sorted(notes):
    print(f"\nNote: {note}")
PY
echo
echo "The async-file-io claim (\`async-vs-blocking claims --only async-file-io --markdown\`):"
echo
"$lab" claims --only async-file-io --repeat "$(( repeats < 3 ? repeats : 3 ))" --markdown --out "$out"
echo
echo "Took $(( $(date +%s) - started )) s."
