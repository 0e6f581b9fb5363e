#!/usr/bin/env bash
# Puts every claim on trial (`claims --markdown`, about a minute on 2 cores)
# and writes the table, with the run's date and machine, between the
# `<!-- claims:begin -->` and `<!-- claims:end -->` markers of README.md and
# docs/claims.md. Run it on a quiet machine: cargo build --release first.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=target/release/async-vs-blocking
[ -x "$lab" ] || cargo build --release --quiet
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$lab" claims --markdown --out reports >"$table"
for file in README.md docs/claims.md; do
  python3 - "$file" "$table" <<'PY'
import sys
path, table_path = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- claims:begin -->", "<!-- claims:end -->"
if begin not in text or end not in text:
    sys.exit(f"{path}: the {begin} / {end} markers are missing")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
table = open(table_path).read().strip()
open(path, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
PY
  echo "updated $file"
done
