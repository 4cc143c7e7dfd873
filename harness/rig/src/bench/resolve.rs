//! What a bench names, made real at run time: the administrator password (from the environment
//! variable the bench names, or the operator), the recorder's address (DNS), its firmware profile,
//! and `driver: emulated` parts pointed at the lab that was started for them.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use resetlab_profile::{FirmwareProfile, FixtureError};
use resetlab_wire::Secret;

use super::*;
use crate::error::RigError;

impl Bench {
    /// The same bench with every `driver: emulated` part pointed at the embedded lab's board,
    /// console and recorder: afterwards only real drivers (Modbus TCP or RTU, serial) remain. The
    /// one rewrite of `driver: emulated` parts; `resetlab_emulated_rig::resolve` gives it the
    /// addresses of a started lab.
    pub fn with_emulated_addresses(&self, lab: &EmulatedAddresses) -> Bench {
        let mut b = self.clone();
        let point = |s: &mut SwitchSpec, coil: u16| {
            if let SwitchSpec::Coil(c) = s
                && c.board == BoardSpec::Emulated
            {
                c.board = lab.board.clone();
                c.unit = lab.unit;
                c.coil = coil;
            }
        };
        point(&mut b.power, lab.power_coil);
        point(&mut b.network, lab.link_coil);
        if b.console.port == ConsolePort::Emulated {
            b.console.port = ConsolePort::Serial { path: lab.console.clone(), baud: 115_200 };
        }
        if self.uses_emulated() {
            b.device.address = lab.http.ip().to_string();
            b.device.http_port = lab.http.port();
            b.device.rtsp_port = lab.rtsp.port();
        }
        b
    }

    /// The administrator password, from the environment variable the bench names, or a prompt on
    /// the terminal when the variable is unset and stdin is a terminal.
    pub fn admin_password(&self) -> Result<Secret, RigError> {
        let env = self.device.admin_password_env.clone().unwrap_or_else(|| "RESETLAB_ADMIN_PASSWORD".into());
        if let Ok(v) = std::env::var(&env) {
            return Ok(Secret::new(v));
        }
        let what = format!("{} on {}", self.device.admin_user, self.rig);
        if let Some(typed) = crate::operator::read_password(&what, &format!("{env} is not set")) {
            return Ok(typed);
        }
        Err(RigError::MissingSecret { what: format!("password of {}", self.device.admin_user), env })
    }

    /// The recorder's HTTP address, resolved.
    pub async fn http_addr(&self) -> Result<SocketAddr, RigError> {
        lookup(&self.device.address, self.device.http_port).await
    }

    /// The boot marker: the console's `ready:`, else the profile's, else the family default.
    pub fn ready_marker(&self) -> String {
        if let Some(r) = &self.console.ready {
            return r.clone();
        }
        self.named_profile().map(|p| p.boot.ready_marker).unwrap_or_else(|| "System init done".into())
    }

    /// The firmware profile the bench's recorder is held to: `explicit` (`--firmware`) wins, then
    /// the profile the bench names (`device.profile`), then the embedded flir-2017. The one place a
    /// bench's profile is chosen; the rule is [`resetlab_profile::resolve`]'s.
    pub fn firmware_profile(&self, explicit: Option<&Path>) -> Result<FirmwareProfile, FixtureError> {
        resetlab_profile::resolve(explicit, self.device.profile.as_deref())
    }

    /// The profile the bench names, if it names one that loads ([`Bench::firmware_profile`]
    /// without an override): the ready marker and `rig check`'s boot deadline come from it, and
    /// keep the family's defaults when the bench names none.
    pub fn named_profile(&self) -> Option<FirmwareProfile> {
        self.device.profile.as_ref()?;
        self.firmware_profile(None).ok()
    }
}

/// Look `host:port` up (DNS) with a deadline.
async fn lookup(host: &str, port: u16) -> Result<SocketAddr, RigError> {
    let what = format!("{host}:{port}");
    let found = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host(what.clone()))
        .await
        .map_err(|_| RigError::Harness(format!("timed out resolving {what}")))?
        .map_err(|e| RigError::Harness(format!("cannot resolve {what}: {e}")))?
        .next();
    found.ok_or_else(|| RigError::Harness(format!("{what} resolves to no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: &str = "rig: b\ndevice:\n  model: X\n  address: 10.0.0.2\n  credentials: { admin_user: admin, admin_password_env: RESETLAB_ADMIN_PASSWORD }\n";

    #[test]
    fn password_comes_from_the_named_environment_variable() {
        let b = Bench::parse("b.yaml", &BENCH.replace("RESETLAB_ADMIN_PASSWORD", "RESETLAB_RIG_TEST_PW")).unwrap();
        // SAFETY: this test alone uses this variable name.
        unsafe { std::env::set_var("RESETLAB_RIG_TEST_PW", "abc123") };
        assert_eq!(b.admin_password().unwrap().expose(), "abc123");
    }

    #[test]
    fn emulated_parts_are_pointed_at_the_started_lab() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rigs");
        let b = Bench::load(dir.join("emulator.yaml")).unwrap();
        assert!(b.uses_emulated());
        let lab = EmulatedAddresses {
            board: BoardSpec::Tcp { host: "127.0.0.1".into(), port: 1502 },
            unit: 1,
            power_coil: 0,
            link_coil: 1,
            console: "/dev/pts/9".into(),
            http: "127.0.0.1:8080".parse().unwrap(),
            rtsp: "127.0.0.1:8554".parse().unwrap(),
        };
        let r = b.with_emulated_addresses(&lab);
        assert!(!r.uses_emulated());
        let SwitchSpec::Coil(p) = &r.power else { panic!() };
        assert_eq!(p.board, BoardSpec::Tcp { host: "127.0.0.1".into(), port: 1502 });
        assert_eq!(r.console.port, ConsolePort::Serial { path: "/dev/pts/9".into(), baud: 115_200 });
        assert_eq!((r.device.http_port, r.ready_marker().as_str()), (8080, "System init done"));
    }

    #[test]
    fn emulated_coils_can_be_reached_over_rtu() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rigs");
        let b = Bench::load(dir.join("emulator.yaml")).unwrap();
        let lab = EmulatedAddresses {
            board: BoardSpec::Rtu { path: "/dev/pts/8".into(), baud: 9600 },
            unit: 1,
            power_coil: 0,
            link_coil: 1,
            console: "/dev/pts/9".into(),
            http: "127.0.0.1:8080".parse().unwrap(),
            rtsp: "127.0.0.1:8554".parse().unwrap(),
        };
        let r = b.with_emulated_addresses(&lab);
        let (SwitchSpec::Coil(p), SwitchSpec::Coil(n)) = (&r.power, &r.network) else { panic!() };
        assert_eq!((&p.board, p.coil, n.coil), (&lab.board, 0, 1));
    }

    #[test]
    fn the_profile_is_the_override_then_the_named_one_then_the_embedded_one() {
        let b = Bench::parse("b.yaml", BENCH).unwrap();
        assert_eq!(b.firmware_profile(None).unwrap().name, "flir-2017");
        assert!(b.named_profile().is_none(), "the bench names none");
        let named = resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml");
        let b = Bench::parse("b.yaml", &format!("{BENCH}  profile: {}\n", named.display())).unwrap();
        assert_eq!(b.named_profile().unwrap().name, b.firmware_profile(None).unwrap().name);
        assert!(b.firmware_profile(Some(Path::new("/nonexistent/other.yaml"))).is_err(), "the override wins");
    }
}
