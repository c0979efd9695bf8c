#include "trainer/engine/runtime.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "common/log.h"

namespace ecg::engine {

int configure_threads(int threads, int ranks_on_node) {
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, ranks_on_node));
  }
  torch::set_num_threads(threads);
  // OpenBLAS is loaded by LibTorch at run time; set its pool through its public C entry point
  // when present (looked up dynamically: the reference BLAS has no such symbol).
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
  log::debug("intra-op threads per rank: {}", threads);
  return threads;
}

}  // namespace ecg::engine
