//! How a benchmark run is configured and where it writes: the command line,
//! `ISODB_BENCH_SCALE`, the output directory, plus the error type and the
//! seeded random generator every workload uses.
//!
//! `cargo bench` passes `--bench` to the binary; `cargo test --benches` runs
//! it without, and then the run is a smoke test: a tiny scale unless
//! `ISODB_BENCH_SCALE` says otherwise, outputs in
//! `<target>/isodb-bench/smoke/` so a smoke run never overwrites the figures
//! of a real one. Every other argument that is not a flag is a filter.

use std::path::{Path, PathBuf};

/// The error type of the benchmarks: any failure ends the run with a message.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The scale of a run without `--bench` (under `cargo test --benches`).
const SMOKE_SCALE: f64 = 0.002;

/// What to run, from the command line and the environment.
pub struct RunConfig {
    /// Run by `cargo test`: a smoke test whose outputs go to `smoke/`.
    pub smoke: bool,
    /// `ISODB_BENCH_SCALE` (default 1.0, or the smoke scale).
    pub factor: f64,
    /// Arguments that are not flags: select workloads whose name contains one.
    pub filters: Vec<String>,
}

impl RunConfig {
    /// Reads the command line and `ISODB_BENCH_SCALE`.
    pub fn from_env() -> BenchResult<RunConfig> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let smoke = !args.iter().any(|arg| arg == "--bench");
        let factor = match std::env::var("ISODB_BENCH_SCALE") {
            Ok(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f > 0.0)
                .ok_or_else(|| format!("ISODB_BENCH_SCALE={text:?} is not a positive number"))?,
            Err(_) if smoke => SMOKE_SCALE,
            Err(_) => 1.0,
        };
        let filters = args
            .into_iter()
            .filter(|arg| !arg.starts_with('-'))
            .collect();
        Ok(RunConfig {
            smoke,
            factor,
            filters,
        })
    }

    /// True when no filter was given or `name` contains one of them.
    pub fn selects(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// `<target>/isodb-bench` (`.../smoke` for a smoke run), created.
    pub fn out_dir(&self) -> BenchResult<PathBuf> {
        let mut dir = target_dir().join("isodb-bench");
        if self.smoke {
            dir.push("smoke");
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// Writes a suite's results as `<out_dir>/<stem>.json` (pretty, one object
/// per workload and system) and `<out_dir>/<stem>.svg`, and says where.
pub fn write_outputs(
    out_dir: &Path,
    stem: &str,
    json: &serde_json::Value,
    svg: &str,
) -> BenchResult<()> {
    let json_path = out_dir.join(format!("{stem}.json"));
    std::fs::write(&json_path, serde_json::to_string_pretty(json)? + "\n")?;
    let svg_path = out_dir.join(format!("{stem}.svg"));
    std::fs::write(&svg_path, svg)?;
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when absolute, else the
/// ancestor of this executable that holds Cargo's `CACHEDIR.TAG`, else
/// `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file())
    {
        return dir.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// SplitMix64: a tiny, fast, well-mixed generator; fixed seeds make every
/// system see exactly the same sequence.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}
