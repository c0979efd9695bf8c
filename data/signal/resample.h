// Anti-aliased sample-rate conversion of multi-lead records with libsoxr (high quality: a
// linear-phase low-pass at ~0.91 x the lower Nyquist rate with >= 100 dB stop-band attenuation).
#pragma once

#include <soxr.h>

#include <vector>

namespace ecg::data {

// One resampler per thread (soxr objects are not shared), reused across records of equal shape.
// Each lead is extended by 1 s of odd reflection (2*x[0] - x[k]) on both sides before resampling
// and the corresponding output is dropped, so the filter's start-up and tail transients fall
// outside the record instead of onto its first and last samples.
class Resampler {
 public:
  Resampler(int in_rate, int out_rate, int n_channels);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // channels[c] holds n input samples; returns per-channel output of round(n * out / in) samples.
  std::vector<std::vector<float>> process(const std::vector<std::vector<float>>& channels);

  int in_rate() const { return in_rate_; }
  int out_rate() const { return out_rate_; }

 private:
  int in_rate_;
  int out_rate_;
  int n_channels_;
  soxr_t soxr_ = nullptr;
};

// Convenience for one channel (tests, tools).
std::vector<float> resample_channel(const std::vector<float>& x, int in_rate, int out_rate);

}  // namespace ecg::data
