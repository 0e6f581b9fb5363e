//! `sleep`: each task waits D and does nothing else — the stand-in for a
//! slow service. N waits can overlap completely, so the ideal is D whatever
//! N is; a model that cannot overlap them pays N·D / (its concurrency).

use super::{Op, Params, Workload};

pub struct Sleep;

impl Workload for Sleep {
    fn name(&self) -> &'static str {
        "sleep"
    }
    fn description(&self) -> &'static str {
        "each task waits --sleep-ms (simulated I/O; ideal: one wait, however many tasks)"
    }
    fn uses_sleep(&self) -> bool {
        true
    }
    fn uses_cpu(&self) -> bool {
        false
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![params.sleep()]
    }
}
