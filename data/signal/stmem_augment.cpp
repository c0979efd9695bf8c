#include "data/signal/stmem_augment.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace ecg::data {
namespace {

struct OpName {
  AugmentOp op;
  std::string_view name;
};

constexpr OpName kOpNames[] = {
    {AugmentOp::kShift, "shift"},
    {AugmentOp::kCutout, "cutout"},
    {AugmentOp::kDrop, "drop"},
    {AugmentOp::kFlip, "flip"},
    {AugmentOp::kErase, "erase"},
    {AugmentOp::kSine, "sine"},
    {AugmentOp::kPartialSine, "partial_sine"},
    {AugmentOp::kPartialWhiteNoise, "partial_white_noise"},
};

// ST-MEM's magnitude at the maximum level: 30% of the crop, 0.3 standard deviations, and a sine
// period of half the crop (scaled as 0.5 / t).
constexpr double kMaxRatio = 0.3;
constexpr double kMaxAmplitude = 0.3;
constexpr double kPeriodAtMaxLevel = 0.5;

// floor(U(0, ratio) * samples): the length of a random window (Cutout, RandomShift, partial noise).
int64_t draw_window_length(double ratio, int64_t samples, synth::Rng& rng) {
  return static_cast<int64_t>(rng.uniform(0.0, ratio) * static_cast<double>(samples));
}

// randint(0, samples - count): a start such that the window lies inside the crop.
int64_t draw_window_start(int64_t count, int64_t samples, synth::Rng& rng) {
  ECG_CHECK(samples - count >= 1, "augment: window of {} samples does not fit a crop of {}", count,
            samples);
  return rng.below(static_cast<int>(samples - count));
}

}  // namespace

std::string_view augment_op_name(AugmentOp op) {
  for (const auto& e : kOpNames) {
    if (e.op == op) return e.name;
  }
  ECG_FAIL("augment: unknown op {}", static_cast<int>(op));
}

AugmentOp augment_op_from_name(std::string_view name) {
  for (const auto& e : kOpNames) {
    if (e.name == name) return e.op;
  }
  ECG_FAIL("augment: unknown op '{}' (shift, cutout, drop, flip, erase, sine, partial_sine, "
           "partial_white_noise)",
           name);
}

AugmentMagnitude augment_magnitude(const RandAugmentSpec& spec) {
  const double t = static_cast<double>(spec.level) / spec.max_level;
  AugmentMagnitude m;
  m.mask_ratio = t * kMaxRatio;
  m.noise_amplitude = t * kMaxAmplitude;
  m.sine_period = kPeriodAtMaxLevel / t;
  m.partial_ratio = t * kMaxRatio;
  return m;
}

void validate(const RandAugmentSpec& spec) {
  ECG_CHECK(spec.max_level >= 1, "rand-augment max_level must be >= 1 (got {})", spec.max_level);
  ECG_CHECK(spec.level >= 1 && spec.level <= spec.max_level,
            "rand-augment level must be in 1..{} (got {})", spec.max_level, spec.level);
  ECG_CHECK(spec.num_layers >= 0 && spec.num_layers <= static_cast<int>(spec.ops.size()),
            "rand-augment num_layers must be in 0..{} (the number of ops), got {}",
            spec.ops.size(), spec.num_layers);
  ECG_CHECK(spec.prob >= 0.0 && spec.prob <= 1.0, "rand-augment prob must be in [0, 1] (got {})",
            spec.prob);
  for (size_t i = 0; i < spec.ops.size(); ++i) {
    augment_op_name(spec.ops[i]);  // throws on an invalid enum value
    for (size_t j = 0; j < i; ++j) {
      ECG_CHECK(spec.ops[i] != spec.ops[j], "rand-augment op '{}' is listed twice",
                augment_op_name(spec.ops[i]));
    }
  }
}

void flip_signal(CropView x) {
  const int64_t n = static_cast<int64_t>(x.leads) * x.samples;
  for (int64_t i = 0; i < n; ++i) x.data[i] = -x.data[i];
}

void erase_lead(CropView x, int lead) {
  ECG_CHECK(lead >= 0 && lead < x.leads, "erase: lead {} of {}", lead, x.leads);
  std::fill(x.lead(lead), x.lead(lead) + x.samples, 0.0);
}

void zero_samples(CropView x, const std::vector<int64_t>& positions) {
  for (int l = 0; l < x.leads; ++l) {
    double* row = x.lead(l);
    for (int64_t p : positions) row[p] = 0.0;
  }
}

void zero_window(CropView x, int64_t start, int64_t count) {
  ECG_CHECK(start >= 0 && count >= 0 && start + count <= x.samples,
            "cutout: window [{}, {}) outside a crop of {}", start, start + count, x.samples);
  for (int l = 0; l < x.leads; ++l) std::fill(x.lead(l) + start, x.lead(l) + start + count, 0.0);
}

