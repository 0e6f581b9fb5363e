//! Pinning changes the affinity of every thread in the process, so these
//! checks run in their own test binary, where no other test can be slowed.

#![cfg(target_os = "linux")]

use async_vs_blocking::lab::experiments::context_switch::{measure, Placement, SwitchCase};
use async_vs_blocking::lab::experiments::pin::{current_cpus, OneCore};
use std::sync::mpsc;

#[test]
fn pinning_holds_every_thread_on_one_cpu_and_then_lets_go() {
    let before = current_cpus().unwrap();

    // A thread that exists before the pin, and reports its CPUs on request.
    let (ask, asked) = mpsc::channel::<()>();
    let (tell, told) = mpsc::channel::<Vec<usize>>();
    let bystander = std::thread::spawn(move || {
        while asked.recv().is_ok() {
            tell.send(current_cpus().unwrap()).unwrap();
        }
    });

    let pinned = OneCore::pin_process().unwrap();
    assert_eq!(current_cpus().unwrap(), vec![pinned.cpu]);
    assert!(before.contains(&pinned.cpu));
    ask.send(()).unwrap();
    assert_eq!(told.recv().unwrap(), vec![pinned.cpu], "an existing thread");
    let born_pinned = std::thread::spawn(|| current_cpus().unwrap())
        .join()
        .unwrap();
    assert_eq!(
        born_pinned,
        vec![pinned.cpu],
        "a thread created while pinned"
    );
    drop(pinned);

    assert_eq!(current_cpus().unwrap(), before);
    ask.send(()).unwrap();
    assert_eq!(
        told.recv().unwrap(),
        before,
        "the existing thread is released"
    );
    drop(ask);
    bystander.join().unwrap();

    // Every pinned ping-pong works, and leaves the process unpinned.
    for case in SwitchCase::all() {
        if case.placement != Placement::OneCore {
            continue;
        }
        let run = measure(case, 100).unwrap();
        assert_eq!(run.echoed, 101, "{}", case.name());
        assert_eq!(current_cpus().unwrap(), before, "after {}", case.name());
    }
}
