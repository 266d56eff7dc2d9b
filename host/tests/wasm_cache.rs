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
    let dir = &dir.join(xedgesim::runtime::wasm::CACHE_SUBFOLDER);
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

mod bounded {
    use sha2::{Digest, Sha256};
    use xedgesim::runtime::wasm::{ArtifactCache, CacheOutcome, RuntimeOptions, WasmRuntime, builtin_component};

    fn load(cache: &ArtifactCache, rt: &WasmRuntime, name: &str) -> CacheOutcome {
        let bytes = builtin_component(name).unwrap();
        let hash: [u8; 32] = Sha256::digest(bytes).into();
        cache.load_or_compile(rt.engine(), bytes, &hash, None).unwrap().1
    }

    fn folder_bytes(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir.join(xedgesim::runtime::wasm::CACHE_SUBFOLDER))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    }

    #[test]
    fn the_cache_keeps_to_its_bound_evicting_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let rt = WasmRuntime::new(&RuntimeOptions::default()).unwrap();
        // Measure three entries, then allow a byte less: one of them must go.
        let probe = ArtifactCache::new(dir.path()).unwrap();
        for name in ["sensor", "broker", "cloud"] {
            load(&probe, &rt, name);
        }
        let bound = folder_bytes(dir.path()) - 1;
        probe.clean().unwrap();
        let cache = ArtifactCache::new(dir.path()).unwrap().with_max_bytes(bound);
        assert_eq!(load(&cache, &rt, "sensor"), CacheOutcome::Compiled);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(load(&cache, &rt, "broker"), CacheOutcome::Compiled);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(load(&cache, &rt, "sensor"), CacheOutcome::Hit, "used again: now the most recent");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(load(&cache, &rt, "cloud"), CacheOutcome::Compiled);
        assert!(folder_bytes(dir.path()) <= bound, "within the bound");
        assert_eq!(load(&cache, &rt, "sensor"), CacheOutcome::Hit, "the recently used entry stayed");
        assert_eq!(load(&cache, &rt, "broker"), CacheOutcome::Compiled, "the least recently used went");
        let (entries, bytes) = cache.clean().unwrap();
        assert!(entries >= 2 && bytes > 0);
        let own = dir.path().join(xedgesim::runtime::wasm::CACHE_SUBFOLDER);
        assert_eq!(std::fs::read_dir(own).unwrap().count(), 0, "clean empties the folder");
    }
}

#[test]
fn the_folder_the_user_chose_keeps_its_permissions_and_an_untrusted_subfolder_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let chosen = dir.path().join("shared-cache");
    std::fs::create_dir(&chosen).unwrap();
    std::fs::set_permissions(&chosen, std::fs::Permissions::from_mode(0o755)).unwrap();
    xedgesim::runtime::wasm::ArtifactCache::new(&chosen).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&chosen), 0o755, "the user's folder is left as it was");
    let own = chosen.join(xedgesim::runtime::wasm::CACHE_SUBFOLDER);
    assert_eq!(mode(&own), 0o700, "entries live in a folder only this user can reach");
    // A subfolder others may write to: its compiled code is not trusted.
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = xedgesim::runtime::wasm::ArtifactCache::new(&chosen).unwrap_err();
    assert!(e.to_string().contains("others may write to it"), "{e}");
}

/// The entries' folder swapped for a link after the cache checked and
/// opened it: what the link leads to is never read (it holds another
/// component's compiled code under this one's name, which loads).
#[test]
fn a_cache_folder_swapped_for_a_link_is_never_read() {
    use xedgesim::runtime::wasm::{ArtifactCache, CACHE_SUBFOLDER};
    let dir = tempfile::tempdir().unwrap();
    let runtime_in = |folder: &std::path::Path| {
        WasmRuntime::new(&RuntimeOptions { cache_dir: Some(folder.into()), ..Default::default() }).unwrap()
    };
    let load_in = |rt: &WasmRuntime, name: &str| {
        rt.load_bytes(name.into(), builtin_component(name).unwrap()).unwrap().cache_outcome
    };
    // The planted folder: the gateway's entry, holding the sensor's code.
    let planted = dir.path().join("planted");
    load_in(&runtime_in(&planted), "gateway");
    let gateway_entry = only_entry(&planted);
    let sensor_cache = dir.path().join("sensor");
    load_in(&runtime_in(&sensor_cache), "sensor");
    let sensor_entry = only_entry(&sensor_cache);
    std::fs::copy(&sensor_entry, &gateway_entry).unwrap();
    std::fs::copy(sensor_entry.with_extension("check"), gateway_entry.with_extension("check")).unwrap();
    assert_eq!(load_in(&runtime_in(&planted), "gateway"), CacheOutcome::Hit, "the forgery loads where it is");

    let chosen = dir.path().join("cache");
    let rt = runtime_in(&chosen);
    let own = chosen.join(CACHE_SUBFOLDER);
    std::fs::rename(&own, dir.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(planted.join(CACHE_SUBFOLDER), &own).unwrap();
    assert_eq!(load_in(&rt, "gateway"), CacheOutcome::Compiled, "read through the swapped-in link");
    // Opened afresh, the link is refused.
    let e = ArtifactCache::new(&chosen).unwrap_err();
    assert!(e.to_string().contains("is a link or not a folder"), "{e}");
}
