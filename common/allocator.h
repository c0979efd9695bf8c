// The process's heap keeps what it frees. A training step allocates and frees the same large
// activations every step (attention scores alone are 14-56 MB a layer). glibc's defaults hand
// each of them back to the kernel on free (mmap/munmap, or trimming the heap's top), so the next
// step page-faults every page in again: a third of a tiny model's CPU step went to the kernel,
// and the step ran up to 1.5x slower than with the memory kept (docs/benchmarks.md). Peak memory
// is unchanged: what is kept is what the step needs again.
#pragma once

namespace ecg {

// Call once, first thing in main(): all chunks from the heap (no per-allocation mmap), never
// trimmed. glibc only; elsewhere it does nothing.
void retain_freed_memory();

// The same setting for a child process through its environment (GLIBC_TUNABLES), e.g. the
// PyTorch anchors of the benchmarks, so that both sides of a comparison run on the same
// allocator policy.
inline constexpr const char* kRetainFreedMemoryTunables =
    "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647";

}  // namespace ecg
