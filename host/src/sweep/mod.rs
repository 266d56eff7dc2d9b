//! Parameter sweeps: many runs of one scenario, a grid or list of
//! parameter points times seeds, handed to an executor made for many
//! jobs (every local core, a Slurm job array, a Kubernetes Indexed Job)
//! rather than a scheduler of our own, then collected into one table.
//!
//! A sweep lives in one folder whose shape is [`layout`]: the plan
//! (`sweep.json`), one folder per point, and what `collect` writes.
//! [`spec`] expands the file's `sweep:` and the command line into points,
//! [`plan`] validates and writes them, [`point`] runs one, and [`local`],
//! [`slurm`] and [`kubernetes`] hand the points out.

pub mod collect;
mod error;
pub mod kubernetes;
pub mod layout;
pub mod local;
pub mod plan;
pub mod point;
pub mod slurm;
pub mod spec;

pub use error::SweepError;
