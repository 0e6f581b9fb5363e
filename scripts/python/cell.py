"""One repeat of one Python cell, run in a fresh interpreter by mirror.py.

Usage: python3 cell.py '<spec as JSON>'

The spec names a workload (`sleep` or `cpu`), a model (see kernel.MODELS),
the number of tasks and the parameters. The process pool or event loop is
built and warmed before the clock starts; `py-threads` starts one thread
per task inside the timed region, as the lab's `threads` does, so thread
creation is timed in both. CPU jobs are sized by calibrating the compute
kernel in this interpreter right before the timed region (fastest of
several runs; the spread is recorded). The timed region runs from just
before the first task is started until the last one has finished. Prints one JSON line
with the same fields as the Rust lab's repeat result, or an error line on
stderr with exit code 1.
"""

import asyncio
import concurrent.futures
import json
import resource
import sys
import threading
import time

import kernel


def read_status():
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return {
        "threads": int(fields.get("Threads", ["0"])[0]),
        "vm_hwm_kib": int(fields.get("VmHWM", ["0"])[0]),
    }


def task_body(workload, sleep_s, iterations):
    """One task of a thread or process model: blocking sleep or compute."""
    if workload == "sleep":
        time.sleep(sleep_s)
        return 0
    return kernel.spin(iterations)


def run_pool(executor, tasks, workload, sleep_s, iterations, start):
    """Submits every task and collects completion times since `start`."""
    futures = [
        executor.submit(task_body, workload, sleep_s, iterations) for _ in range(tasks)
    ]
    completions = []
    checksum = 0
    for future in concurrent.futures.as_completed(futures):
        checksum = (checksum + future.result()) & kernel.MASK
        completions.append(time.perf_counter() - start)
    return completions, checksum


def run_threads(tasks, workload, sleep_s, iterations, start):
    """One thread per task, created and started here (inside the timed
    region), then joined: the lab's `threads` model."""
    completions = []
    results = []
    lock = threading.Lock()

    def body():
        result = task_body(workload, sleep_s, iterations)
        with lock:
            results.append(result)
            completions.append(time.perf_counter() - start)

    threads = [threading.Thread(target=body) for _ in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checksum = 0
    for result in results:
        checksum = (checksum + result) & kernel.MASK
    return completions, checksum


async def run_asyncio(model, tasks, workload, sleep_s, iterations, start):
    completions = []
    checksum = 0

    async def one():
        nonlocal checksum
        if workload == "sleep":
            if model == "py-asyncio":
                await asyncio.sleep(sleep_s)
            elif model == "py-asyncio-blocking":
                time.sleep(sleep_s)  # the pitfall: blocks the event loop
            else:
                await asyncio.to_thread(time.sleep, sleep_s)  # the fix
        else:
            checksum = (checksum + kernel.spin(iterations)) & kernel.MASK
        completions.append(time.perf_counter() - start)

    await asyncio.gather(*(one() for _ in range(tasks)))
    return completions, checksum


def warm_asyncio(model):
    """Starts the event loop's default executor threads before timing."""

    async def warm():
        if model == "py-asyncio-to-thread":
            n = kernel.to_thread_workers()
            await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.01) for _ in range(n)))

    return warm()


def measure(spec):
    model = spec["model"]
    workload = spec["workload"]
    tasks = int(spec["tasks"])
    sleep_s = spec["sleep_ms"] / 1e3
    cores = kernel.cores()
    if model not in kernel.MODELS:
        raise ValueError(f"unknown model {model!r} (valid: {', '.join(kernel.MODELS)})")
    if workload not in ("sleep", "cpu"):
        raise ValueError(f"unknown workload {workload!r} (valid: sleep, cpu)")

    executor = None
    loop = None
    if model == "py-processes":
        executor = concurrent.futures.ProcessPoolExecutor(max_workers=cores)
        list(executor.map(time.sleep, [0.05] * cores))
    elif model.startswith("py-asyncio"):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(warm_asyncio(model))
    threads_before = read_status()["threads"]

    calibration = None
    if workload == "cpu":
        iters_per_us, spread = kernel.calibrate_with_spread()
        calibration = {"iters_per_us": iters_per_us, "spread": spread}
    else:
        iters_per_us = spec["iters_per_us"]
    iterations = kernel.iterations_for(spec["cpu_us"], iters_per_us)

    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if model == "py-threads":
        completions, checksum = run_threads(tasks, workload, sleep_s, iterations, start)
    elif executor is not None:
        completions, checksum = run_pool(executor, tasks, workload, sleep_s, iterations, start)
    elif loop is not None:
        completions, checksum = loop.run_until_complete(
            run_asyncio(model, tasks, workload, sleep_s, iterations, start)
        )
    else:
        completions, checksum = [], 0
        for _ in range(tasks):
            checksum = (checksum + task_body(workload, sleep_s, iterations)) & kernel.MASK
            completions.append(time.perf_counter() - start)
    wall_s = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)

    if executor is not None:
        executor.shutdown(wait=True)
    if loop is not None:
        loop.close()
    if len(completions) != tasks:
        raise RuntimeError(f"{tasks - len(completions)} of {tasks} tasks never finished")
    if workload == "cpu":
        expected = (kernel.spin(iterations) * tasks) & kernel.MASK
        if checksum != expected:
            raise RuntimeError(f"compute checksum {checksum:#x} differs from {expected:#x}")

    completions.sort()

    def at(q):
        rank = min(len(completions), max(1, -(-len(completions) * q // 1)))
        return completions[int(rank) - 1] * 1e3

    status = read_status()
    return {
        "wall_ms": wall_s * 1e3,
        "latency_ms": {"p50": at(0.5), "p99": at(0.99), "max": completions[-1] * 1e3},
        "cpu_user_ms": (usage.ru_utime - usage_before.ru_utime) * 1e3,
        "cpu_sys_ms": (usage.ru_stime - usage_before.ru_stime) * 1e3,
        "ctx_voluntary": usage.ru_nvcsw - usage_before.ru_nvcsw,
        "ctx_involuntary": usage.ru_nivcsw - usage_before.ru_nivcsw,
        "peak_rss_kib": max(status["vm_hwm_kib"], usage.ru_maxrss),
        "peak_threads": max(threads_before, status["threads"]),
        "calibration": calibration,
    }


def main():
    if len(sys.argv) != 2:
        print("error: usage: cell.py '<spec as JSON>'", file=sys.stderr)
        return 2
    try:
        result = measure(json.loads(sys.argv[1]))
    except Exception as error:  # one line for the parent, never a traceback
        print(f"error: {type(error).__name__}: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
