"""The lab's compute kernel and the Python models' shared facts.

`spin` is the same chain of dependent multiply-xorshift steps as the Rust
lab's `compute::spin` (src/workload/compute.rs), on 64-bit integers, so the same
number of iterations gives the same checksum in both languages. Python runs
each step far more slowly, which is why every CPU job is given in
microseconds and converted to iterations with a calibrated rate.
"""

import os
import sys
import time

MASK = (1 << 64) - 1
SEED = 0x9E3779B97F4A7C15
MULTIPLIER = 0x5851F42D4C957F2D
INCREMENT = 0x14057B7EF767814F


def spin(iterations):
    """Runs `iterations` dependent steps and returns the final state."""
    x = SEED
    for _ in range(iterations):
        x = (x * MULTIPLIER + INCREMENT) & MASK
        x ^= x >> 29
    return x


def calibrate():
    """Iterations of `spin` per microsecond on one core: the fastest of
    several runs (slower runs are interference, not the core's speed)."""
    return calibrate_with_spread()[0]


def calibrate_with_spread():
    """(fastest rate, fastest ÷ slowest) over several runs of `spin`, in
    iterations per microsecond. Called in the cell's own interpreter right
    before the timed region, so the jobs are sized with the speed that
    interpreter has then (CPython specialises `spin` after its first calls);
    the spread says how steady the core was while calibrating."""
    iterations = 1 << 10
    while True:
        start = time.perf_counter()
        spin(iterations)
        if time.perf_counter() - start >= 0.002 or iterations >= 1 << 26:
            break
        iterations *= 2
    rates = []
    for _ in range(11):
        start = time.perf_counter()
        spin(iterations)
        micros = (time.perf_counter() - start) * 1e6
        if micros > 0:
            rates.append(iterations / micros)
    if not rates:
        return 0.001, 1.0
    best = max(max(rates), 0.001)
    return best, best / max(min(rates), 0.001)


def iterations_for(micros, iters_per_us):
    """The number of iterations that take `micros` at `iters_per_us`."""
    return max(1, round(micros * iters_per_us))


def cgroup_cpu_limit():
    """Whole cores allowed by this process's cgroup CPU quota, or None.

    Read the way Rust's `std::thread::available_parallelism` reads it (the
    lab's `measure::cores`): cgroup v2 `cpu.max`, else v1
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`, quota ÷ period rounded down,
    at least 1."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        try:
            if controllers == "":
                with open(f"/sys/fs/cgroup{path}/cpu.max") as f:
                    quota, period = f.read().split()[:2]
                if quota == "max":
                    return None
            elif "cpu" in controllers.split(","):
                base = f"/sys/fs/cgroup/{controllers}{path}"
                with open(f"{base}/cpu.cfs_quota_us") as f:
                    quota = f.read().strip()
                with open(f"{base}/cpu.cfs_period_us") as f:
                    period = f.read().strip()
                if int(quota) < 0:
                    return None
            else:
                continue
            return max(1, int(quota) // int(period))
        except (OSError, ValueError):
            continue
    return None


def cores():
    """Logical cores available to this process, counted as the lab counts
    them (Rust's available_parallelism): the CPU affinity mask, capped by
    the cgroup's CPU quota. The same machine must not look like two."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:
        count = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return min(count, limit) if limit else count


def gil_enabled():
    """False only on a free-threaded build running without the GIL."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def to_thread_workers():
    """Threads in asyncio's default executor (what asyncio.to_thread uses)."""
    return min(32, (os.cpu_count() or 1) + 4)


# The Python models: how many tasks can wait at once and how many can
# compute at once (before the core limit), as the lab's Model trait says.
MODELS = {
    # One task after another on the main thread.
    "py-sequential": {"wait": lambda tasks, cores: 1, "cpu": lambda tasks, cores: 1},
    # One threading.Thread per task, started inside the timed region like
    # the lab's `threads` (thread creation is timed); under the GIL only one
    # computes at a time.
    "py-threads": {
        "wait": lambda tasks, cores: tasks,
        "cpu": lambda tasks, cores: 1 if gil_enabled() else tasks,
    },
    # A ProcessPoolExecutor with one worker process per core.
    "py-processes": {"wait": lambda tasks, cores: cores, "cpu": lambda tasks, cores: cores},
    # asyncio coroutines awaiting asyncio.sleep: one thread.
    "py-asyncio": {"wait": lambda tasks, cores: tasks, "cpu": lambda tasks, cores: 1},
    # The pitfall: time.sleep inside coroutines blocks the event loop.
    "py-asyncio-blocking": {"wait": lambda tasks, cores: 1, "cpu": lambda tasks, cores: 1},
    # The fix: await asyncio.to_thread(time.sleep, ...) (the default executor).
    "py-asyncio-to-thread": {
        "wait": lambda tasks, cores: to_thread_workers(),
        "cpu": lambda tasks, cores: 1,
    },
}


def workers_used(model, tasks, cores_):
    """The `workers` field of a record: threads or processes that run tasks."""
    return {
        "py-sequential": 1,
        "py-threads": tasks,
        "py-processes": cores_,
        "py-asyncio": 1,
        "py-asyncio-blocking": 1,
        "py-asyncio-to-thread": to_thread_workers(),
    }[model]


def model_label(model):
    """The model name written in records: `-ft` marks a free-threaded
    interpreter running without the GIL (e.g. `py-threads-ft`)."""
    return model if gil_enabled() else model + "-ft"
