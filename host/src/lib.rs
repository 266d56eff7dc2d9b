//! xedgesim: a co-simulator for the edge tier of IoT systems.
//!
//! A scenario file describes nodes and the network between them
//! ([`scenario`]); each node runs as a sandboxed WebAssembly component or
//! a Docker container behind one contract (`wit/node.wit`).

mod atomic_file;
pub mod cli;
pub mod engine;
pub mod equiv;
pub mod report;
pub mod run;
pub mod runtime;
pub mod scaffold;
pub mod scenario;
pub mod seed;
pub mod student_t;
pub mod sweep;
pub mod text;
