"""The lab's fan-out, CPU and blocking-in-async experiments, in Python.

Runs the same cells as the Rust lab — each task waits (`sleep`) or computes
(`cpu`) — under asyncio, threads (one threading.Thread per task), processes
(ProcessPoolExecutor) and one-after-another, with the standard library only.
Each repeat runs in a fresh interpreter (cell.py) whose thread count this
process samples from /proc while it runs. Every cell is appended to
`<out>/results.jsonl` the moment it finishes, with the same field names as
the lab's results.jsonl, so `async-vs-blocking report --input` can show Rust
and Python side by side.

What to look for: on the `cpu` workload, py-threads is no faster than
py-sequential (the GIL lets one thread run Python at a time), while
py-processes divides the time by the cores — and Rust's `threads` divides
it too. On a free-threaded interpreter (python3.13t and later with the GIL
off) every model name gets the suffix `-ft` and machine.crates says
`python-gil: disabled`.

Experiments (`--experiments`, comma-separated):
  fan-out            sleep: py-sequential, py-threads, py-asyncio, py-processes
  cpu                cpu:   py-sequential, py-threads, py-asyncio, py-processes
  blocking-in-async  sleep: py-asyncio vs py-asyncio-blocking (time.sleep) vs py-asyncio-to-thread

`py-threads` starts one thread per task inside the timed region, like the
lab's `threads`. CPU jobs are sized by calibrating the kernel in each cell's
interpreter right before its timed region (the fastest of several runs);
each record keeps the rate and its spread as `calibration`.
Blocking-in-async uses the lab's numbers (8 tasks × 25 ms, as the
blocking-freezes-loop claim), and the core count is read the way the lab
reads it (affinity mask capped by the cgroup CPU quota).

The fan-out defaults match the lab's `quick` sweep profile (src/lab/sweep.rs:
1, 10, 100 and 1,000 tasks, 20 ms waits), so after `async-vs-blocking sweep`
and this script, `async-vs-blocking report --input reports/data/results.jsonl
reports/python/results.jsonl` draws Rust and Python in the same charts. The
CPU default is 8 jobs of 20 ms — long enough that process start-up and
pickling do not hide the GIL; measure the lab with the same numbers
(`async-vs-blocking run --workload cpu --model threads --tasks 8 --cpu-us
20000 --json`) to chart them together. Cells expected to take longer than
--max-expected-ms are left out, as the lab's sweep does.
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

import kernel

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = ("fan-out", "cpu", "blocking-in-async")


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def read_int(path):
    try:
        return int(read_text(path))
    except ValueError:
        return 0


def machine():
    """The lab's machine block. `rustc` is empty (nothing here was built by
    rustc); `crates` carries the interpreter instead."""
    import resource

    cpu_model = "unknown"
    for line in read_text("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    thp_line = read_text("/sys/kernel/mm/transparent_hugepage/enabled")
    thp = next((w.strip("[]") for w in thp_line.split() if w.startswith("[")), thp_line)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        slack = max(0, libc.prctl(30, 0, 0, 0, 0))  # PR_GET_TIMERSLACK
    except (OSError, AttributeError):
        slack = 0

    def soft(limit):
        value = resource.getrlimit(limit)[0]
        return (1 << 64) - 1 if value == resource.RLIM_INFINITY else value

    return {
        "cores": kernel.cores(),
        "cpu_model": cpu_model,
        "kernel": read_text("/proc/sys/kernel/osrelease") or platform.release(),
        "rustc": "",
        "crates": {
            "python": platform.python_version(),
            "python-implementation": platform.python_implementation(),
            "python-gil": "enabled" if kernel.gil_enabled() else "disabled",
        },
        "thp": thp,
        "timer_slack_ns": slack,
        "rlimit_nofile": soft(resource.RLIMIT_NOFILE),
        "rlimit_nproc": soft(resource.RLIMIT_NPROC),
        "threads_max": read_int("/proc/sys/kernel/threads-max"),
    }


def proc_threads(pid):
    for line in read_text(f"/proc/{pid}/status").splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def run_repeat(spec, timeout_s):
    """Runs one repeat in a fresh interpreter: (result or None, error or None)."""
    child = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "cell.py"), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    peak_threads = 0
    deadline = time.monotonic() + timeout_s
    while child.poll() is None:
        peak_threads = max(peak_threads, proc_threads(child.pid))
        if time.monotonic() > deadline:
            os.killpg(child.pid, 9)
            child.wait()
            return None, ("timeout", f"a repeat ran longer than the {timeout_s} s timeout and was killed")
        time.sleep(0.002)
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        last = next((l for l in reversed(stderr.splitlines()) if l.strip()), "no detail")
        return None, ("failed", last.removeprefix("error: "))
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_threads"] = max(result["peak_threads"], peak_threads)
    return result, None


def ideal_ms(workload, tasks, sleep_ms, cpu_us, cores):
    """The lab's physical lower bound (Plan::ideal_ms)."""
    if workload == "sleep":
        return sleep_ms
    return -(-tasks // cores) * cpu_us / 1e3


def expected_ms(model, workload, tasks, sleep_ms, cpu_us, cores):
    """A rough estimate of a cell's time, to leave out cells that would blow the budget."""
    rules = kernel.MODELS[model]
    if workload == "sleep":
        return -(-tasks // rules["wait"](tasks, cores)) * sleep_ms
    parallel = min(rules["cpu"](tasks, cores), cores)
    return -(-tasks // parallel) * cpu_us / 1e3


def command_for(spec, repeats):
    """The mirror command that measures this cell again."""
    args = ["scripts/python_mirror.sh", "--experiments", spec["experiment"], "--models", spec["model"]]
    if spec["experiment"] == "blocking-in-async":
        args += ["--blocking-tasks", str(spec["tasks"]), "--blocking-sleep-ms", f"{spec['sleep_ms']:g}"]
    elif spec["workload"] == "sleep":
        args += ["--tasks", str(spec["tasks"]), "--sleep-ms", f"{spec['sleep_ms']:g}"]
    else:
        args += ["--cpu-tasks", str(spec["tasks"]), "--cpu-us", f"{spec['cpu_us']:g}"]
    args += ["--repeat", str(repeats)]
    return " ".join(shlex.quote(a) for a in args)


def measure_cell(spec, repeats, timeout_s, machine_block, invocation):
    started = int(time.time())
    cores = machine_block["cores"]
    results, status, error = [], "ok", None
    for _ in range(max(1, repeats)):
        result, failure = run_repeat(spec, timeout_s)
        if failure:
            status, error = failure
            break
        results.append(result)
    walls = [r["wall_ms"] for r in results]
    if walls:
        median = statistics.median(walls)
        # The representative repeat: the middle one (lower of two for an even count).
        order = sorted(range(len(walls)), key=lambda i: walls[i])
        representative = results[order[(len(walls) - 1) // 2]]
        wall = {"min": min(walls), "median": median, "max": max(walls)}
    else:
        median, representative = 0.0, None
        wall = {"min": 0.0, "median": 0.0, "max": 0.0}
    ideal = ideal_ms(spec["workload"], spec["tasks"], spec["sleep_ms"], spec["cpu_us"], cores)
    rep = representative or {}
    calibrations = [r["calibration"] for r in results if r.get("calibration")]
    return {
        "workload": spec["workload"],
        "model": kernel.model_label(spec["model"]),
        "tasks": spec["tasks"],
        "workers": kernel.workers_used(spec["model"], spec["tasks"], cores),
        "sleep_ms": spec["sleep_ms"] if spec["workload"] == "sleep" else 0.0,
        "cpu_us": spec["cpu_us"] if spec["workload"] == "cpu" else 0.0,
        "repeats": len(results),
        "wall_ms": wall,
        "ideal_ms": ideal,
        "efficiency": ideal / median if median > 0 else 0.0,
        "latency_ms": rep.get("latency_ms", {"p50": 0.0, "p99": 0.0, "max": 0.0}),
        "peak_rss_kib": max((r["peak_rss_kib"] for r in results), default=0),
        "peak_threads": max((r["peak_threads"] for r in results), default=0),
        "cpu_user_ms": rep.get("cpu_user_ms", 0.0),
        "cpu_sys_ms": rep.get("cpu_sys_ms", 0.0),
        "ctx_voluntary": rep.get("ctx_voluntary", 0),
        "ctx_involuntary": rep.get("ctx_involuntary", 0),
        "status": status,
        "error": error,
        "machine": machine_block,
        "legacy": False,
        "reply_bytes": None,
        "bytes_per_s": None,
        "stack_kib": None,
        "noisy": bool(wall["min"] > 0 and wall["max"] / wall["min"] > 1.5),
        "profile": "python-mirror",
        "started_unix_s": started,
        "command": command_for(spec, repeats),
        "invocation": invocation,
        # Per repeat: the compute rate its interpreter measured right before
        # timing (iterations/µs) and fastest ÷ slowest of the calibration runs.
        "calibration": calibrations or None,
    }


def cells(args):
    """The cells of the chosen experiments, in order: (experiment, workload, model, tasks)."""
    chosen = []
    for experiment in args.experiments:
        if experiment == "fan-out":
            for tasks in args.tasks:
                for model in ("py-sequential", "py-threads", "py-asyncio", "py-processes"):
                    chosen.append((experiment, "sleep", model, tasks))
        elif experiment == "cpu":
            for tasks in args.cpu_tasks:
                for model in ("py-sequential", "py-threads", "py-asyncio", "py-processes"):
                    chosen.append((experiment, "cpu", model, tasks))
        elif experiment == "blocking-in-async":
            for model in ("py-asyncio", "py-asyncio-blocking", "py-asyncio-to-thread"):
                chosen.append((experiment, "sleep", model, args.blocking_tasks))
    if args.models:
        chosen = [c for c in chosen if c[2] in args.models]
    return chosen


def comma_list(valid, kind):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        for item in items:
            if item not in valid:
                raise argparse.ArgumentTypeError(
                    f"unknown {kind} {item!r} (valid: {', '.join(valid)})"
                )
        return items

    return parse


def positive_ints(text):
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("task counts must be at least 1")
    return values


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


class OneLineParser(argparse.ArgumentParser):
    """Bad input: one line on stderr and exit code 2, like the lab."""

    def error(self, message):
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    parser = OneLineParser(
        prog="python_mirror.sh",
        description="The lab's fan-out, CPU and blocking-in-async experiments in Python (stdlib only).",
    )
    parser.add_argument("--experiments", type=comma_list(EXPERIMENTS, "experiment"),
                        default=list(EXPERIMENTS), help="comma-separated: " + ", ".join(EXPERIMENTS))
    parser.add_argument("--models", type=comma_list(tuple(kernel.MODELS), "model"), default=[],
                        help="only these models [default: every model of each experiment]")
    parser.add_argument("--tasks", type=positive_ints, default=[1, 10, 100, 1000],
                        help="fan-out task counts, comma-separated [default: 1,10,100,1000]")
    parser.add_argument("--sleep-ms", type=positive_float, default=20.0,
                        help="wait per task in the fan-out, ms [default: 20]")
    parser.add_argument("--cpu-tasks", type=positive_ints, default=[8],
                        help="CPU job counts, comma-separated [default: 8]")
    parser.add_argument("--cpu-us", type=positive_float, default=20_000.0,
                        help="compute per CPU job, µs [default: 20000]")
    parser.add_argument("--blocking-tasks", type=int, default=8,
                        help="tasks in blocking-in-async [default: 8]")
    parser.add_argument("--blocking-sleep-ms", type=positive_float, default=25.0,
                        help="wait per task in blocking-in-async, ms [default: 25, as the lab]")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per cell, each a fresh interpreter [default: 3]")
    parser.add_argument("--timeout-s", type=positive_float, default=60.0, help="seconds one repeat may take [default: 60]")
    parser.add_argument("--max-expected-ms", type=positive_float, default=2_500.0,
                        help="leave out cells expected to take longer than this [default: 2500]")
    parser.add_argument("--out", default="reports/python", help="directory for results.jsonl [default: reports/python]")
    args = parser.parse_args(argv)
    if args.blocking_tasks < 1 or args.repeat < 1:
        parser.error("--blocking-tasks and --repeat must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "results.jsonl")
        open(path, "w").close()
    except OSError as error:
        print(f"error: cannot write to {args.out}: {error} (choose another with --out)", file=sys.stderr)
        return 2
    invocation = " ".join(shlex.quote(a) for a in [sys.argv[0]] + argv)
    block = machine()
    # Each CPU cell calibrates again in its own interpreter right before
    # timing; this figure is only for the banner.
    iters_per_us = kernel.calibrate()
    gil = "enabled" if kernel.gil_enabled() else "DISABLED (free-threaded build; models end in -ft)"
    print(f"Python {platform.python_version()}, GIL {gil}, {block['cores']} cores, "
          f"compute kernel about {iters_per_us:.2f} iterations/µs", file=sys.stderr)
    for experiment, workload, model, tasks in cells(args):
        sleep_ms = args.blocking_sleep_ms if experiment == "blocking-in-async" else args.sleep_ms
        spec = {
            "experiment": experiment,
            "workload": workload,
            "model": model,
            "tasks": tasks,
            "sleep_ms": sleep_ms,
            "cpu_us": args.cpu_us,
            "iters_per_us": iters_per_us,
        }
        label = f"{experiment}: {workload} / {kernel.model_label(model)} / {tasks} tasks"
        expected = expected_ms(model, workload, tasks, sleep_ms, args.cpu_us, block["cores"])
        if expected > args.max_expected_ms:
            print(f"{label}: left out, expected {expected / 1e3:.1f} s > --max-expected-ms", file=sys.stderr)
            continue
        record = measure_cell(spec, args.repeat, args.timeout_s, block, invocation)
        with open(path, "a") as out:
            out.write(json.dumps(record) + "\n")
        if record["status"] == "ok":
            w = record["wall_ms"]
            spreads = [c["spread"] for c in record["calibration"] or []]
            calibrated = f", calibration spread up to ×{max(spreads):.2f}" if spreads else ""
            print(f"{label}: median {w['median']:.1f} ms (min {w['min']:.1f}, max {w['max']:.1f}), "
                  f"ideal {record['ideal_ms']:.1f} ms, efficiency {record['efficiency']:.2f}{calibrated}",
                  file=sys.stderr)
        else:
            print(f"{label}: {record['status']} ({record['error']})", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
