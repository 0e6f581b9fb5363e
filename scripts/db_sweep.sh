#!/usr/bin/env bash
# The published database sweep (docs/src/database.md): 1,000 tasks at once
# against a real, throwaway PostgreSQL, each taking one of P pooled
# connections for SELECT FROM pg_sleep(20 ms) and an indexed lookup, P = 2,
# 8, 32, under every model with a driver (the `db` profile); then the
# async-database claim and the drivers' per-query cost. Writes the data and
# meta.json into $out (default docs/figures/db). Run it on a quiet machine
# (`async-vs-blocking doctor` says `fit`) after `cargo build --release`; it
# takes about ten minutes on 2 cores.
#
#   scripts/db_sweep.sh [OUT_DIR]
#   DB_TASKS=100 DB_REPEATS=2 scripts/db_sweep.sh /tmp/try   # a quick check of the script
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
out=${1:-docs/figures/db}
tasks=${DB_TASKS:-1000}
repeats=${DB_REPEATS:-5}
mkdir -p "$out"
started=$(date +%s)
load_before=$(cut -d' ' -f1 /proc/loadavg)
doctor=$("$lab" doctor | tail -1 || true)
sweep_command="async-vs-blocking sweep --profile db --tasks $tasks --repeat $repeats --out $out --overwrite"
"$lab" sweep --profile db --tasks "$tasks" --repeat "$repeats" --out "$out" --overwrite >&2
claims_command="async-vs-blocking claims --only async-database --repeat $repeats --out $out"
"$lab" claims --only async-database --repeat "$repeats" --out "$out" >&2 || true
# What each driver costs a query on top of the database's own time: one
# connection (pool 1), a wait of 1 µs, tasks one after another through it:
# the postgres crate (a blocking wrapper that blocks on a small tokio runtime
# of its own inside every call) on one thread vs tokio-postgres on tokio's
# current-thread runtime. Wall ÷ tasks = two queries' round trips + driver.
cost_command="async-vs-blocking sweep --workloads db --models sequential,tokio-current --tasks 2000 --pools 1 --sleep-ms 0.001 --repeat $repeats --out $out/driver-cost --overwrite"
"$lab" sweep --workloads db --models sequential,tokio-current --tasks 2000 --pools 1 \
  --sleep-ms 0.001 --repeat "$repeats" --out "$out/driver-cost" --overwrite >&2
load_after=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$out" "$started" "$load_before" "$load_after" "$doctor" "$sweep_command" "$claims_command" "$cost_command" <<'PY'
import json, os, sys, time
out, started, before, after, doctor, sweep, claims, cost = sys.argv[1:9]
records = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
machine = records[0]["machine"] if records else {}
db = next((r["database"] for r in records if r.get("database")), {})
meta = {
    "what": "The db sweep (1,000 tasks through pools of 2, 8 and 32 PostgreSQL connections, every model with a driver) and the async-database claim, on a quiet machine; the data files beside this one are copied unchanged from the run.",
    "date": time.strftime("%Y-%m-%d", time.gmtime()),
    "commit": os.popen("git rev-parse --short HEAD").read().strip(),
    "command": sweep,
    "claims_command": claims,
    "driver_cost_command": cost,
    "machine": f"{machine.get('cores')} cores, {machine.get('cpu_model')}, Linux {machine.get('kernel')}, {machine.get('rustc')}",
    "database": db.get("server_version"),
    "doctor": doctor,
    "load_average_before": float(before),
    "load_average_after": float(after),
    "seconds": int(time.time()) - int(started),
}
with open(os.path.join(out, "meta.json"), "w") as f:
    json.dump(meta, f, indent=2)
    f.write("\n")
print("| model | driver | pool | wall ms (median) | ideal ms | efficiency | queries/s | bound pool ÷ query time | p99 ms | threads |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in records:
    d = r.get("database") or {}
    wall = r["wall_ms"]["median"]
    qps = r["tasks"] / (wall / 1e3) if wall else 0
    bound = d.get("pool", 0) / (r["sleep_ms"] / 1e3) if r["sleep_ms"] else 0
    print(f"| {r['model']} | {d.get('driver')} | {d.get('pool')} | {wall:.1f} | {r['ideal_ms']:.1f} | {r['efficiency']:.2f} "
          f"| {qps:.0f} | {bound:.0f} | {r['latency_ms']['p99']:.1f} | {r['peak_threads']} |")
print()
print("| driver (one connection) | model | µs per task (two queries) |")
print("|---|---|---|")
for l in open(os.path.join(out, "driver-cost", "results.jsonl")):
    if l.strip():
        r = json.loads(l)
        print(f"| {r['database']['driver']} | {r['model']} | {r['wall_ms']['median'] * 1e3 / r['tasks']:.1f} |")
PY
echo "Took $(( $(date +%s) - started )) s; meta.json in $out"
