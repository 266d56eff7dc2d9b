//! `xedgesim new model NAME` and `xedgesim sdk`: a model's folder, ready
//! to test and run, in Rust, Python or JavaScript, and a model SDK
//! written where a user wants it.
//!
//! The SDK's files are embedded in the binary at build time (see
//! `host/build.rs`), so a model made here builds against the SDK of the
//! xedgesim that runs it, with no checkout and no registry. A folder is
//! written whole or not at all: into a hidden sibling first, renamed into
//! place at the end. The sibling is made new, under a random name (never
//! one planted before, nor a link), and its files are created new in it.

use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));
}

/// The languages a model can be made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
}

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("'{name}' cannot name a model: {reason}")]
    BadName { name: String, reason: String },
    #[error("{} already exists\n  = help: choose another name, or remove it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// The model templates, `{{crate}}`, `{{id}}`, `{{module}}` (file names)
/// and `{{type}}` to fill in. Every language's sample scenario is the
/// same file: it names the folder, whatever is in it.
const RUST_TEMPLATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
    ("scenario.yaml", include_str!("../templates/scenario.yaml")),
    (".gitignore", include_str!("../templates/rust/gitignore")),
];
const PYTHON_TEMPLATE: &[(&str, &str)] = &[
    ("model.py", include_str!("../templates/python/model.py")),
    ("{{module}}.py", include_str!("../templates/python/model_class.py")),
    ("test_{{module}}.py", include_str!("../templates/python/test_model_class.py")),
    ("scenario.yaml", include_str!("../templates/scenario.yaml")),
    (".gitignore", include_str!("../templates/python/gitignore")),
];
const JS_TEMPLATE: &[(&str, &str)] = &[
    ("model.js", include_str!("../templates/js/model.js")),
    ("{{module}}.js", include_str!("../templates/js/model_class.js")),
    ("test.js", include_str!("../templates/js/test.js")),
    ("scenario.yaml", include_str!("../templates/scenario.yaml")),
    (".gitignore", include_str!("../templates/js/gitignore")),
];

/// Where `xedgesim new` puts the Rust SDK inside a model's folder; the
/// Python and JavaScript SDKs' files sit beside the model's own, where
/// their tests and build tools find them.
pub const RUST_SDK_FOLDER: &str = "xedgesim-model";

/// Names that would clash: the built-in types, and crates Rust reserves.
const RESERVED: &[&str] = &[
    "sensor",
    "gateway",
    "broker",
    "cloud",
    "sensor_model",
    "gateway_model",
    "mqtt_broker",
    "test",
    "core",
    "std",
    "alloc",
    "proc_macro",
    "xedgesim-model",
    "xedgesim_model",
    // Files of a Python or JavaScript model's folder.
    "model",
    "guest",
    "payload",
    "testing",
    // Python modules a model's module would shadow.
    "random",
    "time",
    "json",
    "math",
    "os",
    "sys",
    "string",
    "types",
    "typing",
    "collections",
    "io",
    "re",
    "socket",
    "select",
    "signal",
    "queue",
    "struct",
    "array",
    "copy",
    "enum",
    "abc",
    "ast",
    "code",
    "unittest",
    "logging",
    // YAML reads these as booleans or null, not as ids.
    "null",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    // Rust keywords (crate names and type names).
    "as",
    "break",
    "const",
    "continue",
    "crate",
    "else",
    "extern",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "super",
    "trait",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "async",
    "await",
    "dyn",
    // Type names the Rust template imports from the SDK.
    "message",
    "config",
    "config-key",
    "config_key",
    "config-reader",
    "config_reader",
    "metric",
    "address",
    "outgoing",
    "step-output",
    "step_output",
    "node-model",
    "node_model",
    "log-level",
    "log_level",
];

/// Checks that `name` can name a crate, a node id and a node type.
pub fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let bad = |reason: &str| Err(ScaffoldError::BadName { name: name.to_string(), reason: reason.to_string() });
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return bad("it must start with a lowercase letter (it names a crate, a node and its type)");
    }
    if name.len() > 64 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return bad("use up to 64 lowercase letters, digits, '-' and '_'");
    }
    if RESERVED.contains(&name) {
        return bad("it is a built-in node type or a name Rust reserves; try e.g. 'my-filter'");
    }
    Ok(())
}

