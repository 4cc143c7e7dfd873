//! The emulated recorder's clock: the times a firmware profile states for real hardware (boot,
//! flash commit, lockout) all run at the pace the emulated boot time sets, so that a lab which
//! boots in 300 ms instead of 40 s also commits flash and ends a lock in proportion — and the
//! harness can wait for each of them with the same margins it would give a real unit.

use std::time::Duration;

use resetlab_profile::FirmwareProfile;

/// `real` (a time the profile states for hardware) at the emulation's pace: scaled by emulated
/// boot / the profile's boot, never below 1 ms so the window stays observable.
pub(crate) fn scaled(profile: &FirmwareProfile, boot_time: Duration, real: Duration) -> Duration {
    let real_boot = profile.boot.time_ms.max(1) as f64;
    let factor = boot_time.as_secs_f64() * 1000.0 / real_boot;
    Duration::from_secs_f64(real.as_secs_f64() * factor).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_times_scale_with_boot_time() {
        let p = resetlab_profile::flir_2017();
        assert_eq!(scaled(&p, Duration::from_millis(300), Duration::from_secs(300)), Duration::from_millis(2250));
        assert_eq!(scaled(&p, Duration::from_millis(40_000), Duration::from_secs(300)), Duration::from_secs(300));
    }
}
