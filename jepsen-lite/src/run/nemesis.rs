//! The nemesis: one thread that injects faults on a schedule and records each as a window.
//!
//! ```text
//! time ──▶ |── quiet (interval) ──|▓▓ crash ▓▓|── quiet ──|▓▓ pause ▓▓|── quiet ──|▓ slow ▓| …
//! ```
//!
//! Faults take turns in the order given. How each is realized (see [`crate::run::node`]):
//!
//! | fault | what happens | window |
//! | --- | --- | --- |
//! | `crash` | every session and open transaction is abandoned, the last `Database` handle dropped, the directory reopened after `fault_duration` | from abandoning to reopened |
//! | `pause` | a gate in front of every statement closes: clients stall mid-transaction, holding their locks | `fault_duration` |
//! | `slow-disk` | every fsync of the log takes `commit_delay` longer (`Store::set_sync_delay`): synced commits queue behind the disk, holding their locks | `fault_duration` |
//! | `shard-crash` | one shard (in turn) crashes, stays down `fault_duration`, restarts and settles its in-doubt transactions; sessions survive | from the crash to restarted |
//! | `partition` | one shard (in turn) is cut off from the commit protocol's messages | `fault_duration` |
//! | `message-faults` | the commit protocol's messages are dropped, duplicated, delayed and reordered (5%, 5%, 5%, 10%, 3%) | `fault_duration` |
//!
//! The last two need a database of several shards (`--shards`); with one shard no transaction
//! sends a protocol message.
//!
//! No fault starts unless it can end before the deadline (a crash may overrun by the time the
//! clients take to give back their sessions and the directory takes to reopen).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::run::node::Node;
use crate::run::recorder::{Fault, Recorder};

/// When and how the nemesis strikes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NemesisPlan {
    /// The faults, in turn; empty for no nemesis.
    pub faults: Vec<Fault>,
    /// Quiet time before each fault.
    #[serde(serialize_with = "serialize_millis")]
    pub interval: Duration,
    /// How long a fault lasts (a crash: the downtime before reopening).
    #[serde(serialize_with = "serialize_millis")]
    pub fault_duration: Duration,
    /// The slow-disk fault's delay per COMMIT.
    #[serde(serialize_with = "serialize_millis")]
    pub commit_delay: Duration,
}

fn serialize_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// Sleeps until `until` or `deadline`, whichever is first; false when the deadline came.
fn sleep_until(until: Instant, deadline: Instant) -> bool {
    let end = until.min(deadline);
    let now = Instant::now();
    if end > now {
        std::thread::sleep(end - now);
    }
    until <= deadline
}

/// Runs the plan until `deadline`; reopen failures are appended to `errors`.
pub fn run_nemesis(
    plan: &NemesisPlan,
    node: &Node,
    recorder: &Recorder,
    deadline: Instant,
    errors: &Mutex<Vec<String>>,
) {
    if plan.faults.is_empty() {
        return;
    }
    for turn in 0.. {
        if !sleep_until(Instant::now() + plan.interval, deadline)
            || Instant::now() + plan.fault_duration > deadline
        {
            return;
        }
        let fault = plan.faults[turn % plan.faults.len()];
        // Shard faults strike the shards in turn.
        let shard = ((turn / plan.faults.len()) % usize::from(node.shard_count())) as u16;
        recorder.fault_started(fault);
        match fault {
            Fault::Crash => {
                if let Err(e) = node.crash_and_restart(plan.fault_duration) {
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!("reopening after a crash failed: {e}"));
                    recorder.fault_healed(fault);
                    return;
                }
            }
            Fault::Pause => {
                node.set_paused(true);
                sleep_until(Instant::now() + plan.fault_duration, deadline);
                node.set_paused(false);
            }
            Fault::SlowDisk => {
                node.set_commit_delay(Some(plan.commit_delay));
                sleep_until(Instant::now() + plan.fault_duration, deadline);
                node.set_commit_delay(None);
            }
            Fault::ShardCrash => {
                if let Err(e) = node.crash_shard_and_restart(shard, plan.fault_duration) {
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!(
                            "restarting shard {shard} after a crash failed: {e}"
                        ));
                    recorder.fault_healed(fault);
                    return;
                }
            }
            Fault::Partition => node.partition(shard, plan.fault_duration),
            Fault::MessageFaults => node.message_faults(plan.fault_duration),
        }
        recorder.fault_healed(fault);
    }
}