/// `my-filter` as a Rust type name: `MyFilter`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// Makes `parent/name`: a model crate with one passing test, a sample
/// scenario that runs it, and the SDK. Returns the folder.
pub fn new_model(parent: &Path, name: &str, language: Language) -> Result<PathBuf, ScaffoldError> {
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists { path: dir });
    }
    let module = name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{crate}}", name)
            .replace("{{id}}", name)
            .replace("{{module}}", &module)
            .replace("{{type}}", &type_name(name))
    };
    let template = match language {
        Language::Rust => RUST_TEMPLATE,
        Language::Python => PYTHON_TEMPLATE,
        Language::JavaScript => JS_TEMPLATE,
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> =
        template.iter().map(|(path, text)| (PathBuf::from(fill(path)), fill(text).into_bytes())).collect();
    let sdk_folder = if language == Language::Rust { Path::new(RUST_SDK_FOLDER) } else { Path::new("") };
    files.extend(sdk_files(language).map(|(path, bytes)| (sdk_folder.join(path), bytes.to_vec())));
    write_folder(&dir, &files)?;
    Ok(dir)
}

/// Writes the SDK of `language` into `dir` (a new folder).
pub fn write_sdk(dir: &Path, language: Language) -> Result<(), ScaffoldError> {
    if dir.exists() {
        return Err(ScaffoldError::Exists { path: dir.to_path_buf() });
    }
    let files: Vec<(PathBuf, Vec<u8>)> = sdk_files(language).map(|(p, b)| (PathBuf::from(p), b.to_vec())).collect();
    write_folder(dir, &files)
}

fn sdk_files(language: Language) -> impl Iterator<Item = (&'static str, &'static [u8])> {
    match language {
        Language::Rust => embedded::RUST_SDK,
        Language::Python => embedded::PYTHON_SDK,
        Language::JavaScript => embedded::JS_SDK,
    }
    .iter()
    .copied()
}

/// Writes `files` into a hidden sibling of `dir`, then renames it to `dir`.
fn write_folder(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), ScaffoldError> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Write { path, source }
    };
    // A new folder of a random name (mkdtemp): a link or folder planted at
    // a name we could guess is never written through. Removed if dropped.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(parent)
        .map_err(write_error(parent))?;
    for (path, bytes) in files {
        let full = staging.path().join(path);
        if let Some(folder) = full.parent() {
            std::fs::create_dir_all(folder).map_err(write_error(folder))?;
        }
        let mut file = std::fs::File::options().write(true).create_new(true).open(&full).map_err(write_error(&full))?;
        std::io::Write::write_all(&mut file, bytes).map_err(write_error(&full))?;
        if full.extension().is_some_and(|e| e == "sh") {
            make_executable(&full).map_err(write_error(&full))?;
        }
    }
    // mkdtemp makes it 0700; the finished folder is an ordinary one.
    set_folder_mode(staging.path()).map_err(write_error(staging.path()))?;
    std::fs::rename(staging.path(), dir).map_err(write_error(dir))?;
    // Renamed: nothing is left for the guard to remove.
    let _ = staging.keep();
    Ok(())
}

#[cfg(unix)]
fn set_folder_mode(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_folder_mode(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("my-filter_2"), "MyFilter2");
        assert!(check_name("filter").is_ok());
        assert!(check_name("Filter").is_err());
        assert!(check_name("9lives").is_err());
        assert!(check_name("sensor").is_err());
        assert!(check_name("a b").is_err());
    }

    /// A link planted at the name the sibling once had (its process id was
    /// guessable) is neither followed nor removed; the model is made.
    #[test]
    fn a_planted_partial_link_is_not_followed() {
        let home = tempfile::tempdir().unwrap();
        let victim = home.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        let planted = home.path().join(format!(".sift.partial-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let made = new_model(home.path(), "sift", Language::Python).unwrap();
        assert!(made.join("model.py").is_file());
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0, "nothing written through the link");
        assert!(std::fs::symlink_metadata(&planted).unwrap().file_type().is_symlink(), "the link is left alone");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&made).unwrap().permissions().mode() & 0o777, 0o755);
    }

    #[test]
    fn the_sdk_is_embedded_whole() {
        let names: Vec<&str> = embedded::RUST_SDK.iter().map(|(p, _)| *p).collect();
        for wanted in ["Cargo.toml", "src/lib.rs", "src/testing.rs", "wit/node.wit", "wit/deps/random/random.wit"] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        let manifest =
            std::str::from_utf8(embedded::RUST_SDK.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1).unwrap();
        assert!(!manifest.contains(".workspace"), "the SDK's manifest must stand alone");
        for (sdk, wanted) in [
            (
                embedded::PYTHON_SDK,
                &["xedgesim_model/__init__.py", "xedgesim_model/guest.py", "xedgesim_model/testing.py", "wit/node.wit"]
                    [..],
            ),
            (
                embedded::JS_SDK,
                &["xedgesim_model.js", "guest.js", "testing.js", "package-lock.json", "wit/node.wit"][..],
            ),
        ] {
            let names: Vec<&str> = sdk.iter().map(|(p, _)| *p).collect();
            for file in wanted {
                assert!(names.contains(file), "{file} missing from {names:?}");
            }
            assert!(!names.iter().any(|n| n.contains("__pycache__") || n.contains("node_modules")), "{names:?}");
        }
    }
}
