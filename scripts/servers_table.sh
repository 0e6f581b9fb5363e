#!/usr/bin/env bash
# Measures the figures described in docs/src/servers.md ("Measured here")
# and prints
# them as Markdown. Run on a quiet machine (it takes a while: the server
# sweep, then about two minutes more). Needs python3; wrk (or hey) for the
# last table, which is skipped with a note if neither is installed.
#
# Environment:
#   OUT=DIR               where server.jsonl goes [reports/servers]
#   MODELS=a,b            the sweep's --models: lab models and the Python
#                         servers py-fastapi, py-aiohttp [every lab model]
#   WRK_SERVERS=a,b       servers for the closed-loop (wrk) against open-loop
#                         (load) table [tokio]
#   CEILING=0             leave out the generator's-ceiling table
# scripts/python_servers_table.sh sets these for the Python servers.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
out=${OUT:-reports/servers}
models=${MODELS:-}
wrk_servers=${WRK_SERVERS:-tokio}
mkdir -p "$out"
venv=${AVB_PY_SERVERS_VENV:-target/venv-servers}
case ",$models,$wrk_servers," in
  *,py-*) scripts/python/setup_servers_venv.sh >&2 ;;
esac

echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "Command: $lab sweep --workloads server${models:+ --models $models} --out $out --overwrite"
echo
started=$(date +%s)
"$lab" sweep --workloads server ${models:+--models "$models"} --out "$out" --overwrite 2>/dev/null | grep -v 'server.jsonl$' | sed 's/^/- /'
echo
echo "The server sweep took $(( $(date +%s) - started )) s."
echo

python3 - "$out/server.jsonl" <<'PY'
import json, sys
points = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
models = list(dict.fromkeys(p["model"] for p in points))
idle = 10000
# Every search: (handler, connections), in the order measured; the idle point is apart.
searches = list(dict.fromkeys((p["handler"], p["connections"]) for p in points if p["connections"] != idle))
shared = [s for s in searches if "mode=" not in s[0]]
modes = [s for s in searches if "mode=" in s[0]]
def best(model, handler, connections):
    mine = [p for p in points if p["model"] == model and p["handler"] == handler and p["connections"] == connections]
    ok = [p["offered_rps"] for p in mine if p["ok"]]
    return f"{max(ok):,.0f}" if ok else ("none" if mine else "—")
print("Highest offered rate (req/s) with p99 under the objective (5 x the handler's own time), no errors:")
print()
print("| model | " + " | ".join(f"{h}, {c} conn." for h, c in shared) + " |")
print("|---" * (1 + len(shared)) + "|")
for m in models:
    print(f"| {m} | " + " | ".join(best(m, h, c) for h, c in shared) + " |")
print()
if modes:
    counts = sorted({c for _, c in modes})
    print("A blocking call in the async handler (mode=block) and its fix (mode=offload): highest rate (req/s) under the objective:")
    print()
    print("| model | connections | own wait | mode=block | mode=offload |")
    print("|---|---|---|---|---|")
    for m in models:
        for c in counts:
            if not any(p["model"] == m and p["connections"] == c and "mode=" in p["handler"] for p in points):
                continue
            base = next((h for h, cc in shared if cc == c and h.startswith("wait")), None)
            own = best(m, base, c) if base else "—"
            block = next((best(m, h, c) for h, cc in modes if cc == c and "mode=block" in h), "—")
            offload = next((best(m, h, c) for h, cc in modes if cc == c and "mode=offload" in h), "—")
            print(f"| {m} | {c:,} | {own} | {block} | {offload} |")
    print()
print("With 10,000 mostly idle keep-alive connections (100 req/s of the wait handler):")
print()
print("| model | server peak RSS MiB | server threads | p99 ms | result |")
print("|---|---|---|---|---|")
for m in models:
    for p in points:
        if p["model"] == m and p["connections"] == 10000:
            result = "ok" if p["ok"] else (p["failure"] or f'{p["errors"]} errors')
            print(f'| {m} | {p["server_peak_rss_kib"] / 1024:.1f} | {p["server_threads"]} | {p["latency"]["p99_ms"]:.1f} | {result} |')
