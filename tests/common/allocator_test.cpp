// common/allocator.h: after retain_freed_memory() a large block comes from the heap rather than
// its own mmap, and freeing it leaves it in the heap for the next step instead of handing it back
// to the kernel (what made every training step fault its activations in again).
#include "common/allocator.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECG_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ECG_TEST_UNDER_ASAN 1
#endif

namespace ecg {
namespace {

TEST(Allocator, FreedLargeBlocksStayInTheHeap) {
#if defined(ECG_TEST_UNDER_ASAN)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc: its policy is not ours to test";
#else
  retain_freed_memory();
  constexpr size_t kBlock = 64u << 20;  // larger than glibc's largest mmap threshold (32 MB)
  const size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(kBlock);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "the block got its own mmap";
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, kBlock) << "the freed block was handed back to the kernel";
#endif
}

TEST(Allocator, ChildProcessesAreToldTheSamePolicy) {
  EXPECT_STREQ(kRetainFreedMemoryTunables, "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647");
}

}  // namespace
}  // namespace ecg
