#include "trainer/engine/device.h"

#include "common/error.h"
#include "trainer/engine/gpu_runtime.h"

namespace ecg::engine {

torch::Device resolve_device(DeviceChoice choice, int local_rank) {
  const bool have_gpu = gpu_runtime::built_with_cuda() && torch::cuda::is_available();
  if (choice == DeviceChoice::cpu || (choice == DeviceChoice::auto_select && !have_gpu)) return torch::kCPU;
  ECG_CHECK(gpu_runtime::built_with_cuda(),
            "--device cuda: this ecgdist is built against a LibTorch without CUDA (use --device cpu)");
  ECG_CHECK(have_gpu, "--device cuda: LibTorch sees no CUDA device on this node");
  const auto count = static_cast<int>(torch::cuda::device_count());
  ECG_CHECK(local_rank < count, "--device cuda: local rank {} needs GPU {} but the node shows {} GPU(s)",
            local_rank, local_rank, count);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

DeviceBatch BatchStager::stage(sharding::Batch& batch) {
  DeviceBatch out;
  out.host = &batch;
  auto signals = torch::from_blob(batch.signals.data(), {batch.size, batch.leads, batch.samples}, torch::kFloat32);
  torch::Tensor labels;
  if (batch.num_classes > 0) {
    labels = torch::from_blob(batch.labels.data(), {batch.size, batch.num_classes}, torch::kUInt8);
  }
  if (device_.is_cpu()) {
    out.signals = signals;  // views the prefetcher's buffer: no copy
  } else {
    out.signals = gpu_runtime::copy_to_device(signals, device_);
    if (labels.defined()) labels = gpu_runtime::copy_to_device(labels, device_);
  }
  if (labels.defined()) out.labels = labels.to(torch::kFloat32);
  std::vector<int64_t> seeds(batch.items.size());
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = static_cast<int64_t>(batch.items[i].seed);
  out.seeds = torch::tensor(seeds, torch::kInt64);
  return out;
}

void move_optimizer_state(torch::optim::Optimizer& optimizer, torch::Device device) {
  for (auto& item : optimizer.state()) {
    auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(item.second.get());
    ECG_CHECK(adamw != nullptr, "moving optimiser state to {}: only AdamW state is supported", device.str());
    if (adamw->exp_avg().defined()) adamw->exp_avg(adamw->exp_avg().to(device));
    if (adamw->exp_avg_sq().defined()) adamw->exp_avg_sq(adamw->exp_avg_sq().to(device));
    if (adamw->max_exp_avg_sq().defined()) adamw->max_exp_avg_sq(adamw->max_exp_avg_sq().to(device));
  }
}

DeviceMemory device_memory(torch::Device device) {
  DeviceMemory out;
  if (!device.is_cuda()) return out;
  const auto stats = gpu_runtime::memory_stats(device.index());
  out.known = true;
  out.allocated = stats.allocated;
  out.reserved = stats.reserved;
  out.peak_allocated = stats.peak_allocated;
  return out;
}

void* compute_stream(torch::Device device) {
  return device.is_cuda() ? gpu_runtime::current_stream(device.index()) : nullptr;
}

}  // namespace ecg::engine
