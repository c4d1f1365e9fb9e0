//! The memory allocator of procc's programs (the `procc` binary and the benchmarks).
//!
//! It is mimalloc, asked the way mimalloc itself would answer fastest. The `mimalloc` crate's
//! allocator passes every request to `mi_malloc_aligned`, because Rust always names an
//! alignment; mimalloc's aligned path then checks the alignment and the size before it finds a
//! block, and in the runtime benchmark those checks were 8% of all instructions. Plain
//! `mi_malloc` already returns blocks aligned to their size up to 16 bytes (mimalloc's
//! `mi_malloc_is_naturally_aligned`), so requests within that guarantee go there and only the
//! rest take the aligned path.
//!
//! The guarantee is that of a release build of mimalloc: with libmimalloc-sys's `debug`
//! features, guarded blocks may be aligned less. The workspace enables neither.
//!
//! The programs also turn transparent huge pages off at start ([`without_huge_pages`]).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The largest alignment mimalloc gives every block of at least that size (`MI_MAX_ALIGN_SIZE`).
const NATURAL_ALIGN: usize = 16;

/// mimalloc as a global allocator: `#[global_allocator] static A: Allocator = Allocator;`.
pub struct Allocator;

/// Whether a plain allocation of `size` bytes is aligned enough for `align`.
fn naturally_aligned(size: usize, align: usize) -> bool {
    align <= NATURAL_ALIGN && align <= size
}

// SAFETY: every pointer handed out comes from mimalloc, is aligned as the layout asks (plain
// allocations only where mimalloc guarantees the alignment, see `naturally_aligned`), and is
// given back to mimalloc, whose `mi_free` and `mi_realloc` accept blocks of either path.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions may be called with any size and a
        // power-of-two alignment, which `Layout` guarantees.
        unsafe {
            if naturally_aligned(layout.size(), layout.align()) {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if naturally_aligned(layout.size(), layout.align()) {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller gives back a block this allocator handed out, i.e. mimalloc's.
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a block of this allocator (the caller's promise); the new block keeps
        // the layout's alignment by the same rule as `alloc`.
        unsafe {
            if naturally_aligned(new_size, layout.align()) {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

/// Turns transparent huge pages off for this process, unless the environment sets mimalloc's
/// own `MIMALLOC_ALLOW_THP` (which mimalloc has then obeyed since the program started). Called
/// first thing in `main` by procc's programs.
///
/// mimalloc asks for huge pages on its arena. On a virtual machine that hands free memory back
/// to its host in 2 MiB blocks (virtio-balloon free page reporting), every fresh huge page is
/// such a block and costs a fault on the host: a program that starts and works through new
/// memory ran at half its speed, while programs that had run a while, and webhook delivery,
/// ran at least as fast without huge pages (`docs/performance.md`, sessions 18 and 19). A
/// kernel that cannot turn them off keeps them.
pub fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        turn_off_huge_pages();
    }
}

/// `prctl(PR_SET_THP_DISABLE)`: the kernel then gives this process no huge pages, whatever
/// its allocator asks (children started from it inherit that).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn turn_off_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integers only (passed as the `unsigned long`s the
    // kernel reads) and sets one flag of this process; a failure (an old kernel) leaves huge
    // pages on, which is harmless.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    const ALIGNS: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 4096];
    const SIZES: [usize; 10] = [1, 3, 8, 16, 24, 40, 48, 100, 1000, 70_000];

    fn is_aligned(ptr: *mut u8, align: usize) -> bool {
        !ptr.is_null() && (ptr as usize).is_multiple_of(align)
    }

    /// Every layout gets a block aligned as asked that keeps what is written into it when it
    /// grows and shrinks. Many blocks of each layout are held at once, so that mimalloc hands
    /// out more than the first block of a page.
    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_contents() {
        for align in ALIGNS {
            for size in SIZES {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                let blocks: Vec<*mut u8> = (0..64u8)
                    .map(|i| {
                        // SAFETY: the layout has a non-zero size.
                        let ptr = unsafe { Allocator.alloc(layout) };
                        assert!(is_aligned(ptr, align), "size {size}, align {align}");
                        // SAFETY: the block holds `size` bytes.
                        unsafe { ptr.write_bytes(i, size) };
                        ptr
                    })
                    .collect();
                for (i, mut ptr) in (0..64u8).zip(blocks) {
                    let mut current = layout;
                    for new_size in [size * 3, size.div_ceil(2)] {
                        let kept = current.size().min(new_size);
                        // SAFETY: `ptr` is this allocator's block of `current`.
                        ptr = unsafe { Allocator.realloc(ptr, current, new_size) };
                        assert!(
                            is_aligned(ptr, align),
                            "{size} to {new_size}, align {align}"
                        );
                        // SAFETY: the block holds at least `kept` bytes, all written above.
                        let bytes = unsafe { std::slice::from_raw_parts(ptr, kept) };
                        assert!(bytes.iter().all(|b| *b == i), "contents kept");
                        current = Layout::from_size_align(new_size, align).expect("a valid layout");
                    }
                    // SAFETY: `ptr` is this allocator's block of `current`.
                    unsafe { Allocator.dealloc(ptr, current) };
                }
            }
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_and_aligned() {
        for align in ALIGNS {
            for size in SIZES {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                // SAFETY: the layout has a non-zero size.
                let ptr = unsafe { Allocator.alloc_zeroed(layout) };
                assert!(is_aligned(ptr, align), "size {size}, align {align}");
                // SAFETY: the block holds `size` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(ptr, size) };
                assert!(bytes.iter().all(|b| *b == 0), "size {size}, align {align}");
                // SAFETY: `ptr` is this allocator's block of `layout`.
                unsafe { Allocator.dealloc(ptr, layout) };
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off_unless_the_environment_says_otherwise() {
        without_huge_pages();
        // SAFETY: PR_GET_THP_DISABLE takes integers only and reads one flag of this process.
        let disabled = unsafe {
            libc::prctl(
                libc::PR_GET_THP_DISABLE,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(disabled, 1, "huge pages off");
        }
    }
}