void shift_signal(CropView x, int64_t shift, ShiftDirection direction) {
  ECG_CHECK(shift >= 0 && shift <= x.samples, "shift: {} samples in a crop of {}", shift,
            x.samples);
  for (int l = 0; l < x.leads; ++l) {
    double* row = x.lead(l);
    if (direction == ShiftDirection::kRight) {
      std::copy_backward(row, row + x.samples - shift, row + x.samples);
      std::fill(row, row + shift, 0.0);
    } else {
      std::copy(row + shift, row + x.samples, row);
      std::fill(row + x.samples - shift, row + x.samples, 0.0);
    }
  }
}

void add_sine_window(CropView x, double amplitude, double period, int64_t start, int64_t count) {
  ECG_CHECK(start >= 0 && count >= 0 && start + count <= x.samples,
            "sine: window [{}, {}) outside a crop of {}", start, start + count, x.samples);
  // The wave is a function of the crop length, not of the window: a partial sine is the first
  // `count` samples of the full-crop sine.
  std::vector<double> wave(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const double t = static_cast<double>(k) / static_cast<double>(x.samples);
    wave[static_cast<size_t>(k)] = amplitude * std::sin(2.0 * M_PI * t / period);
  }
  for (int l = 0; l < x.leads; ++l) {
    double* row = x.lead(l) + start;
    for (int64_t k = 0; k < count; ++k) row[k] += wave[static_cast<size_t>(k)];
  }
}

AugmentDraw apply_augment_op(CropView x, AugmentOp op, const AugmentMagnitude& m,
                             synth::Rng& rng) {
  AugmentDraw d;
  d.op = op;
  d.applied = true;
  const int64_t n = x.samples;
  switch (op) {
    case AugmentOp::kFlip:
      flip_signal(x);
      break;
    case AugmentOp::kErase:
      d.start = rng.below(x.leads);
      erase_lead(x, static_cast<int>(d.start));
      break;
    case AugmentOp::kDrop: {
      // randint(0, floor(ratio * L)) distinct positions, chosen uniformly (partial Fisher-Yates).
      const int64_t most = static_cast<int64_t>(static_cast<double>(n) * m.mask_ratio);
      ECG_CHECK(most >= 1, "drop: ratio {} of a {}-sample crop is no sample", m.mask_ratio, n);
      d.count = rng.below(static_cast<int>(most));
      std::vector<int64_t> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      for (int64_t i = 0; i < d.count; ++i) {
        const int64_t j = i + rng.below(static_cast<int>(n - i));
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
      }
      order.resize(static_cast<size_t>(d.count));
      zero_samples(x, order);
      break;
    }
    case AugmentOp::kCutout:
      d.count = draw_window_length(m.mask_ratio, n, rng);
      d.start = draw_window_start(d.count, n, rng);
      zero_window(x, d.start, d.count);
      break;
    case AugmentOp::kShift: {
      // Direction first, then the amount, as ST-MEM draws them.
      const bool right = rng.below(2) == 1;
      d.start = draw_window_length(m.mask_ratio, n, rng);
      d.count = right ? 1 : -1;
      shift_signal(x, d.start, right ? ShiftDirection::kRight : ShiftDirection::kLeft);
      break;
    }
    case AugmentOp::kSine:
      add_sine_window(x, m.noise_amplitude, m.sine_period, 0, n);
      d.count = n;
      break;
    case AugmentOp::kPartialSine:
      d.count = draw_window_length(m.partial_ratio, n, rng);
      d.start = draw_window_start(d.count, n, rng);
      add_sine_window(x, m.noise_amplitude, m.sine_period, d.start, d.count);
      break;
    case AugmentOp::kPartialWhiteNoise:
      // ST-MEM draws noise for the whole crop and keeps its first `count` columns; drawing only
      // those columns gives the same distribution.
      d.count = draw_window_length(m.partial_ratio, n, rng);
      d.start = draw_window_start(d.count, n, rng);
      for (int l = 0; l < x.leads; ++l) {
        double* row = x.lead(l) + d.start;
        for (int64_t k = 0; k < d.count; ++k) row[k] += m.noise_amplitude * rng.normal();
      }
      break;
  }
  return d;
}

std::vector<AugmentDraw> rand_augment(CropView x, const RandAugmentSpec& spec, synth::Rng& rng) {
  const AugmentMagnitude m = augment_magnitude(spec);
  // num_layers distinct ops in random order: the head of a partial Fisher-Yates shuffle.
  std::vector<AugmentOp> ops = spec.ops;
  std::vector<AugmentDraw> draws;
  for (int i = 0; i < spec.num_layers; ++i) {
    const int j = i + rng.below(static_cast<int>(ops.size()) - i);
    std::swap(ops[static_cast<size_t>(i)], ops[static_cast<size_t>(j)]);
    const AugmentOp op = ops[static_cast<size_t>(i)];
    if (rng.chance(spec.prob)) {
      draws.push_back(apply_augment_op(x, op, m, rng));
    } else {
      AugmentDraw skipped;
      skipped.op = op;
      draws.push_back(skipped);
    }
  }
  return draws;
}

}  // namespace ecg::data
