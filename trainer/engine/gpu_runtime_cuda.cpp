// gpu_runtime.h for a LibTorch built with CUDA (Debian 13's libtorch-cuda-dev, PyTorch wheels).
#include "trainer/engine/gpu_runtime.h"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "common/error.h"

namespace ecg::engine::gpu_runtime {
namespace {

// Two pinned buffers per device and dtype, alternating: a buffer is refilled only after the copy
// that last read it has finished (its event), so staging batch k+1 never races with batch k.
struct Staging {
  explicit Staging(int device) : stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device)) {}
  c10::cuda::CUDAStream stream;
  struct Slot {
    torch::Tensor pinned;
    at::cuda::CUDAEvent copied;
  };
  std::array<Slot, 2> slots;
  size_t next = 0;
};

std::mutex staging_mutex;
std::map<std::pair<int, int>, std::unique_ptr<Staging>> staging_by_device_and_dtype;

Staging& staging_for(int device, torch::ScalarType dtype) {
  std::lock_guard<std::mutex> lock(staging_mutex);
  auto& slot = staging_by_device_and_dtype[{device, static_cast<int>(dtype)}];
  if (!slot) slot = std::make_unique<Staging>(device);
  return *slot;
}

}  // namespace

bool built_with_cuda() { return true; }

torch::Tensor copy_to_device(const torch::Tensor& host, torch::Device device) {
  ECG_CHECK(device.is_cuda() && host.device().is_cpu() && host.is_contiguous(),
            "copy_to_device: expects a contiguous CPU tensor and a CUDA device (got {} -> {})",
            host.device().str(), device.str());
  const int index = device.index();
  c10::cuda::CUDAGuard device_guard(index);
  Staging& staging = staging_for(index, host.scalar_type());
  Staging::Slot& slot = staging.slots[staging.next];
  staging.next = (staging.next + 1) % staging.slots.size();
  slot.copied.synchronize();  // the copy that last read this pinned buffer is done
  const size_t bytes = static_cast<size_t>(host.numel()) * host.element_size();
  if (!slot.pinned.defined() || static_cast<size_t>(slot.pinned.nbytes()) < bytes) {
    slot.pinned = torch::empty({static_cast<int64_t>(bytes)}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
  }
  std::memcpy(slot.pinned.data_ptr(), host.data_ptr(), bytes);
  auto staged = slot.pinned.narrow(0, 0, static_cast<int64_t>(bytes)).view(host.scalar_type()).view(host.sizes());
  const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(index);
  torch::Tensor out;
  {
    // Allocated and written on the copy stream: no dependency on the compute stream's queue,
    // so the transfer runs while earlier kernels still execute.
    c10::cuda::CUDAStreamGuard stream_guard(staging.stream);
    out = torch::empty(host.sizes(), host.options().device(device));
    out.copy_(staged, /*non_blocking=*/true);
    slot.copied.record(staging.stream);
  }
  slot.copied.block(compute);  // compute waits for the copy, on the GPU
  // The compute stream uses `out` now: the allocator must not reuse it before that work ends.
  c10::cuda::CUDACachingAllocator::recordStream(out.storage().data_ptr(), compute);
  return out;
}

MemoryStats memory_stats(int device_index) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
  // Index 0 is StatType::AGGREGATE (all pools) in every LibTorch; the enum itself moved from
  // c10::cuda::CUDACachingAllocator to c10::CachingAllocator in 2.x.
  constexpr size_t kAll = 0;
  MemoryStats out;
  out.allocated = static_cast<uint64_t>(stats.allocated_bytes[kAll].current);
  out.reserved = static_cast<uint64_t>(stats.reserved_bytes[kAll].current);
  out.peak_allocated = static_cast<uint64_t>(stats.allocated_bytes[kAll].peak);
  return out;
}

void* current_stream(int device_index) {
  return static_cast<void*>(c10::cuda::getCurrentCUDAStream(device_index).stream());
}

}  // namespace ecg::engine::gpu_runtime
