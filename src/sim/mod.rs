//! Offline J-Quants V2 simulator.
pub mod calendar;
pub mod market;
