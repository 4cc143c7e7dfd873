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
