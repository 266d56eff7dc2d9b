//! Where a Docker node's `build_context` is.
//!
//! Paths in a scenario are relative to its file's folder. xEdgeSim resolved
//! `build_context` from its repository root instead (its scenarios live in
//! `scenarios/m2d/`, its contexts in `containers/<name>/`), so its files
//! name contexts that are not beside them. A relative context is therefore
//! looked for in the scenario's folder first, then in the folders above
//! it up to a boundary: the nearest folder holding `.git` (at most four
//! levels up), or, outside a repository, the scenario folder's
//! grandparent (xEdgeSim's layout). The file system's root and the home
//! folder are never searched, so `build_context: etc` cannot become
//! `/etc`. The first that exists is used, and `validate` says when it was
//! not the scenario's own folder.
//!
//! The home folder is the caller's to give ([`LoadOptions`](super::LoadOptions)):
//! the command line passes `$HOME`; a library caller that gives none has no
//! folder kept out but the root (a context found above the scenario's
//! folder is still a capability the user must allow, docs/sandbox.md).

use std::path::{Path, PathBuf};

/// How far above the scenario's folder a repository root is looked for.
const MAX_LEVELS_UP: usize = 4;
/// How far above it a context is looked for outside a repository:
/// xEdgeSim's scenarios sit two levels below its root.
const LEVELS_UP_OUTSIDE_A_REPOSITORY: usize = 2;

/// A build context found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    /// How many folders above the scenario's it was found (0: beside it).
    pub levels_up: usize,
}

/// Finds `context` (as written in the file) for a scenario in `base_dir`,
/// never in `home`, the user's home folder.
pub fn locate(base_dir: &Path, context: &str, home: Option<&Path>) -> Option<Located> {
    if Path::new(context).is_absolute() {
        let path = PathBuf::from(context);
        return path.is_dir().then_some(Located { path, levels_up: 0 });
    }
    let ancestors: Vec<&Path> = base_dir.ancestors().take(MAX_LEVELS_UP + 1).collect();
    let boundary = ancestors
        .iter()
        .position(|dir| dir.join(".git").exists())
        .unwrap_or(LEVELS_UP_OUTSIDE_A_REPOSITORY.min(ancestors.len() - 1));
    ancestors[..=boundary]
        .iter()
        .enumerate()
        .filter(|&(levels_up, dir)| levels_up == 0 || !(dir.parent().is_none() || Some(*dir) == home))
        .map(|(levels_up, dir)| Located { path: dir.join(context), levels_up })
        .find(|found| found.path.is_dir())
}

/// `context` as it would be written relative to the scenario's folder.
pub fn relative_spelling(found: &Located, context: &str) -> String {
    format!("{}{context}", "../".repeat(found.levels_up))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree `root/<levels…>/` with `folder` made in `root`.
    fn tree(levels: &str, folder: &str) -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join(levels);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::create_dir_all(root.path().join(folder)).unwrap();
        (root, base)
    }

    #[test]
    fn a_generic_name_never_reaches_the_root_or_home() {
        // /etc exists; three levels above this folder is `/`.
        assert_eq!(locate(Path::new("/xedgesim-nowhere/a/b"), "etc", None), None);
        assert_eq!(locate(Path::new("/xedgesim-nowhere"), "etc", None), None);
        let (root, base) = tree("home/scenarios", "home/data");
        let home = root.path().join("home");
        assert_eq!(locate(&base, "data", Some(&home)), None, "the home folder is not searched");
        assert!(locate(&base, "data", None).is_some());
    }

    #[test]
    fn a_repository_root_bounds_the_search() {
        let (root, base) = tree("repo/scenarios/m2d/more", "repo/containers/gateway");
        std::fs::create_dir(root.path().join("repo/.git")).unwrap();
        let found = locate(&base, "containers/gateway", None).unwrap();
        assert_eq!((found.path, found.levels_up), (root.path().join("repo/containers/gateway"), 3));
        // Above the repository's root nothing is looked for.
        std::fs::create_dir(root.path().join("outside")).unwrap();
        assert_eq!(locate(&base, "outside", None), None);
    }

    #[test]
    fn outside_a_repository_the_grandparent_is_the_boundary() {
        let (_root, base) = tree("copy/scenarios/m2d", "copy/containers/gateway");
        assert_eq!(locate(&base, "containers/gateway", None).unwrap().levels_up, 2);
        let (_root, base) = tree("copy/x/scenarios/m2d", "copy/containers/gateway");
        assert_eq!(locate(&base, "containers/gateway", None), None, "three levels up is too far");
        let (_root, base) = tree("s", "s/here");
        assert_eq!(locate(&base, "here", None).unwrap().levels_up, 0);
    }
}
