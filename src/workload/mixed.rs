//! `mixed`: each task waits D, then computes C — a request handler that
//! fetches something and then works on it. The ideal is D + N·C/P: the
//! waits overlap, the compute needs cores.

use super::{Op, Params, Workload};

pub struct Mixed;

impl Workload for Mixed {
    fn name(&self) -> &'static str {
        "mixed"
    }
    fn description(&self) -> &'static str {
        "each task waits --sleep-ms, then computes --cpu-us (ideal: D + N*C/P)"
    }
    fn uses_sleep(&self) -> bool {
        true
    }
    fn uses_cpu(&self) -> bool {
        true
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![params.sleep(), params.compute()]
    }
}
