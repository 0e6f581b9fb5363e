"""Prints one lab record (JSON on stdin) as a Markdown table row; used by measured_here.sh."""
import json
import sys

r = json.load(sys.stdin)
w = r["wall_ms"]
cells = [
    sys.argv[1],
    r["model"],
    str(r["tasks"]),
    f"{w['min']:.1f} / {w['median']:.1f} / {w['max']:.1f}",
    f"{r['ideal_ms']:.1f}",
    f"{r['efficiency']:.2f}",
    str(r["peak_threads"]),
    f"{r['peak_rss_kib'] / 1024:.1f}",
    r["status"] if not r.get("error") else f"{r['status']}: {r['error']}",
]
print("| " + " | ".join(cells) + " |")
