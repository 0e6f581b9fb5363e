//! Servers under load: every model's HTTP server driven by the open-loop
//! load generator ([`load`]) over a sweep of offered rates ([`sweep`]), and
//! the seeds' own Python servers beside them ([`python`]), and the same
//! experiment exported as a Locust file ([`locust`]). It may import the lab
//! and every part below it, never claims, report or cli.

pub mod converge;
pub mod load;
pub mod locust;
pub mod placement;
pub mod python;
pub mod sweep;