PY
echo

# Starts server $1 (a lab model, or py-fastapi / py-aiohttp) on a free
# loopback port in the background; sets $server_pid and $addr.
start_server() {
  local name=$1 addr_file="$out/$1.addr"
  case "$name" in
    py-*) "$venv/bin/python" "scripts/python/servers/${name#py-}_app.py" --port 0 > "$addr_file" 2>/dev/null & ;;
    *) "$lab" serve --model "$name" --port 0 > "$addr_file" 2>/dev/null & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    [ -s "$addr_file" ] && break
    sleep 0.1
  done
  addr=$(head -1 "$addr_file")
}
server_pid=
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true' EXIT

if [ "${CEILING:-1}" != 0 ]; then
# The generator's own ceiling: double the rate against the fastest handler
# (tokio, /health, 10 connections) until it falls behind its schedule
# (p99 more than 1 ms late) or completes less than 90 % of it.
start_server tokio
echo "The generator's ceiling against \`serve --model tokio\` (/health, 10 connections, 5 s per rate):"
echo
echo "| offered req/s | achieved req/s | behind schedule p99 ms | generator CPU ms per 10,000 requests | p99 ms |"
echo "|---|---|---|---|---|"
rate=1000
while [ "$rate" -le 512000 ]; do
  json=$("$lab" load --target "$addr" --rate "$rate" --connections 10 --duration-s 5 --json)
  line=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| %s | %s | %.3f | %.0f | %.3f |" % (format(r["offered_rps"], ",.0f"), format(r["achieved_rps"], ",.0f"), r["behind_schedule"]["p99_ms"], r["generator_cpu_ms_per_10k"] or 0, r["latency"]["p99_ms"])); sys.exit(0 if r["behind_schedule"]["p99_ms"] <= 1 and r["achieved_rps"] >= 0.9 * r["offered_rps"] else 3)' "$json") && status=0 || status=$?
  echo "$line"
  [ "$status" -eq 0 ] || break
  rate=$(( rate * 2 ))
done
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=
echo
fi

# wrk (closed loop) and load (open loop) against the same servers and handler.
path="/work?wait_ms=20"
echo "Closed loop (wrk) against open loop (load), $path, 50 connections, 10 s each:"
echo
if command -v wrk >/dev/null; then
  echo "| server | wrk req/s | wrk p99 ms | load offered req/s | load achieved req/s | load p99 ms (from due) | load p99 ms (from send) |"
  echo "|---|---|---|---|---|---|---|"
  for name in ${wrk_servers//,/ }; do
    start_server "$name"
    wrk_out=$(wrk -t1 -c50 -d10s --latency "http://$addr$path")
    # wrk's rate and its p99, in ms.
    read -r rps wrk_p99 < <(python3 -c '
import re, sys
text = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
print(int(rps), float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit])' "$wrk_out")
    json=$("$lab" load --target "$addr" --path "$path" --rate "$rps" --connections 50 --duration-s 10 --json)
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| %s | %s | %.2f | %s | %.1f | %.2f | %.2f |" % (sys.argv[2], format(int(sys.argv[3]), ","), float(sys.argv[4]), format(r["offered_rps"], ",.0f"), r["achieved_rps"], r["latency"]["p99_ms"], r["service"]["p99_ms"]))' "$json" "$name" "$rps" "$wrk_p99"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  done
elif command -v hey >/dev/null; then
  for name in ${wrk_servers//,/ }; do
    start_server "$name"
    echo "$name:"
    hey -c 50 -z 10s "http://$addr$path" | sed 's/^/    /'
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  done
else
  echo "(neither wrk nor hey is installed: apt-get install wrk)"
fi
