// Stochastic depth (drop-path) for residual branches, with per-sample randomness that can be
// derived from a per-sample seed. The trainer passes seeds computed from (seed, epoch, global
// sample index), so a sample's drop pattern never depends on the world size, its batch
// neighbours or a resume point.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace ecg::model {

// Rates rising linearly from 0 (first block) to max_rate (last block), as torch.linspace in
// ST-MEM. depth 1 gives {0}.
std::vector<double> linear_drop_path_rates(int64_t depth, double max_rate);

// A uniform number in [0, 1) from a counter-based hash of (sample_seed, stream): the same inputs
// always give the same number, on any rank and any device.
double hashed_uniform(int64_t sample_seed, uint64_t stream);

// The per-sample keep mask scaled by 1/keep_prob, shaped [B, 1, ..., 1] like x (float, x's
// device). With sample_seeds (int64 [B]) sample b keeps its branch iff
// hashed_uniform(sample_seeds[b], stream) < keep_prob; without, Bernoulli draws from the global
// generator (ST-MEM's DropPath).
torch::Tensor drop_path_mask(const torch::Tensor& x, double rate, const torch::Tensor& sample_seeds,
                             uint64_t stream);

// x * mask in training mode when rate > 0; x unchanged otherwise.
torch::Tensor drop_path(const torch::Tensor& x, double rate, bool training,
                        const torch::Tensor& sample_seeds, uint64_t stream);

// The stream id of block `block`'s branch (0 = attention, 1 = MLP).
inline uint64_t drop_path_stream(int64_t block, int branch) {
  return static_cast<uint64_t>(block) * 2 + static_cast<uint64_t>(branch);
}

}  // namespace ecg::model
