//! meshgen's global allocator: the system's while a command runs on one thread, mimalloc
//! from the moment it spreads work over threads (`parallel::split`).
//!
//! Why both (BENCHMARKS.md): mimalloc's first allocations fault in whole transparent huge
//! pages, which the kernel zeroes, about 1 ms of a 5 ms `meshgen values`; across
//! `generate`'s threads glibc's malloc costs 15 % more CPU than mimalloc. A pointer is
//! freed by the allocator that owns it, so memory from before the switch stays valid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use mimalloc::MiMalloc;

/// Set once, never cleared: from then on new memory comes from mimalloc.
static THREADED: AtomicBool = AtomicBool::new(false);

/// The allocator `main.rs` installs.
pub struct Adaptive;

/// Called before work is spread over threads: later allocations come from mimalloc.
pub fn spread_over_threads() {
    THREADED.store(true, Relaxed);
}

/// Whether mimalloc owns `ptr`; before the switch it owns nothing.
fn mimalloc_owns(ptr: *mut u8) -> bool {
    // SAFETY: a lookup in mimalloc's page map; any address may be asked.
    THREADED.load(Relaxed) && unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
}

// SAFETY: every call goes to one of two sound allocators: allocations to the one in use
// when they are made, deallocations and reallocations to the one that owns the pointer.
unsafe impl GlobalAlloc for Adaptive {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if THREADED.load(Relaxed) {
            unsafe { MiMalloc.alloc(layout) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if THREADED.load(Relaxed) {
            unsafe { MiMalloc.alloc_zeroed(layout) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mimalloc_owns(ptr) {
            unsafe { MiMalloc.dealloc(ptr, layout) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if mimalloc_owns(ptr) {
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        } else {
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_from_before_the_switch_is_freed_by_its_own_allocator() {
        let layout = Layout::from_size_align(64, 8).unwrap();
        let before = unsafe { System.alloc(layout) };
        let owned = unsafe { MiMalloc.alloc(layout) };
        spread_over_threads();
        assert!(!mimalloc_owns(before));
        assert!(mimalloc_owns(owned));
        unsafe {
            let grown = Adaptive.realloc(before, layout, 4096);
            assert!(
                !mimalloc_owns(grown),
                "a system block grows in the system allocator"
            );
            Adaptive.dealloc(grown, Layout::from_size_align(4096, 8).unwrap());
            Adaptive.dealloc(owned, layout);
            let after = Adaptive.alloc(layout);
            assert!(mimalloc_owns(after));
            Adaptive.dealloc(after, layout);
        }
    }
}
