// ST-MEM's RandAugment for 12-lead ECG crops (bakqui/ST-MEM util/transforms.py: RandAugment,
// RandomApply and the ops named in configs/downstream/st_mem.yaml). It runs on a crop that is
// already filtered and standardised (the config appends RandAugment after `standardize`), so the
// noise amplitudes are in units of the crop's standard deviation.
//
// Per crop: pick num_layers DIFFERENT ops uniformly at random (in random order); apply each with
// probability prob. Magnitudes come from level / max_level (t = level / 10 for level 10):
//   shift   zero-padded shift of all leads by floor(U(0, 0.3 t) * L) samples, left or right 50/50
//   cutout  zero all leads on a window of floor(U(0, 0.3 t) * L) samples starting at
//           randint(0, L - count)
//   drop    zero all leads at randint(0, floor(0.3 t L)) distinct random sample positions
//   flip    negate the signal (y-axis flip)
//   erase   zero one random lead
//   sine    add 0.3 t * sin(2 pi n / (L * 0.5 / t)) to every lead (t = 1: two periods per crop;
//           no randomness -- ST-MEM's "freq" is this period as a fraction of the crop)
//   partial_sine         the first `count` samples of that sine added at a random window
//                        (count and start drawn as for cutout, with ratio 0.3 t)
//   partial_white_noise  i.i.d. N(0, (0.3 t)^2) noise per lead and sample on such a window
// The random numbers come from our portable generator (data/signal/synth_rng.h), not numpy's, so
// individual draws differ from ST-MEM's; their distributions are the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/signal/synth_rng.h"

namespace ecg::data {

enum class AugmentOp {
  kShift,
  kCutout,
  kDrop,
  kFlip,
  kErase,
  kSine,
  kPartialSine,
  kPartialWhiteNoise,
};

// ST-MEM's config names ("shift", "partial_white_noise", ...). Unknown names are an error.
std::string_view augment_op_name(AugmentOp op);
AugmentOp augment_op_from_name(std::string_view name);

struct RandAugmentSpec {
  // configs/downstream/st_mem.yaml: rand_augment.kwargs.op_names, in that order.
  std::vector<AugmentOp> ops = {AugmentOp::kShift, AugmentOp::kCutout,      AugmentOp::kDrop,
                                AugmentOp::kFlip,  AugmentOp::kErase,       AugmentOp::kSine,
                                AugmentOp::kPartialSine, AugmentOp::kPartialWhiteNoise};
  int level = 10;
  int max_level = 10;  // _set_level's max_level
  int num_layers = 2;  // ops drawn per crop, without replacement
  double prob = 0.5;   // each drawn op is applied with this probability
};

// The op parameters a level implies (util/transforms.py, _set_level of _Mask, _Noise and
// _RandomPartialNoise).
struct AugmentMagnitude {
  double mask_ratio = 0.3;       // shift / cutout / drop: largest fraction of the crop
  double noise_amplitude = 0.3;  // sine / partial noise amplitude (standardised units)
  double sine_period = 0.5;      // sine period as a fraction of the crop length
  double partial_ratio = 0.3;    // partial noise: largest fraction of the crop
};
AugmentMagnitude augment_magnitude(const RandAugmentSpec& spec);

// Errors name the field: unknown/duplicate ops, level outside 1..max_level (level 0 divides by
// zero in ST-MEM), num_layers outside 0..ops, prob outside [0, 1].
void validate(const RandAugmentSpec& spec);

// One crop: `leads` rows of `samples` float64 values, row-major.
struct CropView {
  double* data = nullptr;
  int leads = 0;
  int64_t samples = 0;
  double* lead(int l) const { return data + static_cast<int64_t>(l) * samples; }
};

enum class ShiftDirection { kLeft, kRight };

// The ops once their random draws are made (exposed for tests and for documentation).
void flip_signal(CropView x);
void erase_lead(CropView x, int lead);
void zero_samples(CropView x, const std::vector<int64_t>& positions);  // drop
void zero_window(CropView x, int64_t start, int64_t count);             // cutout
void shift_signal(CropView x, int64_t shift, ShiftDirection direction);
// Adds amplitude * sin(2 pi k / (period * samples)) for k = 0..count-1 at samples start..+count
// on every lead (sine: start 0, count = samples).
void add_sine_window(CropView x, double amplitude, double period, int64_t start, int64_t count);

// What one drawn op did (for logging and tests).
struct AugmentDraw {
  AugmentOp op = AugmentOp::kFlip;
  bool applied = false;  // false: the prob coin said no
  int64_t start = 0;     // window start / shift amount / erased lead; 0 where meaningless
  int64_t count = 0;     // window length / dropped samples / shift direction (+1 right, -1 left)
};

// Draws the op's random parameters from `rng` and applies it.
AugmentDraw apply_augment_op(CropView x, AugmentOp op, const AugmentMagnitude& m,
                             synth::Rng& rng);

// RandAugment: num_layers distinct ops, each applied with probability prob. Returns the draws in
// the order they ran.
std::vector<AugmentDraw> rand_augment(CropView x, const RandAugmentSpec& spec, synth::Rng& rng);

}  // namespace ecg::data
