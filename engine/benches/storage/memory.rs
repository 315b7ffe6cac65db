//! Peak resident memory of the process, from Linux's `/proc/self`.
//!
//! Writing `5` to `/proc/self/clear_refs` resets the high-water mark
//! (`VmHWM`) to the current resident size (`VmRSS`); reading `VmHWM` after a
//! workload gives the peak reached during it. The figure is the whole
//! process's, so it includes the benchmark's own data (the key order) and
//! whatever the allocator kept from earlier workloads. [`reset_peak`] first
//! hands the allocator's free memory back to the system (glibc's
//! `malloc_trim`; otherwise a system measured after isodb would carry isodb's
//! freed block cache in its figure), then returns the remaining baseline so
//! the report can show it.

use std::fs;

/// Resets the high-water mark; returns the resident size at that moment in
/// bytes, or `None` where `/proc` cannot do it.
pub fn reset_peak() -> Option<u64> {
    release_free_memory();
    fs::write("/proc/self/clear_refs", "5").ok()?;
    status_bytes("VmRSS:")
}

/// The peak resident size since the last [`reset_peak`], in bytes.
pub fn peak() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Returns the allocator's free pages to the system, where glibc can.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    unsafe extern "C" {
        /// glibc: releases free memory at the top of the heap and in the
        /// middle of arenas; returns 1 if any was released.
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim takes no pointer and only touches the allocator's
    // own free lists, under its own locks; glibc is the allocator here.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}
