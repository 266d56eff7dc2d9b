//! The compiled-component cache: hits, misses, and entries that must not
//! be trusted.

mod common;

use common::*;
use xedgesim::runtime::wasm::{CacheOutcome, RuntimeOptions, WasmRuntime, builtin_component};

fn load(dir: &std::path::Path) -> CacheOutcome {
    let rt = WasmRuntime::new(&RuntimeOptions { cache_dir: Some(dir.into()), ..Default::default() }).unwrap();
    rt.load_bytes("sensor".into(), builtin_component("sensor").unwrap()).unwrap().cache_outcome
}

/// The one entry's artifact (`.cwasm`); its check file sits beside it.
fn only_entry(dir: &std::path::Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "an artifact and its check file: {files:?}");
    assert_eq!(files[0].with_extension("cwasm"), files[1], "{files:?}");
    files[1].clone()
}

#[test]
fn a_component_is_compiled_once_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled);
    assert_eq!(load(dir.path()), CacheOutcome::Hit);
}

#[test]
fn truncated_or_corrupt_entries_are_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path());
    let entry = only_entry(dir.path());
    let good = std::fs::read(&entry).unwrap();

    std::fs::write(&entry, &good[..good.len() / 2]).unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled, "truncated");

    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    std::fs::write(&entry, &corrupt).unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled, "one flipped bit");

    std::fs::write(&entry, b"").unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled, "empty");
    assert_eq!(std::fs::read(&entry).unwrap(), good, "rewritten whole");
    assert_eq!(load(dir.path()), CacheOutcome::Hit);

    let check = entry.with_extension("check");
    let mut bad_check = std::fs::read(&check).unwrap();
    let last = bad_check.len() - 1;
    bad_check[last] ^= 1;
    std::fs::write(&check, &bad_check).unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled, "a check file that does not match");
    std::fs::remove_file(&check).unwrap();
    assert_eq!(load(dir.path()), CacheOutcome::Compiled, "no check file");
    assert_eq!(load(dir.path()), CacheOutcome::Hit);
}

#[test]
fn an_unwritable_cache_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let rt = WasmRuntime::new(&RuntimeOptions { cache_dir: Some(file), ..Default::default() }).unwrap();
    let c = rt.load_bytes("sensor".into(), builtin_component("sensor").unwrap()).unwrap();
    assert_eq!(c.cache_outcome, CacheOutcome::Uncached);
}

#[test]
fn built_in_components_are_compiled_once_per_run() {
    let (mut rt, _dir) = runtime();
    let a = builtin(&mut rt, "gateway");
    let b = builtin(&mut rt, "gateway");
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}
