#!/usr/bin/env bash
# One lab server with the blocking pitfall, loaded twice: by the lab's
# open-loop generator (`load`) and by Locust in its distributed mode (one
# master, two workers, all on loopback) running the same experiment exported
# by `load --export-locust`. Then `report` draws both side by side: Locust
# paces its users (closed-loop) and so under-reports the stall the
# open-loop generator catches.
#
#   scripts/locust_compare.sh OUT [MODEL] [PATH] [RATE] [CONNECTIONS] [DURATION_S]
#   defaults: tokio '/work?wait_ms=20&bytes=64&mode=block' 150 10 5
#
# With 2 server workers and a 20 ms blocking sleep in each handler, the
# server carries at most 2 / 20 ms = 100 req/s, so 150 req/s overloads it.
# LAB names the lab's binary (default target/release/async-vs-blocking);
# Locust comes from the scripts' virtual environment
# (scripts/python/setup_servers_venv.sh, run here; a no-op when current).
# Writes into OUT only: lab.hlog, lab-load.json, locustfile.py, locust_*.csv,
# locust_lab.json, the processes' logs, and report/ (index.html, load.jsonl).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: scripts/locust_compare.sh OUT [MODEL] [PATH] [RATE] [CONNECTIONS] [DURATION_S]}"
model="${2:-tokio}"
path="${3:-/work?wait_ms=20&bytes=64&mode=block}"
rate="${4:-150}"
connections="${5:-10}"
duration="${6:-5}"
lab="${LAB:-$root/target/release/async-vs-blocking}"
venv="${AVB_PY_SERVERS_VENV:-$root/target/venv-servers}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

"$root/scripts/python/setup_servers_venv.sh" >&2
locust="$venv/bin/locust"
[ -x "$locust" ] || { echo "error: $locust is missing after the venv setup" >&2; exit 1; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$lab" serve --model "$model" --workers 2 --port 0 >"$out/serve.out" 2>"$out/serve.err" &
pids+=($!)
for _ in $(seq 100); do
  [ -s "$out/serve.out" ] && break
  sleep 0.1
done
address="$(head -1 "$out/serve.out")"
[ -n "$address" ] || { echo "error: the server did not start: $(cat "$out/serve.err")" >&2; exit 1; }
echo "server $model on $address" >&2

experiment=(--target "$address" --path "$path" --rate "$rate" --connections "$connections"
  --duration-s "$duration" --warmup-s 1 --objective-ms 100)
"$lab" load "${experiment[@]}" --histogram-log "$out/lab.hlog" --json >"$out/lab-load.json"
"$lab" load "${experiment[@]}" --export-locust "$out/locustfile.py" >/dev/null

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$locust" -f "$out/locustfile.py" --master --headless --expect-workers 2 \
  --master-bind-host 127.0.0.1 --master-bind-port "$port" \
  --csv "$out/locust" --only-summary --loglevel WARNING >"$out/locust-master.log" 2>&1 &
master=$!
pids+=("$master")
for worker in 1 2; do
  "$locust" -f "$out/locustfile.py" --worker --master-host 127.0.0.1 --master-port "$port" \
    --loglevel WARNING >"$out/locust-worker-$worker.log" 2>&1 &
  pids+=($!)
done
# The master ends the run itself (the file's shape: warm-up + duration);
# a bound here in case the workers never connect.
limit=$(( ${duration%.*} + 60 ))
for _ in $(seq $(( limit * 10 ))); do
  kill -0 "$master" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$master" 2>/dev/null; then
  echo "error: Locust's master did not finish within $limit s; see $out/locust-master.log" >&2
  exit 1
fi
wait "$master" || true
[ -s "$out/locust_stats.csv" ] && [ -s "$out/locust_lab.json" ] || {
  echo "error: Locust wrote no results; see $out/locust-master.log: $(tail -3 "$out/locust-master.log")" >&2
  exit 1
}
cleanup
pids=()
"$lab" report --input "$out/lab.hlog" "$out/locust_stats.csv" --out "$out/report"
