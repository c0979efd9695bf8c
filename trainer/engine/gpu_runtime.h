// The few things the engine needs from the CUDA runtime that LibTorch's device-neutral API does
// not offer: a copy stream with pinned staging, the compute stream, the caching allocator's
// statistics. CMake compiles gpu_runtime_cuda.cpp when LibTorch was built with CUDA and
// gpu_runtime_none.cpp otherwise; nothing else in the code base includes a CUDA header.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace ecg::engine::gpu_runtime {

// True when this binary's LibTorch was built with CUDA.
bool built_with_cuda();

// `host` (any CPU tensor, contiguous) on `device`: staged in pinned memory, copied with
// non_blocking on the device's copy stream; the current (compute) stream waits for the copy.
torch::Tensor copy_to_device(const torch::Tensor& host, torch::Device device);

struct MemoryStats {
  uint64_t allocated = 0, reserved = 0, peak_allocated = 0;
};
MemoryStats memory_stats(int device_index);

// cudaStream_t of the current stream of `device_index`.
void* current_stream(int device_index);

}  // namespace ecg::engine::gpu_runtime
