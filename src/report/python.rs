//! The Python mirror's models (`scripts/python/`), as the report shows them
//! beside the lab's: their order and how each runs tasks. What the CPU
//! workload says about the GIL is in [`super::gil`].

/// The suffix the mirror gives every model on a free-threaded interpreter
/// running without the GIL.
pub const FREE_THREADED: &str = "-ft";

/// The mirror's models in the order its experiments run them, with their
/// style and how they run tasks.
const MODELS: &[(&str, &str, &str)] = &[
    (
        "py-sequential",
        "blocking",
        "Python: one task after another on the main thread (Python's baseline for speedup)",
    ),
    (
        "py-threads",
        "blocking",
        "Python: one thread per task (a ThreadPoolExecutor sized to the tasks)",
    ),
    (
        "py-processes",
        "blocking",
        "Python: a ProcessPoolExecutor with one worker process per core",
    ),
    (
        "py-asyncio",
        "async",
        "Python: asyncio coroutines on one event loop thread, awaiting asyncio.sleep",
    ),
    (
        "py-asyncio-blocking",
        "async",
        "Python: asyncio with time.sleep inside the coroutines — the pitfall: it blocks the event loop",
    ),
    (
        "py-asyncio-to-thread",
        "async",
        "Python: asyncio awaiting asyncio.to_thread(time.sleep) — the fix: the wait moves to the default thread pool",
    ),
];

/// The mirror model's name without the free-threaded suffix.
pub fn base(model: &str) -> &str {
    model.strip_suffix(FREE_THREADED).unwrap_or(model)
}

/// The position of a mirror model in [`MODELS`], if it is one.
pub fn rank(model: &str) -> Option<usize> {
    let name = base(model);
    MODELS.iter().position(|(known, _, _)| *known == name)
}

/// (style, description) of a mirror model, if it is one.
pub fn describe(model: &str) -> Option<(&'static str, String)> {
    let (_, style, description) = MODELS.get(rank(model)?)?;
    let mut description = description.to_string();
    if model.ends_with(FREE_THREADED) {
        description += "; a free-threaded interpreter with the GIL off";
    }
    Some((style, description))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_models_are_ranked_and_described() {
        assert_eq!(rank("py-sequential"), Some(0));
        assert_eq!(rank("py-threads-ft"), Some(1));
        assert_eq!(rank("tokio"), None);
        let (style, text) = describe("py-asyncio-blocking").unwrap();
        assert_eq!(style, "async");
        assert!(text.contains("time.sleep"));
        assert!(describe("py-threads-ft").unwrap().1.contains("GIL off"));
    }
}
