#include "trainer/engine/schedule.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace ecg::engine {

constexpr double kPi = 3.14159265358979323846;

void WarmupCosineSchedule::validate() const {
  ECG_CHECK(std::isfinite(base_lr) && base_lr > 0, "lr schedule: base lr must be > 0, got {}",
            base_lr);
  ECG_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= base_lr,
            "lr schedule: min lr must be in [0, base lr = {}], got {}", base_lr, min_lr);
  ECG_CHECK(warmup_steps >= 0, "lr schedule: warmup steps must be >= 0, got {}", warmup_steps);
  ECG_CHECK(total_steps > warmup_steps,
            "lr schedule: total steps ({}) must exceed warmup steps ({})", total_steps,
            warmup_steps);
}

double WarmupCosineSchedule::lr(std::int64_t step) const {
  validate();
  ECG_CHECK(step >= 0, "lr schedule: step must be >= 0, got {}", step);
  if (step < warmup_steps) {
    return base_lr * static_cast<double>(step) / static_cast<double>(warmup_steps);
  }
  if (step >= total_steps) return min_lr;
  const double progress =
      static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(kPi * progress));
}

double layer_lr_scale(int layer, int depth, double decay) {
  ECG_CHECK(depth >= 0, "layer lr decay: depth must be >= 0, got {}", depth);
  ECG_CHECK(layer >= 0 && layer <= depth + 1, "layer lr decay: layer {} outside [0, {}]", layer,
            depth + 1);
  ECG_CHECK(decay > 0 && decay <= 1, "layer lr decay: decay must be in (0, 1], got {}", decay);
  return std::pow(decay, depth + 1 - layer);
}

WarmupCosineSchedule warmup_cosine(double base_lr, double min_lr, std::int64_t total_steps,
                                   double warmup_fraction) {
  WarmupCosineSchedule s;
  s.base_lr = base_lr;
  s.min_lr = std::min(min_lr, base_lr);
  s.total_steps = std::max<std::int64_t>(1, total_steps);
  s.warmup_steps = std::min<std::int64_t>(s.total_steps - 1,
                                          static_cast<std::int64_t>(warmup_fraction * static_cast<double>(s.total_steps)));
  return s;
}

}  // namespace ecg::engine
