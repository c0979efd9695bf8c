// ST-MEM's own downstream input pipeline (bakqui/ST-MEM configs/downstream/st_mem.yaml, applied
// by util/dataset.py with the transforms of util/transforms.py), per record of 12 leads already
// resampled to 250 Hz and otherwise untouched (not band-passed, not z-scored):
//
//   training:   random 2,250-sample crop (start uniform over every valid offset)
//               -> Butterworth order-5 high-pass 0.67 Hz, sosfiltfilt
//               -> Butterworth order-5 low-pass 40 Hz, sosfiltfilt
//               -> standardise: one mean and one std over all leads and samples of the crop
//                  (population std; a constant crop becomes zeros -- no epsilon)
//               -> RandAugment (data/signal/stmem_augment.h), on the standardised crop
//   evaluation: n_crop: 3 crops of 2,250 samples at starts 0, s, 2s, ... with
//               s = (n - 2250) // 2 (n = 2500: 0, 125, 250), each filtered and standardised
//               on its own as above. ST-MEM runs the model on each crop and averages the
//               logits (for the loss) and the output probabilities (for the metrics).
//
// The filters run on each crop, not on the record: their edge transients are part of every
// crop ST-MEM trained on. Values are float64 from the filters on (scipy promotes float32 input
// with float64 coefficients) and float32 on output (ST-MEM's ToTensor).
//
// Randomness: every draw of a training crop comes from one stream keyed by `sample_seed`; the
// trainer passes sharding::sample_seed(seed, epoch, record) (SampleItem::seed), so a resumed or
// rescaled run sees the same crop and augmentation for the same (seed, epoch, record).
// Threads: StMemInput is immutable after construction; its methods are const and thread-safe (the
// scratch buffers are per call), so the prefetcher's workers can share one instance.
#pragma once

#include <cstdint>
#include <vector>

#include "data/signal/butterworth.h"
#include "data/signal/stmem_augment.h"

namespace ecg::data {

struct StMemFilterSpec {
  int order = 5;
  double highpass_hz = 0.67;
  double lowpass_hz = 40.0;
};

struct StMemInputSpec {
  double sampling_rate_hz = 250.0;
  int leads = 12;
  int64_t crop_samples = 2250;
  int eval_crops = 3;  // n_crop num_segments
  StMemFilterSpec filter;
  bool rand_augment = true;  // rand_augment.use
  RandAugmentSpec augment;
};

// NCrop's start positions: 0, s, 2s, ... up to n - crop with s = (n - crop) // (crops - 1). Like
// ST-MEM this can yield MORE than `crops` starts when (n - crop) is not a multiple of s (e.g.
// n - crop = 3, crops = 3: 0, 1, 2, 3); records with n - crop < crops - 1 (s = 0) are an error,
// as they are in ST-MEM. crops == 1 gives the single start 0 (ST-MEM would divide by zero).
std::vector<int64_t> stmem_eval_crop_starts(int64_t record_samples, int64_t crop_samples,
                                            int crops);

// A draw of prepare_train_crop (for logging and tests).
struct TrainCropTrace {
  int64_t start = 0;
  std::vector<AugmentDraw> augments;
};

// The purpose key of the training-crop stream (data/signal/synth_rng.h's key2), distinct from the
// synthetic generator's purposes.
constexpr uint64_t kStMemTrainStream = 0x5354'4D45'4D54'524EULL;  // "STMEMTRN"

class StMemInput {
 public:
  explicit StMemInput(StMemInputSpec spec = {});

  const StMemInputSpec& spec() const { return spec_; }
  const ZeroPhaseSos& highpass() const { return highpass_; }
  const ZeroPhaseSos& lowpass() const { return lowpass_; }

  // The number of eval crops a record of `record_samples` gets (see stmem_eval_crop_starts).
  int64_t eval_crop_count(int64_t record_samples) const;

  // record = [leads, record_samples] float32, row-major, at spec.sampling_rate_hz.
  // out = [eval_crop_count, leads, crop_samples].
  void prepare_eval_crops(const float* record, int64_t record_samples, float* out) const;
  std::vector<float> prepare_eval_crops(const float* record, int64_t record_samples) const;

  // out = [leads, crop_samples]: the random crop, filtered, standardised and (if enabled)
  // augmented, all draws from sample_seed.
  void prepare_train_crop(const float* record, int64_t record_samples, uint64_t sample_seed,
                          float* out, TrainCropTrace* trace = nullptr) const;
  std::vector<float> prepare_train_crop(const float* record, int64_t record_samples,
                                        uint64_t sample_seed,
                                        TrainCropTrace* trace = nullptr) const;

  // The deterministic part: the crop of `record` (lead stride record_samples) starting at
  // `start`, high-pass, low-pass and standardised into out = [leads, crop_samples] float64.
  void filter_and_standardize(const float* record, int64_t record_samples, int64_t start,
                              double* out) const;

 private:
  StMemInputSpec spec_;
  ZeroPhaseSos highpass_;
  ZeroPhaseSos lowpass_;
};

// Standardises x[0..n) in place by its mean and population standard deviation (numpy's mean/std);
// std == 0 gives all zeros, as ST-MEM's Standardize (no epsilon).
void standardize_jointly(double* x, size_t n);

}  // namespace ecg::data
