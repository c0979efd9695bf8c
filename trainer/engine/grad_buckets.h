// Data-parallel gradient averaging that overlaps communication with backward (the DDP recipe):
// trainable parameters are grouped, in REVERSE registration order (the order backward produces
// their gradients), into flat float32 buckets of ~bucket_bytes. A post-hook on each parameter's
// gradient accumulator counts ready gradients; when a bucket is complete it is packed and its
// all_reduce_async starts while backward continues. finish() waits for the rest, divides by the
// world size and writes the averages back into param.grad(). With GradDType::bf16 a bucket is
// averaged in fp32 first, travels as bf16 (half the bytes) and is widened back to fp32.
//
// Rules: construct after the set of trainable parameters is fixed (e.g. a new instance for the
// fine-tune stage after the linear probe); one backward per finish(); frozen parameters are never
// passed in and never touched. Buckets launch strictly in index order on every rank (a bucket
// that completes early waits for its predecessors), so all ranks post identical collectives.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "trainer/engine/engine_options.h"

namespace ecg::engine {

class GradBuckets {
 public:
  static constexpr size_t kDefaultBucketBytes = 25u << 20;

  GradBuckets(comm::Communicator& comm, std::vector<torch::Tensor> params,
              size_t bucket_bytes = kDefaultBucketBytes, GradDType wire = GradDType::fp32);
  ~GradBuckets();  // removes the hooks
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  // After loss.backward(): launches buckets whose gradients never arrived (parameters unused in
  // this step count as zero gradients), waits for all (bounded by the communicator's timeout),
  // averages and writes back into every parameter's grad. Resets for the next step.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }
  // Parameter indices (into the constructor's list) of bucket b, in packing order.
  std::vector<size_t> bucket_params(size_t b) const;

  // Cumulative since construction (the engine turns these into metrics).
  struct Stats {
    uint64_t bytes = 0;       // payload all-reduced by this rank (wire type), counted by finish()
    double wait_seconds = 0;  // blocked in finish(): communication not hidden by backward
    double comm_seconds = 0;  // first launch -> last completion, summed over steps
    uint64_t steps = 0;
  };
  Stats stats() const;

  // Called by the autograd post-hook of parameter `param_index`'s gradient accumulator.
  void on_grad_ready(size_t param_index);

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    int64_t numel = 0;
    torch::Tensor flat;  // float32 on the parameters' device
    torch::Tensor wire;  // bf16 copy of flat that travels (GradDType::bf16 only)
    size_t ready = 0;
    std::unique_ptr<comm::Request> request;
  };
  void launch_ready_buckets_locked();  // strictly in index order
  void launch_locked(size_t b);
  void drive_progress_locked();
  comm::DType wire_type() const { return wire_ == GradDType::bf16 ? comm::DType::bf16 : comm::DType::f32; }

  comm::Communicator& comm_;
  std::vector<torch::Tensor> params_;
  GradDType wire_;
  std::vector<size_t> bucket_of_;  // param index -> bucket
  std::vector<char> seen_;         // param index -> grad ready this step
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  std::chrono::steady_clock::time_point first_launch_;
  // LibTorch holds a parameter's grad accumulator weakly; we keep it (and so our hook) alive.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
  mutable std::mutex mutex_;
  Stats stats_;
};

// Copies rank 0's parameters and buffers into every rank (one broadcast of their packed bytes).
void broadcast_parameters(comm::Communicator& comm, torch::nn::Module& module);

// Sum of |x| over all parameters and buffers, in double: cheap evidence that ranks hold the same
// model.
double parameter_checksum(const torch::nn::Module& module);

// All-gathers parameter_checksum and throws an ecg::Error naming the ranks whose checksum differs
// from rank 0's (relative tolerance `rel_tol`). `what` says when ("after broadcast", "step 100").
void check_parameters_consistent(comm::Communicator& comm, const torch::nn::Module& module,
                                 const std::string& what, double rel_tol = 1e-9);

}  // namespace ecg::engine
