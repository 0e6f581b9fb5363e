#!/usr/bin/env bash
# How `report --input` scales with the number of records: a workshop that
# merges thirty laptops' full sweeps gives it tens of thousands. The script
# builds inputs of 3,000, 12,000 and 25,000 distinct records from one real
# results.jsonl (each copy on its own "machine", a kernel name of its own,
# and within a machine copies with distinct task counts, so nothing is a
# duplicate the report would merge), then times `report --input` on each
# and prints its wall time and peak memory. Run it on a quiet machine; the
# target is linear growth (25,000 records in a few seconds).
#
#   scripts/report_scale.sh [SEED_RESULTS_JSONL] [LAB_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-reports/data/results.jsonl}
lab=${2:-target/release/async-vs-blocking}
if [ "$#" -lt 2 ]; then
  cargo build --release --quiet --bin async-vs-blocking
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Copies of the seed's records: machine m (kernel "<kernel>-copy<m>"), and
# within it copy c with tasks*8+c (c = 0 keeps the seed's own task counts).
generate() { # records, file
  python3 - "$seed" "$1" "$2" <<'PY'
import json, sys
seed, wanted, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
records = [json.loads(line) for line in open(seed, encoding="utf-8-sig") if line.strip()]
per_machine_copies = 8
written = 0
with open(path, "w") as out:
    machine = 0
    while written < wanted:
        for copy in range(per_machine_copies):
            for record in records:
                if written >= wanted:
                    break
                r = json.loads(json.dumps(record))
                r["machine"]["kernel"] = f"{record['machine']['kernel']}-copy{machine}"
                if copy:
                    r["tasks"] = record["tasks"] * per_machine_copies + copy
                out.write(json.dumps(r) + "\n")
                written += 1
        machine += 1
PY
}

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; binary: $lab"
echo "| records | wall s | peak MiB |"
echo "|---|---|---|"
for records in 3000 12000 25000; do
  input="$work/in-$records/results.jsonl"
  mkdir -p "$(dirname "$input")"
  generate "$records" "$input"
  /usr/bin/time -f "%e %M" -o "$work/time" "$lab" report --input "$input" --out "$work/out-$records" >/dev/null
  read -r wall kib <"$work/time"
  echo "| $records | $wall | $((kib / 1024)) |"
done
