#include "data/signal/stmem_input.h"

#include <cmath>

#include "common/error.h"

namespace ecg::data {
namespace {

ZeroPhaseSos make_filter(const StMemInputSpec& spec, double cutoff_hz, FilterBand band) {
  ButterworthSpec b;
  b.order = spec.filter.order;
  b.cutoff_hz = cutoff_hz;
  b.band = band;
  b.sampling_rate_hz = spec.sampling_rate_hz;
  return ZeroPhaseSos(design_butterworth(b));
}

void check_record(const StMemInputSpec& spec, const float* record, int64_t record_samples) {
  ECG_CHECK(record != nullptr, "st-mem input: no record");
  ECG_CHECK(record_samples >= spec.crop_samples,
            "st-mem input: record of {} samples is shorter than the {}-sample crop",
            record_samples, spec.crop_samples);
}

}  // namespace

std::vector<int64_t> stmem_eval_crop_starts(int64_t record_samples, int64_t crop_samples,
                                            int crops) {
  ECG_CHECK(crops >= 1, "st-mem eval crops must be >= 1 (got {})", crops);
  ECG_CHECK(crop_samples >= 1 && crop_samples <= record_samples,
            "st-mem eval: crop of {} samples does not fit a record of {}", crop_samples,
            record_samples);
  const int64_t slack = record_samples - crop_samples;
  if (crops == 1) return {0};
  const int64_t step = slack / (crops - 1);
  ECG_CHECK(step >= 1,
            "st-mem eval: {} crops of {} samples need a record of at least {} samples (got {})",
            crops, crop_samples, crop_samples + crops - 1, record_samples);
  std::vector<int64_t> starts;
  for (int64_t s = 0; s <= slack; s += step) starts.push_back(s);
  return starts;
}

void standardize_jointly(double* x, size_t n) {
  ECG_CHECK(n > 0, "standardize: empty crop");
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const double sd = std::sqrt(sq / static_cast<double>(n));
  if (sd == 0.0) {
    std::fill(x, x + n, 0.0);
    return;
  }
  for (size_t i = 0; i < n; ++i) x[i] = (x[i] - mean) / sd;
}

StMemInput::StMemInput(StMemInputSpec spec)
    : spec_(std::move(spec)),
      highpass_(make_filter(spec_, spec_.filter.highpass_hz, FilterBand::kHighPass)),
      lowpass_(make_filter(spec_, spec_.filter.lowpass_hz, FilterBand::kLowPass)) {
  ECG_CHECK(spec_.leads >= 1, "st-mem input: leads must be >= 1 (got {})", spec_.leads);
  ECG_CHECK(spec_.crop_samples > static_cast<int64_t>(std::max(highpass_.pad_length(),
                                                               lowpass_.pad_length())),
            "st-mem input: a {}-sample crop is too short for the filters' padding",
            spec_.crop_samples);
  ECG_CHECK(spec_.eval_crops >= 1, "st-mem input: eval crops must be >= 1 (got {})",
            spec_.eval_crops);
  if (spec_.rand_augment) validate(spec_.augment);
}

int64_t StMemInput::eval_crop_count(int64_t record_samples) const {
  return static_cast<int64_t>(
      stmem_eval_crop_starts(record_samples, spec_.crop_samples, spec_.eval_crops).size());
}

void StMemInput::filter_and_standardize(const float* record, int64_t record_samples,
                                        int64_t start, double* out) const {
  check_record(spec_, record, record_samples);
  ECG_CHECK(start >= 0 && start + spec_.crop_samples <= record_samples,
            "st-mem input: crop [{}, {}) outside a record of {} samples", start,
            start + spec_.crop_samples, record_samples);
  const auto n = static_cast<size_t>(spec_.crop_samples);
  // All leads at once (bit-identical to one lead at a time, several times faster).
  std::vector<double> scratch;
  const auto leads = static_cast<size_t>(spec_.leads);
  highpass_.apply_rows(record + start, leads, static_cast<size_t>(record_samples), n, out, scratch);
  lowpass_.apply_rows(out, leads, n, n, out, scratch);
  standardize_jointly(out, static_cast<size_t>(spec_.leads) * n);
}

void StMemInput::prepare_eval_crops(const float* record, int64_t record_samples,
                                    float* out) const {
  check_record(spec_, record, record_samples);
  const auto starts = stmem_eval_crop_starts(record_samples, spec_.crop_samples, spec_.eval_crops);
  const size_t per_crop = static_cast<size_t>(spec_.leads) * static_cast<size_t>(spec_.crop_samples);
  std::vector<double> crop(per_crop);
  for (size_t c = 0; c < starts.size(); ++c) {
    filter_and_standardize(record, record_samples, starts[c], crop.data());
    float* dst = out + c * per_crop;
    for (size_t i = 0; i < per_crop; ++i) dst[i] = static_cast<float>(crop[i]);
  }
}

std::vector<float> StMemInput::prepare_eval_crops(const float* record,
                                                  int64_t record_samples) const {
  const size_t per_crop = static_cast<size_t>(spec_.leads) * static_cast<size_t>(spec_.crop_samples);
  std::vector<float> out(static_cast<size_t>(eval_crop_count(record_samples)) * per_crop);
  prepare_eval_crops(record, record_samples, out.data());
  return out;
}

void StMemInput::prepare_train_crop(const float* record, int64_t record_samples,
                                    uint64_t sample_seed, float* out,
                                    TrainCropTrace* trace) const {
  check_record(spec_, record, record_samples);
  synth::Rng rng(sample_seed, kStMemTrainStream);
  // randint(0, n - crop + 1): every valid offset equally likely.
  const int64_t start = rng.below(static_cast<int>(record_samples - spec_.crop_samples + 1));
  const size_t per_crop = static_cast<size_t>(spec_.leads) * static_cast<size_t>(spec_.crop_samples);
  std::vector<double> crop(per_crop);
  filter_and_standardize(record, record_samples, start, crop.data());
  std::vector<AugmentDraw> draws;
  if (spec_.rand_augment) {
    draws = rand_augment(CropView{crop.data(), spec_.leads, spec_.crop_samples}, spec_.augment, rng);
  }
  for (size_t i = 0; i < per_crop; ++i) out[i] = static_cast<float>(crop[i]);
  if (trace) {
    trace->start = start;
    trace->augments = std::move(draws);
  }
}

std::vector<float> StMemInput::prepare_train_crop(const float* record, int64_t record_samples,
                                                  uint64_t sample_seed,
                                                  TrainCropTrace* trace) const {
  std::vector<float> out(static_cast<size_t>(spec_.leads) *
                         static_cast<size_t>(spec_.crop_samples));
  prepare_train_crop(record, record_samples, sample_seed, out.data(), trace);
  return out;
}

}  // namespace ecg::data
