//! `--sandbox per-node | shared | shared:N`: how WASM nodes are packed into
//! sandboxes, as `run` and `equiv` take it.

use crate::run::SandboxMode;

/// Nodes per instance under plain `shared`.
pub const DEFAULT_NODES_PER_INSTANCE: usize = 1_000;

pub const HELP: &str = "How WASM nodes are packed: `per-node` (one store each: faults stay with their node), \
`shared` (up to 1,000 nodes per instance: far less memory, shared fate) or `shared:N`. Packing changes \
no result, only speed, memory and who stops with a faulting node";

/// Parses a `--sandbox` value.
pub fn parse(s: &str) -> Result<SandboxMode, String> {
    match s.split_once(':') {
        None if s == "per-node" => Ok(SandboxMode::PerNode),
        None if s == "shared" => Ok(SandboxMode::Shared { nodes_per_instance: DEFAULT_NODES_PER_INSTANCE }),
        Some(("shared", n)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(SandboxMode::Shared { nodes_per_instance: n }),
            _ => Err(format!("'{n}' is not a number of nodes per instance (1 or more)")),
        },
        _ => Err(format!("'{s}' is not a packing: use per-node, shared or shared:N")),
    }
}

/// The flag that asks for `mode`, for a reproduce command (empty for the default).
pub fn flag(mode: SandboxMode) -> String {
    match mode {
        SandboxMode::PerNode => String::new(),
        SandboxMode::Shared { nodes_per_instance: DEFAULT_NODES_PER_INSTANCE } => " --sandbox shared".to_string(),
        shared => format!(" --sandbox {shared}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packings() {
        assert_eq!(parse("per-node"), Ok(SandboxMode::PerNode));
        assert_eq!(parse("shared"), Ok(SandboxMode::Shared { nodes_per_instance: 1_000 }));
        assert_eq!(parse("shared:7"), Ok(SandboxMode::Shared { nodes_per_instance: 7 }));
        assert!(parse("shared:0").is_err());
        assert!(parse("isolated").unwrap_err().contains("use per-node, shared or shared:N"));
        assert_eq!(flag(parse("shared:7").unwrap()), " --sandbox shared:7");
    }
}
