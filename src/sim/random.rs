//! Deterministic randomness for the whole simulator: hashes of integers and strings, uniform
//! draws from them, and smooth value noise along the day axis. Invariant: everything here is
//! a pure function of its arguments (no state, no system randomness), so a market built from
//! the same seed answers every request with the same bytes.

use chrono::NaiveDate;

/// splitmix64 finaliser: a cheap, well-mixed hash for deterministic randomness.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several values.
pub fn h(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x51_7CC1_B727_220A, |acc, p| mix(acc ^ p))
}

/// Uniform in [0, 1).
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Stable hash of a string (FNV-1a), for codes.
pub fn hs(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |a, b| {
        (a ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Days since 2000-01-01: the time axis every smooth series is sampled on.
pub fn day_num(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")).num_days()
}

/// Smooth value noise in [-1, 1] at position `x` for stream `key`: hashed values at the
/// integers, cosine-interpolated between them. Every smooth random series in the simulator
/// (prices, volumes, index levels, margin balances) is built from this.
pub fn noise(key: u64, x: f64) -> f64 {
    let i = x.floor();
    let f = x - i;
    let a = unit(h(&[key, i as i64 as u64])) * 2.0 - 1.0;
    let b = unit(h(&[key, (i as i64 + 1) as u64])) * 2.0 - 1.0;
    let t = (1.0 - (f * std::f64::consts::PI).cos()) / 2.0;
    a + (b - a) * t
}
