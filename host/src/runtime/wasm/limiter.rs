//! [`StoreLimiter`]: what a store's guest may allocate in the host, counted
//! over the whole store. wasmtime's own `StoreLimits` bounds each linear
//! memory and each table separately, so a component with 16 memories could
//! take 16 times the cap; here every memory and every table of every
//! instance in the store draws on one account.

use wasmtime::ResourceLimiter;

/// Tables and instances a guest may create: far above what a model
/// compiled from Rust or Python needs, low enough to bound host memory.
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 16;

/// Growth past the store's memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("xedgesim: linear memories would hold {desired_total} bytes, past the store's cap of {cap} bytes")]
pub struct MemoryCapExceeded {
    pub desired_total: usize,
    pub cap: usize,
}

/// Growth past the store's table-element cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("xedgesim: tables would hold {desired_total} elements, past the store's cap of {MAX_TABLE_ELEMENTS}")]
pub struct TableCapExceeded {
    pub desired_total: usize,
}

/// One store's account of linear-memory bytes and table elements.
#[derive(Debug)]
pub struct StoreLimiter {
    memory_cap: usize,
    memory_bytes: usize,
    table_elements: usize,
}

impl StoreLimiter {
    pub fn new(memory_cap: usize) -> Self {
        StoreLimiter { memory_cap, memory_bytes: 0, table_elements: 0 }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let desired_total = self.memory_bytes.saturating_add(desired.saturating_sub(current));
        if desired_total > self.memory_cap {
            return Err(MemoryCapExceeded { desired_total, cap: self.memory_cap }.into());
        }
        self.memory_bytes = desired_total;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let desired_total = self.table_elements.saturating_add(desired.saturating_sub(current));
        if desired_total > MAX_TABLE_ELEMENTS {
            return Err(TableCapExceeded { desired_total }.into());
        }
        self.table_elements = desired_total;
        Ok(true)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_memory_draws_on_one_account() {
        let mut l = StoreLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).unwrap());
        // A second memory may not take another 60: the cap is the store's.
        let e = l.memory_growing(0, 60, None).unwrap_err();
        assert_eq!(e.downcast_ref::<MemoryCapExceeded>(), Some(&MemoryCapExceeded { desired_total: 120, cap: 100 }));
        assert!(l.memory_growing(60, 101, None).is_err());
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert!(l.memory_growing(0, 1, None).is_err());
    }

    #[test]
    fn every_table_draws_on_one_account() {
        let mut l = StoreLimiter::new(0);
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS - 1, None).unwrap());
        assert!(l.table_growing(0, 2, None).unwrap_err().downcast_ref::<TableCapExceeded>().is_some());
    }
}
