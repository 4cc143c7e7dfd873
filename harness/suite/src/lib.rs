//! resetlab's compliance suite: the Cucumber World and steps, the lab that hands each scenario a
//! device, the run record, and the command line that drives them.
//!
//! Data flows one way: features → steps (thin) → World → lab + device sessions → evidence → record.

pub mod cli;
pub mod custody;
pub mod dut;
pub mod features;
pub mod injected;
pub mod lab;
pub mod password;
pub mod record;
pub mod report;
pub mod requirements;
pub mod run;
pub mod selftest;
pub mod shapes;
pub mod steps;
pub mod strategy;
pub mod surroundings;
pub mod verdict;
pub mod world;
