#include "model/drop_path.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "common/error.h"

namespace ecg::model {
namespace {

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix whose outputs pass
// BigCrush; enough for a Bernoulli draw per (sample, branch) and trivially reproducible.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<double> linear_drop_path_rates(int64_t depth, double max_rate) {
  std::vector<double> rates(static_cast<size_t>(std::max<int64_t>(depth, 0)), 0.0);
  for (int64_t i = 0; i < depth && depth > 1; ++i) {
    rates[static_cast<size_t>(i)] =
        max_rate * static_cast<double>(i) / static_cast<double>(depth - 1);
  }
  return rates;
}

double hashed_uniform(int64_t sample_seed, uint64_t stream) {
  const uint64_t golden = 0x9E3779B97F4A7C15ULL;
  uint64_t h = mix64(static_cast<uint64_t>(sample_seed) + golden * (stream + 1));
  h = mix64(h ^ (stream * 0xD1B54A32D192ED03ULL));
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // 53 bits -> [0, 1)
}

torch::Tensor drop_path_mask(const torch::Tensor& x, double rate, const torch::Tensor& sample_seeds,
                             uint64_t stream) {
  const double keep = 1.0 - rate;
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  torch::Tensor mask;
  if (sample_seeds.defined()) {
    ECG_CHECK(sample_seeds.dim() == 1 && sample_seeds.size(0) == x.size(0),
              "drop-path: sample seeds must be int64 [{}], got shape {}", x.size(0),
              fmt::format("{}", fmt::join(sample_seeds.sizes().vec(), "x")));
    torch::Tensor seeds = sample_seeds.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* s = seeds.data_ptr<int64_t>();
    mask = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat));
    float* m = mask.data_ptr<float>();
    for (int64_t b = 0; b < x.size(0); ++b) {
      m[b] = hashed_uniform(s[b], stream) < keep ? static_cast<float>(1.0 / keep) : 0.0f;
    }
    mask = mask.to(x.options());
  } else {
    mask = torch::empty(shape, x.options()).bernoulli_(keep);
    if (keep > 0.0) mask.div_(keep);
  }
  return mask;
}

torch::Tensor drop_path(const torch::Tensor& x, double rate, bool training,
                        const torch::Tensor& sample_seeds, uint64_t stream) {
  if (!training || rate <= 0.0) return x;
  return x * drop_path_mask(x, rate, sample_seeds, stream);
}

}  // namespace ecg::model
