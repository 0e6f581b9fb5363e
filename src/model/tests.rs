//! Checks every model against the same small plans: every task runs once,
//! computes its checksum, and the physics holds.

use super::*;
use crate::workload::Params;

fn batch(workload: &str, tasks: u64, sleep_ms: f64, cpu_us: f64) -> Arc<Batch> {
    let plan = crate::workload::by_name(workload)
        .unwrap()
        .plan(&Params::new(tasks, sleep_ms, cpu_us, 50.0));
    Arc::new(Batch::new(plan))
}

fn config() -> ModelConfig {
    ModelConfig {
        workers: 2,
        stack_kib: None,
    }
}

#[test]
fn every_model_finishes_every_task_with_the_right_checksum() {
    for model in all() {
        let mut runner = model.prepare(&config()).unwrap();
        let batch = batch("cpu", 9, 0.0, 100.0);
        batch.begin();
        runner.run(&batch).unwrap();
        batch
            .verify()
            .unwrap_or_else(|e| panic!("{}: {e}", model.name()));
    }
}

#[test]
fn verify_catches_a_task_that_never_ran() {
    let batch = batch("cpu", 3, 0.0, 10.0);
    batch.begin();
    let checksum = batch.plan.checksum_per_task();
    batch.done(0, checksum);
    batch.done(1, checksum);
    let error = batch.verify().unwrap_err().to_string();
    assert!(error.contains("1 of 3 tasks never finished"), "{error}");
}

#[test]
fn verify_catches_skipped_compute() {
    let batch = batch("cpu", 2, 0.0, 10.0);
    batch.begin();
    batch.done(0, 0);
    batch.done(1, 0);
    assert!(batch.verify().unwrap_err().to_string().contains("checksum"));
}

#[test]
fn waits_overlap_in_concurrent_models_and_not_in_sequential() {
    // 20 waits of 30 ms: one after another that is at least 600 ms; overlapped,
    // far less. The bound for "overlapped" is wide (a quarter of serial).
    for name in ["threads", "tokio", "tokio-current", "async-std", "smol"] {
        let model = by_name(name).unwrap();
        let mut runner = model.prepare(&config()).unwrap();
        let batch = batch("sleep", 20, 30.0, 0.0);
        let start = batch.begin();
        runner.run(&batch).unwrap();
        let wall = start.elapsed();
        assert!(wall >= Duration::from_millis(30), "{name}: {wall:?}");
        assert!(
            wall < Duration::from_millis(150),
            "{name} did not overlap waits: {wall:?}"
        );
    }
    let mut runner = by_name("sequential").unwrap().prepare(&config()).unwrap();
    let batch = batch("sleep", 20, 30.0, 0.0);
    let start = batch.begin();
    runner.run(&batch).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(600));
}

#[test]
fn a_pool_overlaps_only_as_many_waits_as_it_has_workers() {
    for name in ["thread-pool", "rayon"] {
        let mut runner = by_name(name).unwrap().prepare(&config()).unwrap();
        // 8 waits of 25 ms on 2 workers: at least 4 rounds = 100 ms.
        let batch = batch("sleep", 8, 25.0, 0.0);
        let start = batch.begin();
        runner.run(&batch).unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{name}: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn an_async_task_stays_small_whatever_ops_it_could_perform() {
    // Every task's future is as large as the largest state any op keeps
    // across an await. The socket client's read buffer must not be carried
    // by every sleeping task, or memory per task measures the interpreter,
    // not the runtime.
    let batch = batch("sleep", 1, 1.0, 0.0);
    let future = async_task::<super::tokio_multi::TokioPrimitives>(batch, 0);
    let bytes = std::mem::size_of_val(&future);
    assert!(bytes < 512, "an async task's future is {bytes} bytes");
}

/// A `file` (or `file-cold`) batch of `tasks` tasks reading `bytes`-byte
/// files, and the files it reads (removed when dropped).
fn file_batch(
    cold: bool,
    tasks: u64,
    bytes: u64,
) -> (Arc<Batch>, crate::workload::files::TaskFiles) {
    let workload = if cold { "file-cold" } else { "file" };
    let mut plan = crate::workload::by_name(workload)
        .unwrap()
        .plan(&Params::new(tasks, 0.0, 0.0, 50.0));
    for op in &mut plan.ops {
        if let Op::ReadFile(file) = op {
            file.bytes = bytes;
        }
    }
    let files = crate::workload::files::TaskFiles::write(tasks, bytes).unwrap();
    plan.set_file_dir(files.dir());
    files.prepare(cold).unwrap();
    (Arc::new(Batch::new(plan)), files)
}

#[test]
fn every_model_reads_every_file_and_checks_every_byte_warm_and_cold() {
    for model in all() {
        let mut runner = model.prepare(&config()).unwrap();
        for cold in [false, true] {
            // Not a whole number of pages, nor of read buffers.
            let (batch, _files) = file_batch(cold, 7, 5_000);
            batch.begin();
            runner.run(&batch).unwrap();
            batch
                .verify()
                .unwrap_or_else(|e| panic!("{} (cold: {cold}): {e}", model.name()));
        }
    }
}

#[test]
fn a_file_with_a_wrong_byte_or_missing_fails_its_task_in_every_model() {
    for model in all() {
        let mut runner = model.prepare(&config()).unwrap();
        let (batch, files) = file_batch(false, 3, 2_000);
        let path = crate::workload::task_file(files.dir(), 1);
        let mut contents = std::fs::read(&path).unwrap();
        contents[1_500] ^= 1;
        std::fs::write(&path, contents).unwrap();
        std::fs::remove_file(crate::workload::task_file(files.dir(), 2)).unwrap();
        batch.begin();
        runner.run(&batch).unwrap();
        let error = batch.verify().unwrap_err().to_string();
        // Whichever task failed first: the corrupt byte, or the missing
        // file named (async-std words the error its own way).
        assert!(
            (error.contains("task 1:") && error.contains("byte 1500"))
                || (error.contains("task 2:") && error.contains("task-2")),
            "{}: {error}",
            model.name()
        );
    }
}

#[test]
fn a_file_task_without_its_files_says_so() {
    let plan = crate::workload::by_name("file")
        .unwrap()
        .plan(&Params::new(1, 0.0, 0.0, 50.0));
    let batch = Arc::new(Batch::new(plan));
    batch.begin();
    blocking_task(&batch, 0);
    let error = batch.verify().unwrap_err().to_string();
    assert!(error.contains("given no files"), "{error}");
}

#[test]
fn a_sleeping_tasks_future_keeps_little_beside_the_runtimes_timer() {
    // What the lab's tokio task holds beyond the Sleep a bare program would
    // spawn: within TASK_STATE_MAX_BYTES, tokio's task cell stays in the
    // same 128-byte size class as the bare program's.
    let lab = async_task::<tokio_multi::TokioPrimitives>(batch("sleep", 1, 1.0, 0.0), 0);
    let extra = std::mem::size_of_val(&lab) - std::mem::size_of::<tokio::time::Sleep>();
    assert!(
        extra <= TASK_STATE_MAX_BYTES,
        "a sleeping task keeps {extra} bytes beside its Sleep (at most {TASK_STATE_MAX_BYTES})"
    );
}
