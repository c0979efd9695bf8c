#include "trainer/engine/grad_buckets.h"

#include <torch/csrc/autograd/function_hook.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/log.h"
#include "common/stopwatch.h"

namespace ecg::engine {
namespace {

// Runs after AccumulateGrad has written param.grad(): tells the buckets this gradient is final.
class ReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(GradBuckets* owner, size_t index) : owner_(owner), index_(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    owner_->on_grad_ready(index_);
    return outputs;
  }

 private:
  GradBuckets* owner_;
  size_t index_;
};

std::vector<torch::Tensor> model_state(const torch::nn::Module& module) {
  std::vector<torch::Tensor> tensors = module.parameters(true);
  for (auto& b : module.buffers(true)) tensors.push_back(b);
  return tensors;
}

}  // namespace

GradBuckets::GradBuckets(comm::Communicator& comm, std::vector<torch::Tensor> params,
                         size_t bucket_bytes, GradDType wire)
    : comm_(comm), params_(std::move(params)), wire_(wire) {
  ECG_CHECK(bucket_bytes > 0, "gradient bucket size must be > 0 bytes");
  const bool want_cuda = comm_.device() == comm::Device::cuda;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    ECG_CHECK(p.defined() && p.requires_grad() && p.is_leaf(),
              "gradient buckets: parameter {} is not a trainable leaf tensor", i);
    ECG_CHECK(p.is_floating_point(), "gradient buckets: parameter {} is not floating point", i);
    ECG_CHECK(p.is_cuda() == want_cuda,
              "gradient buckets: parameter {} is on {} but the {} backend reduces {} memory", i,
              p.device().str(), comm_.backend(), want_cuda ? "CUDA" : "host");
  }
  // Reverse registration order ~ the order backward finishes gradients (output layers first).
  bucket_of_.assign(params_.size(), 0);
  seen_.assign(params_.size(), 0);
  for (size_t k = params_.size(); k-- > 0;) {
    if (buckets_.empty() ||
        static_cast<size_t>(buckets_.back().numel) * sizeof(float) >= bucket_bytes) {
      buckets_.emplace_back();
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    b.params.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += params_[k].numel();
  }
  for (auto& b : buckets_) {
    const auto on = torch::TensorOptions().device(params_[b.params.front()].device());
    b.flat = torch::zeros({b.numel}, on.dtype(torch::kFloat32));
    if (wire_ == GradDType::bf16) b.wire = torch::zeros({b.numel}, on.dtype(torch::kBFloat16));
  }
  accumulators_.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[i]);
    ECG_CHECK(acc != nullptr, "gradient buckets: parameter {} has no gradient accumulator", i);
    hook_keys_.push_back(acc->add_post_hook(std::make_unique<ReadyHook>(this, i)));
    accumulators_.push_back(std::move(acc));
  }
  ecg::log::debug("gradient buckets: {} parameters in {} bucket(s) of <= ~{} bytes", params_.size(),
                  buckets_.size(), bucket_bytes);
}

GradBuckets::~GradBuckets() {
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

std::vector<size_t> GradBuckets::bucket_params(size_t b) const {
  ECG_CHECK(b < buckets_.size(), "bucket {} of {}", b, buckets_.size());
  return buckets_[b].params;
}

GradBuckets::Stats GradBuckets::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void GradBuckets::on_grad_ready(size_t param_index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (seen_[param_index]) return;
  seen_[param_index] = 1;
  ++buckets_[bucket_of_[param_index]].ready;
  launch_ready_buckets_locked();
  drive_progress_locked();
}

void GradBuckets::launch_ready_buckets_locked() {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].ready == buckets_[next_launch_].params.size()) {
    launch_locked(next_launch_++);
  }
}

void GradBuckets::launch_locked(size_t index) {
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[index];
  for (size_t j = 0; j < b.params.size(); ++j) {
    const auto& p = params_[b.params[j]];
    auto slot = b.flat.narrow(0, b.offsets[j], p.numel());
    const auto& g = p.grad();
    if (g.defined()) {
      slot.view(g.sizes()).copy_(g);
    } else {
      slot.zero_();  // unused in this step on this rank: contributes nothing to the sum
    }
  }
  if (index == 0) first_launch_ = std::chrono::steady_clock::now();
  void* data = b.flat.data_ptr();
  if (wire_ == GradDType::bf16) {
    // Average before rounding (as DDP's bf16 hook): the sum of world-size terms stays in the
    // range and precision of a mean, not of a sum.
    b.flat.mul_(1.0 / comm_.size());
    b.wire.copy_(b.flat);
    data = b.wire.data_ptr();
  }
  b.request = comm_.all_reduce_async(data, static_cast<size_t>(b.numel), wire_type(),
                                     comm::ReduceOp::sum, fmt::format("gradient bucket {}", index));
}

