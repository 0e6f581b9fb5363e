//! `cpu`: each task computes C µs of deterministic work. Only more cores
//! make it faster: the ideal is N·C/P on P cores, and a model that runs
//! everything on one thread (sequential, tokio-current) cannot beat N·C.

use super::{Op, Params, Workload};

pub struct Cpu;

impl Workload for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn description(&self) -> &'static str {
        "each task computes --cpu-us of calibrated, checked work (ideal: N*C/P on P cores)"
    }
    fn uses_sleep(&self) -> bool {
        false
    }
    fn uses_cpu(&self) -> bool {
        true
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![params.compute()]
    }
}
