#include "data/signal/resample.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace ecg::data {
namespace {

// Odd reflection (2*x[0] - x[k], as scipy's filtfilt pads): continues value and slope across the
// edge, so the resampler's filter sees no jump or kink there. Indices beyond one reflection are
// clamped (only for records shorter than the 1 s pad).
float reflected(const std::vector<float>& x, long i) {
  const long n = static_cast<long>(x.size());
  auto at = [&](long k) { return x[static_cast<size_t>(std::clamp(k, 0L, n - 1))]; };
  if (i < 0) return 2.0f * x[0] - at(-i);
  if (i >= n) return 2.0f * x[static_cast<size_t>(n - 1)] - at(2 * (n - 1) - i);
  return x[static_cast<size_t>(i)];
}

}  // namespace

Resampler::Resampler(int in_rate, int out_rate, int n_channels)
    : in_rate_(in_rate), out_rate_(out_rate), n_channels_(n_channels) {
  ECG_CHECK(in_rate > 0 && out_rate > 0, "bad resampling rates {} -> {} Hz", in_rate, out_rate);
  soxr_error_t err = nullptr;
  // Split channels (one buffer per lead), float32 in and out.
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S);
  soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  // One thread per resampler: records are already processed in parallel by our own workers.
  soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  soxr_ = soxr_create(in_rate, out_rate, static_cast<unsigned>(n_channels), &err, &io, &quality,
                      &runtime);
  ECG_CHECK(err == nullptr && soxr_ != nullptr,
            "libsoxr: cannot create a {} -> {} Hz resampler: {}", in_rate, out_rate,
            err != nullptr ? err : "unknown error");
}

Resampler::~Resampler() {
  if (soxr_ != nullptr) soxr_delete(soxr_);
}

std::vector<std::vector<float>> Resampler::process(
    const std::vector<std::vector<float>>& channels) {
  ECG_CHECK(static_cast<int>(channels.size()) == n_channels_,
            "resampler built for {} channels got {}", n_channels_, channels.size());
  const size_t n = channels.empty() ? 0 : channels[0].size();
  const size_t out_n = static_cast<size_t>(
      std::llround(static_cast<double>(n) * out_rate_ / static_cast<double>(in_rate_)));
  if (in_rate_ == out_rate_) return channels;

  // 1 s of padding at the input rate is exactly out_rate samples at the output rate.
  const size_t pad_in = static_cast<size_t>(in_rate_);
  const size_t pad_out = static_cast<size_t>(out_rate_);
  const size_t padded_n = n + 2 * pad_in;
  std::vector<std::vector<float>> padded(channels.size(), std::vector<float>(padded_n));
  for (size_t c = 0; c < channels.size(); ++c) {
    ECG_CHECK(channels[c].size() == n, "resampler: channels of unequal length");
    for (size_t i = 0; i < padded_n; ++i) {
      padded[c][i] = reflected(channels[c], static_cast<long>(i) - static_cast<long>(pad_in));
    }
  }
  const size_t want = out_n + 2 * pad_out;
  // soxr may emit a few samples more than round(n * ratio) after the flush; leave headroom.
  const size_t capacity = want + 64;
  std::vector<std::vector<float>> out(channels.size(), std::vector<float>(capacity));

  soxr_clear(soxr_);
  std::vector<const float*> in_ptrs(channels.size());
  std::vector<float*> out_ptrs(channels.size());
  size_t in_done_total = 0, out_done_total = 0;
  // Feed everything, then flush (in = nullptr) until soxr has nothing more to give.
  for (int guard = 0; guard < 1000 && out_done_total < capacity; ++guard) {
    const bool flushing = in_done_total == padded_n;
    for (size_t c = 0; c < channels.size(); ++c) {
      in_ptrs[c] = padded[c].data() + in_done_total;
      out_ptrs[c] = out[c].data() + out_done_total;
    }
    size_t idone = 0, odone = 0;
    soxr_error_t err =
        soxr_process(soxr_, flushing ? nullptr : static_cast<soxr_in_t>(in_ptrs.data()),
                     flushing ? 0 : padded_n - in_done_total, &idone,
                     static_cast<soxr_out_t>(out_ptrs.data()), capacity - out_done_total, &odone);
    ECG_CHECK(err == nullptr, "libsoxr: resampling failed: {}", err);
    in_done_total += idone;
    out_done_total += odone;
    if (flushing && odone == 0) break;
  }
  ECG_CHECK(out_done_total >= want, "libsoxr: produced {} samples, expected {}", out_done_total,
            want);
  std::vector<std::vector<float>> result(channels.size());
  for (size_t c = 0; c < channels.size(); ++c) {
    result[c].assign(out[c].begin() + static_cast<long>(pad_out),
                     out[c].begin() + static_cast<long>(pad_out + out_n));
  }
  return result;
}

std::vector<float> resample_channel(const std::vector<float>& x, int in_rate, int out_rate) {
  Resampler r(in_rate, out_rate, 1);
  return r.process({x})[0];
}

}  // namespace ecg::data