void GradBuckets::drive_progress_locked() {
  // Open MPI has no progress thread: poking the oldest unfinished request advances them all.
  for (size_t k = 0; k < next_launch_; ++k) {
    if (!buckets_[k].request->test()) break;
  }
}

void GradBuckets::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Parameters that got no gradient this step never fired their hook; launch what is left, in
  // order, so every rank posts the same sequence of collectives.
  while (next_launch_ < buckets_.size()) launch_locked(next_launch_++);
  const auto wait_start = std::chrono::steady_clock::now();
  for (auto& b : buckets_) b.request->wait();
  stats_.wait_seconds += seconds_since(wait_start);
  // Counted here, not at launch: buckets launched by the backward hooks would otherwise land in
  // the previous reading of stats() (the engine takes a reading just before finish()).
  for (const auto& b : buckets_) stats_.bytes += static_cast<uint64_t>(b.numel) * comm::dtype_size(wire_type());
  if (!buckets_.empty()) stats_.comm_seconds += seconds_since(first_launch_);
  ++stats_.steps;

  torch::NoGradGuard no_grad;
  const double scale = 1.0 / comm_.size();
  for (auto& b : buckets_) {
    if (wire_ == GradDType::bf16) {
      b.flat.copy_(b.wire);  // already the mean
    } else {
      b.flat.mul_(scale);
    }
    for (size_t j = 0; j < b.params.size(); ++j) {
      auto& p = params_[b.params[j]];
      auto avg = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(avg);
      } else {
        p.mutable_grad() = avg.to(p.dtype()).clone();
      }
    }
    b.request.reset();
    b.ready = 0;
  }
  std::fill(seen_.begin(), seen_.end(), 0);
  next_launch_ = 0;
}

void broadcast_parameters(comm::Communicator& comm, torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto tensors = model_state(module);
  // Same architecture everywhere? Compare tensor count and byte size with rank 0 first.
  int64_t shape[2] = {static_cast<int64_t>(tensors.size()), 0};
  for (auto& t : tensors) shape[1] += t.numel() * static_cast<int64_t>(t.element_size());
  int64_t root_shape[2] = {shape[0], shape[1]};
  comm.broadcast_host(root_shape, sizeof(root_shape), 0, "parameter broadcast (shape)");
  ECG_CHECK(root_shape[0] == shape[0] && root_shape[1] == shape[1],
            "rank {}: model has {} tensors / {} bytes but rank 0 has {} / {}: ranks built "
            "different models",
            comm.rank(), shape[0], shape[1], root_shape[0], root_shape[1]);

  std::vector<uint8_t> packed(static_cast<size_t>(shape[1]));
  size_t offset = 0;
  if (comm.rank() == 0) {
    for (auto& t : tensors) {
      auto c = t.detach().to(torch::kCPU).contiguous();
      const size_t n = c.numel() * c.element_size();
      std::memcpy(packed.data() + offset, c.data_ptr(), n);
      offset += n;
    }
  }
  constexpr size_t kChunk = size_t{1} << 30;  // MPI counts are int
  for (size_t pos = 0; pos < packed.size(); pos += kChunk) {
    comm.broadcast_host(packed.data() + pos, std::min(kChunk, packed.size() - pos), 0,
                        "parameter broadcast");
  }
  if (comm.rank() == 0) return;
  offset = 0;
  for (auto& t : tensors) {
    const size_t n = t.numel() * t.element_size();
    auto src = torch::from_blob(packed.data() + offset, t.sizes(),
                                torch::TensorOptions().dtype(t.dtype()));
    t.detach().copy_(src);  // detach: in-place on the storage, not recorded by autograd
    offset += n;
  }
}

double parameter_checksum(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const auto& t : model_state(module)) {
    sum += t.detach().to(torch::kCPU, torch::kDouble).abs().sum().item<double>();
  }
  return sum;
}

void check_parameters_consistent(comm::Communicator& comm, const torch::nn::Module& module,
                                 const std::string& what, double rel_tol) {
  const double mine = parameter_checksum(module);
  std::vector<double> all(static_cast<size_t>(comm.size()));
  comm.all_gather_host(&mine, all.data(), sizeof(double), "parameter checksum " + what);
  std::string differing;
  for (int r = 1; r < comm.size(); ++r) {
    const double tol = rel_tol * std::max(std::abs(all[0]), 1e-300);
    if (!(std::abs(all[r] - all[0]) <= tol)) {
      differing += fmt::format("{}rank {} has {:.17g}", differing.empty() ? "" : ", ", r, all[r]);
    }
  }
  ECG_CHECK(differing.empty(),
            "model parameters differ across ranks {}: rank 0 checksum {:.17g}, {}", what, all[0],
            differing);
}

}  // namespace ecg::engine
