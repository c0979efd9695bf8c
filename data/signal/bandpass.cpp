#include "data/signal/bandpass.h"

#include <cmath>
#include <mutex>

#include "common/error.h"

namespace ecg::data {
namespace {

std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// Smallest 2^a 3^b 5^c >= n: FFTW is fastest on such sizes.
size_t fast_fft_size(size_t n) {
  for (size_t m = n;; ++m) {
    size_t r = m;
    for (size_t p : {2, 3, 5}) {
      while (r % p == 0) r /= p;
    }
    if (r == 1) return m;
  }
}

}  // namespace

double bandpass_gain(const BandpassSpec& spec, double f, double fs) {
  if (f <= 0.0) return 0.0;  // DC is removed exactly
  const double nyquist = fs / 2.0;
  if (f >= nyquist) f = nyquist * (1.0 - 1e-12);
  // Digital Butterworth: |H|^2 = 1 / (1 + (tan(w/2) / tan(wc/2))^(2N)) after the bilinear
  // transform.
  const double w = std::tan(M_PI * f / fs);
  const int two_n = 2 * spec.order;
  double g = 1.0;
  if (spec.low_hz > 0) {
    const double wl = std::tan(M_PI * spec.low_hz / fs);
    g *= 1.0 / (1.0 + std::pow(wl / w, two_n));  // high-pass part
  }
  if (spec.high_hz > 0 && spec.high_hz < nyquist) {
    const double wh = std::tan(M_PI * spec.high_hz / fs);
    g *= 1.0 / (1.0 + std::pow(w / wh, two_n));  // low-pass part
  }
  // Squared: forward-backward application of the filter, as filtfilt does.
  return g * g;
}

BandpassFilter::BandpassFilter(const BandpassSpec& spec, double fs, size_t n) : n_(n), fs_(fs) {
  ECG_CHECK(n >= 2, "band-pass: record too short ({} samples)", n);
  ECG_CHECK(spec.low_hz < spec.high_hz, "band-pass: low cut {} Hz >= high cut {} Hz", spec.low_hz,
            spec.high_hz);
  pad_ = n - 1;
  nfft_ = fast_fft_size(n + 2 * pad_ + 2);
  const size_t bins = nfft_ / 2 + 1;
  {
    std::lock_guard<std::mutex> lock(planner_mutex());
    time_ = fftwf_alloc_real(nfft_);
    freq_ = fftwf_alloc_complex(bins);
    ECG_CHECK(time_ != nullptr && freq_ != nullptr, "band-pass: out of memory for FFT buffers");
    const int len = static_cast<int>(nfft_);
    // FFTW_ESTIMATE: planning must not overwrite buffers or take seconds per thread.
    forward_ = fftwf_plan_dft_r2c_1d(len, time_, freq_, FFTW_ESTIMATE);
    inverse_ = fftwf_plan_dft_c2r_1d(len, freq_, time_, FFTW_ESTIMATE);
    ECG_CHECK(forward_ != nullptr && inverse_ != nullptr, "FFTW: cannot plan a {}-point FFT",
              nfft_);
  }
  gain_.resize(bins);
  for (size_t k = 0; k < bins; ++k) {
    const double f = static_cast<double>(k) * fs / static_cast<double>(nfft_);
    gain_[k] = static_cast<float>(bandpass_gain(spec, f, fs) / static_cast<double>(nfft_));
  }
}

BandpassFilter::~BandpassFilter() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  if (forward_ != nullptr) fftwf_destroy_plan(forward_);
  if (inverse_ != nullptr) fftwf_destroy_plan(inverse_);
  fftwf_free(time_);
  fftwf_free(freq_);
}

void BandpassFilter::apply(float* x) {
  const long n = static_cast<long>(n_);
  const long pad = static_cast<long>(pad_);
  // Layout: [odd reflection of the start | x | odd reflection of the end | zeros].
  for (long i = 0; i < pad; ++i) time_[i] = 2.0f * x[0] - x[pad - i];
  for (long i = 0; i < n; ++i) time_[pad + i] = x[i];
  for (long i = 0; i < pad; ++i) time_[pad + n + i] = 2.0f * x[n - 1] - x[n - 2 - i];
  for (size_t i = n_ + 2 * pad_; i < nfft_; ++i) time_[i] = 0.0f;

  fftwf_execute(forward_);
  const size_t bins = nfft_ / 2 + 1;
  for (size_t k = 0; k < bins; ++k) {
    freq_[k][0] *= gain_[k];
    freq_[k][1] *= gain_[k];
  }
  fftwf_execute(inverse_);
  for (long i = 0; i < n; ++i) x[i] = time_[pad + i];
}

std::vector<float> bandpass(const std::vector<float>& x, double fs, const BandpassSpec& spec) {
  BandpassFilter filter(spec, fs, x.size());
  std::vector<float> y = x;
  filter.apply(y.data());
  return y;
}

}  // namespace ecg::data
