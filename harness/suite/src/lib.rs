//! resetlab's compliance suite: the Cucumber World and steps, the lab that hands each scenario a
//! device, the run record, and the command line that drives them.
//!
//! Data flows one way: features → steps (thin) → World → lab + device sessions → evidence → record.

pub mod app_screens;
pub mod bench_drivers;
pub mod blame;
pub mod cli;
pub mod dut;
pub mod features;
pub mod fleet;
pub mod lab;
pub mod lab_defects;
pub mod lossy_link;
pub mod password;
pub mod provenance;
pub mod record;
pub mod recovery;
pub mod report;
pub mod requirements;
pub mod run;
pub mod selftest;
pub mod shapes;
pub mod steps;
pub mod strategy;
pub mod world;
