#include "common/allocator.h"

#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ecg {

void retain_freed_memory() {
#if defined(__GLIBC__)
  // The same values as kRetainFreedMemoryTunables. M_MMAP_MAX 0: large chunks come from the
  // heap too (M_MMAP_THRESHOLD caps at 32 MB, and a base model's scores are larger); a request
  // a non-main arena cannot hold falls back to the main heap.
  mallopt(M_MMAP_MAX, 0);
  // The largest value mallopt takes: the heap's top is handed back only past 2 GiB free.
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

}  // namespace ecg
