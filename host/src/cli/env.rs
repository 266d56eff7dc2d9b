//! What the command line reads from the process's environment, in one
//! place: the library below takes each as plain data (and documents its
//! default when none is given), so a library user sets it in code.

use std::ffi::OsString;
use std::path::PathBuf;

/// The compiled-component cache folder (which also keeps model folders'
/// builds): `$XEDGESIM_CACHE_DIR`, else `$XDG_CACHE_HOME/xedgesim`, else
/// `~/.cache/xedgesim`; else none (no disk cache): never a shared folder
/// such as the system's temporary one, where another user could have
/// made it first.
pub fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`cache_dir`] with the variables read through `var`.
fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("XEDGESIM_CACHE_DIR") {
        return Some(dir);
    }
    // The XDG spec ignores a relative XDG_CACHE_HOME.
    if let Some(dir) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(dir.join("xedgesim"));
    }
    set("HOME").map(|home| home.join(".cache").join("xedgesim"))
}

/// The cargo that builds Rust model folders: `$CARGO` (set when xedgesim
/// itself runs under cargo), else none (`cargo` from `PATH`).
pub fn cargo() -> Option<PathBuf> {
    std::env::var_os("CARGO").map(PathBuf::from)
}

/// The Docker engine named by `DOCKER_HOST`, if any; the local one otherwise.
pub fn docker_host() -> Option<String> {
    std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty())
}

/// What the scenario loader knows of this machine: the home folder
/// (`$HOME`), never searched for a build context.
pub fn load_options() -> crate::scenario::LoadOptions {
    crate::scenario::LoadOptions { home_dir: std::env::var_os("HOME").map(PathBuf::from) }
}

/// `XEDGESIM_RUN_LABEL`, put on every container and volume a run makes
/// (`xedgesim.run_label`), so a test suite finds its own.
pub fn run_label() -> Option<String> {
    std::env::var("XEDGESIM_RUN_LABEL").ok().filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_dir_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        cache_dir_from(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn the_cache_folder_is_the_users_own_or_none() {
        let all = [("XEDGESIM_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(cache_dir_with(&all), Some(PathBuf::from("/c")));
        assert_eq!(cache_dir_with(&all[1..]), Some(PathBuf::from("/x/xedgesim")));
        assert_eq!(cache_dir_with(&all[2..]), Some(PathBuf::from("/h/.cache/xedgesim")));
        let relative_xdg = [("XEDGESIM_CACHE_DIR", ""), ("XDG_CACHE_HOME", "x"), ("HOME", "/h")];
        assert_eq!(
            cache_dir_with(&relative_xdg),
            Some(PathBuf::from("/h/.cache/xedgesim")),
            "empty and relative skipped"
        );
        assert_eq!(cache_dir_with(&[]), None, "never a shared folder");
    }
}
