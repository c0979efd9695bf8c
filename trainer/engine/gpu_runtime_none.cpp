// gpu_runtime.h for a LibTorch without CUDA: resolve_device() never selects a GPU here, so
// reaching a device operation is a programming error that names itself.
#include "trainer/engine/gpu_runtime.h"

#include "common/error.h"

namespace ecg::engine::gpu_runtime {

bool built_with_cuda() { return false; }

torch::Tensor copy_to_device(const torch::Tensor&, torch::Device device) {
  ECG_FAIL("copy to {}: this ecgdist was built against a LibTorch without CUDA", device.str());
}

MemoryStats memory_stats(int) { return {}; }

void* current_stream(int) { return nullptr; }

}  // namespace ecg::engine::gpu_runtime
