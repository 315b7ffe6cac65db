//! [`Transport`]: how the coordinator and the resolvers reach a shard's
//! participant — request/response messages ([`crate::cluster::messages`]),
//! so that a shard could live in another process — and the faults a test
//! can inject on the way.
//!
//! This build's transport delivers in process. A [`FaultPlan`] makes it
//! behave like a bad network, message by message:
//!
//! ```text
//!   drop request   the shard never sees it       caller: Timeout
//!   drop reply     the shard acts, reply lost    caller: Timeout
//!   duplicate      the shard sees it twice       caller: the second reply
//!   delay          delivered after a pause       caller: the reply, late
//!   reorder        delivered later, in the       caller: Timeout (the message
//!                  background, after newer ones          still arrives later)
//!   unreachable    a shard cut off entirely      caller: Unreachable
//! ```
//!
//! Faults are drawn from a seeded generator, so a failing run can be
//! repeated. Every request is idempotent, so callers just retry.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::cluster::messages::{Request, Response};
use crate::cluster::shard::Shard;
use crate::{Error, Result};

/// Faults to inject, each a probability per message (0.0 = never).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// A request is lost before the shard sees it.
    pub drop_request: f64,
    /// The shard acts on a request but its reply is lost.
    pub drop_reply: f64,
    /// A request is delivered twice.
    pub duplicate: f64,
    /// A request is delivered after `delay`.
    pub delay_probability: f64,
    /// How long a delayed message waits.
    pub delay: Duration,
    /// A request is held back and delivered later (after `delay`, in the
    /// background), so newer messages overtake it; the caller times out.
    pub reorder: f64,
    /// Shards cut off from everyone.
    pub unreachable: BTreeSet<u16>,
}

impl FaultPlan {
    /// No faults: every message is delivered at once, exactly once.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// True when no fault can happen.
    pub fn is_clean(&self) -> bool {
        self.drop_request == 0.0
            && self.drop_reply == 0.0
            && self.duplicate == 0.0
            && self.delay_probability == 0.0
            && self.reorder == 0.0
            && self.unreachable.is_empty()
    }
}

/// Messages that met a fault, for tests and run reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Requests delivered.
    pub delivered: u64,
    /// Requests dropped before the shard.
    pub dropped_requests: u64,
    /// Replies dropped after the shard acted.
    pub dropped_replies: u64,
    /// Requests delivered twice.
    pub duplicated: u64,
    /// Requests delivered late.
    pub delayed: u64,
    /// Requests held back and delivered after newer ones.
    pub reordered: u64,
    /// Requests refused because the shard was cut off or down.
    pub unreachable: u64,
}

/// Why a message got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// No reply in time (lost, or held back): the request may or may not
    /// have taken effect.
    Timeout,
    /// The shard is cut off or down: the request did not take effect.
    Unreachable,
}

/// The in-process transport with fault injection. See the module docs.
pub struct Transport {
    faults: RwLock<FaultPlan>,
    rng: Mutex<SplitMix64>,
    stats: Mutex<TransportStats>,
    /// How long a caller waits before a lost message counts as timed out.
    timeout: Duration,
    in_background: Arc<AtomicU64>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("faults", &*self.faults.read())
            .field("stats", &*self.stats.lock())
            .finish()
    }
}

impl Transport {
    /// A transport without faults; a lost message is noticed after `timeout`.
    pub fn new(timeout: Duration, seed: u64) -> Transport {
        Transport {
            faults: RwLock::new(FaultPlan::none()),
            rng: Mutex::new(SplitMix64(seed)),
            stats: Mutex::new(TransportStats::default()),
            timeout,
            in_background: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        *self.faults.write() = plan;
    }

    /// The current fault plan.
    pub fn faults(&self) -> FaultPlan {
        self.faults.read().clone()
    }

    /// Cuts `shard` off (or reconnects it).
    pub fn set_unreachable(&self, shard: u16, unreachable: bool) {
        let mut faults = self.faults.write();
        if unreachable {
            faults.unreachable.insert(shard);
        } else {
            faults.unreachable.remove(&shard);
        }
    }

    /// Counts of the faults met so far.
    pub fn stats(&self) -> TransportStats {
        *self.stats.lock()
    }

    /// Messages held back (reordered) and not delivered yet.
    pub fn in_background(&self) -> u64 {
        self.in_background.load(Ordering::SeqCst)
    }

    /// Sends `request` to `shard` and returns its reply, or why none came.
    pub fn call(
        &self,
        shard: &Arc<Shard>,
        request: Request,
    ) -> std::result::Result<Result<Response>, Undelivered> {
        let plan = self.faults.read().clone();
        if plan.unreachable.contains(&shard.number()) || !shard.is_up() {
            self.stats.lock().unreachable += 1;
            return Err(Undelivered::Unreachable);
        }
        if plan.is_clean() {
            self.stats.lock().delivered += 1;
            return Ok(shard.handle(request));
        }
        if self.chance(plan.drop_request) {
            self.stats.lock().dropped_requests += 1;
            std::thread::sleep(self.timeout);
            return Err(Undelivered::Timeout);
        }
        if self.chance(plan.reorder) {
            self.stats.lock().reordered += 1;
            let shard = Arc::clone(shard);
            let delay = plan.delay.max(Duration::from_millis(1));
            let pending = Arc::clone(&self.in_background);
            pending.fetch_add(1, Ordering::SeqCst);
            let spawned = std::thread::Builder::new()
                .name("isodb-late-message".into())
                .spawn(move || {
                    std::thread::sleep(delay);
                    let _ = shard.handle(request);
                    pending.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                self.in_background.fetch_sub(1, Ordering::SeqCst);
            }
            std::thread::sleep(self.timeout);
            return Err(Undelivered::Timeout);
        }
        if self.chance(plan.delay_probability) {
            self.stats.lock().delayed += 1;
            std::thread::sleep(plan.delay);
        }
        let duplicate = self.chance(plan.duplicate);
        let mut reply = shard.handle(request.clone());
        if duplicate {
            self.stats.lock().duplicated += 1;
            reply = shard.handle(request);
        }
        if self.chance(plan.drop_reply) {
            self.stats.lock().dropped_replies += 1;
            std::thread::sleep(self.timeout);
            return Err(Undelivered::Timeout);
        }
        self.stats.lock().delivered += 1;
        Ok(reply)
    }

    fn chance(&self, probability: f64) -> bool {
        probability > 0.0 && self.rng.lock().next_f64() < probability
    }
}

/// Turns an undelivered message into the engine error a caller reports.
pub(crate) fn undelivered_error(shard: u16, request: &str, why: Undelivered) -> Error {
    Error::ShardUnavailable {
        shard,
        reason: match why {
            Undelivered::Timeout => format!("no reply to {request} in time"),
            Undelivered::Unreachable => "the shard is down or cut off".into(),
        },
    }
}

/// A small, seedable generator (SplitMix64) for fault decisions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_repeatable_and_roughly_uniform() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        let draws: Vec<f64> = (0..1000).map(|_| a.next_f64()).collect();
        assert!(draws.iter().all(|&x| (0.0..1.0).contains(&x)));
        assert_eq!(
            draws[..10],
            (0..10).map(|_| b.next_f64()).collect::<Vec<_>>()[..]
        );
        let below_half = draws.iter().filter(|&&x| x < 0.5).count();
        assert!((400..600).contains(&below_half), "{below_half}");
    }
}
