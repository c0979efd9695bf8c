// Zero-phase band-pass (default 0.67-40 Hz, ST-MEM's preprocessing) done in the frequency domain:
// forward real FFT, multiply by a real, non-negative magnitude response, inverse FFT. The response
// is |H|^2 of a digital Butterworth high-pass times |H|^2 of a digital Butterworth low-pass (order
// kOrder each, bilinear-transform frequency warping), which is exactly the magnitude filtfilt
// applies with those filters, with zero phase, so waves keep their positions.
//
// Edges: the record is extended on both sides by an odd reflection (2*x[0] - x[k], as scipy's
// filtfilt pads) of up to n-1 samples, which keeps value and slope continuous at the edges; the
// FFT length is >= 3n so the circular wrap-around lies a whole record away from the data.
#pragma once

#include <fftw3.h>

#include <vector>

namespace ecg::data {

struct BandpassSpec {
  double low_hz = 0.67;
  double high_hz = 40.0;
  int order = 3;  // per side; the applied magnitude is that of filtfilt, i.e. order 2*3 roll-off
};

// The squared-magnitude response at frequency f (Hz) for sampling rate fs.
double bandpass_gain(const BandpassSpec& spec, double f, double fs);

// One filter per thread for records of n samples at fs Hz. FFTW's planner is not thread-safe:
// plan creation and destruction take a process-wide mutex; executing plans is thread-safe.
class BandpassFilter {
 public:
  BandpassFilter(const BandpassSpec& spec, double fs, size_t n);
  ~BandpassFilter();
  BandpassFilter(const BandpassFilter&) = delete;
  BandpassFilter& operator=(const BandpassFilter&) = delete;

  // Filters x (n samples) in place.
  void apply(float* x);
  size_t n() const { return n_; }
  double fs() const { return fs_; }

 private:
  size_t n_;
  double fs_;
  size_t pad_;
  size_t nfft_;
  float* time_ = nullptr;
  fftwf_complex* freq_ = nullptr;
  fftwf_plan forward_ = nullptr;
  fftwf_plan inverse_ = nullptr;
  std::vector<float> gain_;  // per frequency bin, including the 1/nfft normalisation
};

// Convenience for one signal (tests, tools).
std::vector<float> bandpass(const std::vector<float>& x, double fs, const BandpassSpec& spec = {});

}  // namespace ecg::data
