//! Which key a generated micro-operation touches: uniform, Zipf-skewed, or one hot key.
//!
//! ```text
//! uniform   every key 0..n equally likely
//! zipf      key i with probability ∝ 1 / (i + 1)^s   (s = 1.0: key 0 about n/ln n times key n-1)
//! hot       key 0 half of the time, otherwise uniform over 0..n
//! ```
//!
//! The Zipf sampler precomputes the cumulative distribution once and draws by binary search,
//! so a draw costs `O(log n)` and no floating-point pow per draw.

use rand::Rng;

use crate::history::Key;

/// How keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Zipf with exponent 1: low keys are hot, the tail is long.
    Zipf,
    /// Key 0 takes half of all accesses.
    Hot,
}

/// Draws keys `0..count` according to a [`KeyDistribution`].
#[derive(Clone, Debug)]
pub struct KeySampler {
    distribution: KeyDistribution,
    count: u64,
    /// Cumulative probabilities for Zipf (empty otherwise); the last entry is 1.0.
    cumulative: Vec<f64>,
}

impl KeySampler {
    /// A sampler over `count` keys (at least one).
    pub fn new(distribution: KeyDistribution, count: u64) -> Self {
        let count = count.max(1);
        let mut cumulative = Vec::new();
        if distribution == KeyDistribution::Zipf {
            let weights: Vec<f64> = (0..count).map(|i| 1.0 / (i as f64 + 1.0)).collect();
            let total: f64 = weights.iter().sum();
            let mut running = 0.0;
            for w in weights {
                running += w / total;
                cumulative.push(running);
            }
            if let Some(last) = cumulative.last_mut() {
                *last = 1.0;
            }
        }
        KeySampler {
            distribution,
            count,
            cumulative,
        }
    }

    /// How many keys there are.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// One key.
    pub fn sample(&self, rng: &mut impl Rng) -> Key {
        let index = match self.distribution {
            KeyDistribution::Uniform => rng.gen_range(0..self.count),
            KeyDistribution::Hot => {
                if rng.gen_bool(0.5) {
                    0
                } else {
                    rng.gen_range(0..self.count)
                }
            }
            KeyDistribution::Zipf => {
                let u: f64 = rng.r#gen();
                self.cumulative.partition_point(|&c| c < u) as u64
            }
        };
        index.min(self.count - 1) as Key
    }

    /// Two different keys (the same key twice when there is only one).
    pub fn sample_pair(&self, rng: &mut impl Rng) -> (Key, Key) {
        let a = self.sample(rng);
        if self.count == 1 {
            return (a, a);
        }
        loop {
            let b = self.sample(rng);
            if b != a {
                return (a, b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn histogram(distribution: KeyDistribution) -> Vec<u32> {
        let sampler = KeySampler::new(distribution, 10);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut counts = vec![0u32; 10];
        for _ in 0..20_000 {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        counts
    }

    #[test]
    fn uniform_is_flat_and_skewed_ones_favor_key_zero() {
        let uniform = histogram(KeyDistribution::Uniform);
        assert!(
            uniform.iter().all(|&c| (1_600..2_400).contains(&c)),
            "{uniform:?}"
        );
        let zipf = histogram(KeyDistribution::Zipf);
        // P(0) = 1 / H(10) ≈ 0.341, P(9) ≈ 0.034.
        assert!((6_200..7_400).contains(&zipf[0]), "{zipf:?}");
        assert!(zipf[0] > 5 * zipf[9], "{zipf:?}");
        let hot = histogram(KeyDistribution::Hot);
        // 0.5 + 0.5 / 10 = 0.55 of all draws.
        assert!((10_400..11_600).contains(&hot[0]), "{hot:?}");
    }

    #[test]
    fn pairs_are_distinct() {
        let sampler = KeySampler::new(KeyDistribution::Hot, 3);
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..1_000 {
            let (a, b) = sampler.sample_pair(&mut rng);
            assert_ne!(a, b);
        }
    }
}
