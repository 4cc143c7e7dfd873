//! Rig drivers: power and network link through Modbus relay boards, the serial console, operator prompts, bench files.
