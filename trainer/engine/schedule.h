// Learning-rate schedules of the post-training recipes: per-step linear warmup then half-cosine
// decay to a floor, and the layer-wise lr decay of ViT fine-tuning. Torch-free: the optimiser
// multiplies these plain numbers into its parameter groups.
//
// The formulas are those of the MAE / ST-MEM fine-tuning code (util/lr_sched.py and
// util/lr_decay.py), evaluated per optimiser step instead of per fractional epoch, so that runs
// are comparable with the published recipes.
#pragma once

#include <cstdint>

namespace ecg::engine {

// lr(step), step = number of optimiser steps already taken (0 for the first step):
//   step <  warmup_steps : base_lr * step / warmup_steps          (linear from 0, as MAE)
//   step <  total_steps  : min_lr + (base_lr - min_lr) * (1 + cos(pi * p)) / 2,
//                          p = (step - warmup_steps) / (total_steps - warmup_steps)
//   step >= total_steps  : min_lr
// warmup_steps == 0 starts the cosine at base_lr. Values are absolute learning rates.
struct WarmupCosineSchedule {
  double base_lr = 1e-3;
  double min_lr = 0.0;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;

  // Throws (one line naming the field) unless base_lr > 0, 0 <= min_lr <= base_lr,
  // warmup_steps >= 0 and total_steps > warmup_steps. lr() validates too.
  void validate() const;
  double lr(std::int64_t step) const;
};

// The schedule of one stage (or of a whole pretraining run): `total_steps` optimiser steps (at
// least 1), the first floor(warmup_fraction * total) of them (at most total - 1) warming up,
// min_lr capped at base_lr.
WarmupCosineSchedule warmup_cosine(double base_lr, double min_lr, std::int64_t total_steps,
                                   double warmup_fraction);

// Layer-wise lr decay (BEiT / MAE): the lr of a parameter at layer `layer` of a ViT of `depth`
// blocks is scaled by decay^(depth + 1 - layer). Layers: 0 = embeddings (patch/position/lead/
// separator embeddings, cls token), i + 1 = transformer block i, depth + 1 = final norm and head
// (scale 1). decay == 1 turns it off. Throws on layer outside [0, depth + 1] or decay not in
// (0, 1]. (Mapping parameter names to layers is engine/param_groups' layer_id.)
double layer_lr_scale(int layer, int depth, double decay);

}  // namespace ecg::engine
