// Where a rank computes (--device auto|cpu|cuda) and what moves there: the model, the optimiser
// state, every batch. Checkpoints stay device-independent (CPU tensors on disk): a GPU run
// resumes on the CPU and back. The CUDA-only pieces (copy stream, pinned staging, memory
// statistics) live in engine/gpu_runtime_*.cpp, one of which CMake compiles depending on
// whether LibTorch was built with CUDA; this file's callers never ask which.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>

#include "trainer/engine/engine_options.h"
#include "sharding/prefetcher.h"

namespace ecg::engine {

// auto: cuda:<local rank> when LibTorch sees a GPU, else the CPU. cuda where LibTorch sees none,
// or fewer GPUs than ranks on the node, is a one-line error.
torch::Device resolve_device(DeviceChoice choice, int local_rank);

// A batch on the compute device. labels: float [B, C] (undefined for unlabelled batches);
// seeds: int64 [B], the per-sample seeds (on the CPU: drop-path and masks draw there).
struct DeviceBatch {
  torch::Tensor signals;  // float [B, leads, samples]
  torch::Tensor labels;
  torch::Tensor seeds;
  const sharding::Batch* host = nullptr;
};

// Moves prefetched host batches to the device. On the CPU the tensors view the batch's own
// buffers (no copy). On a GPU the batch is staged in pinned host memory and copied with
// non_blocking on a dedicated copy stream; the compute stream waits for that copy (an event), so
// the transfer overlaps the previous step's compute.
class BatchStager {
 public:
  explicit BatchStager(torch::Device device) : device_(device) {}
  DeviceBatch stage(sharding::Batch& batch);

 private:
  torch::Device device_;
  torch::Tensor pinned_signals_, pinned_labels_;
};

// Moves AdamW's per-parameter state (step counts stay, moments move) to `device`: after loading
// a checkpoint (CPU tensors) and around writing one.
void move_optimizer_state(torch::optim::Optimizer& optimizer, torch::Device device);

struct DeviceMemory {
  bool known = false;  // false on the CPU
  uint64_t allocated = 0, reserved = 0, peak_allocated = 0;
};
DeviceMemory device_memory(torch::Device device);

// The CUDA stream the model computes on (nullptr: the default stream or the CPU), for the NCCL
// communicator to order its all-reduces after the gradients.
void* compute_stream(torch::Device device);

}  // namespace ecg::engine
