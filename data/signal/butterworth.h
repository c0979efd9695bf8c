// Digital Butterworth low/high-pass filters as cascades of second-order sections (SOS), and
// zero-phase forward-backward filtering of a finite signal with odd-reflection padding and
// steady-state initial conditions. Together they reproduce, to rounding, what
//   sos = scipy.signal.butter(order, cutoff, btype, fs=fs, output='sos')
//   y   = scipy.signal.sosfiltfilt(sos, x)            # padtype='odd', default padlen
// computes -- ST-MEM's input filters (docs/stmem-input.md) are defined by exactly these calls, and
// their edge behaviour (only 3 * taps samples of padding, a 0.67 Hz high-pass whose transient
// lasts hundreds of samples) is part of what the model saw, so an "equivalent" filter is not
// enough. No Debian C/C++ library offers this combination (design + SOS pairing + filtfilt with
// sosfilt_zi initial state), and it is ~200 lines of textbook math, so it is written here.
//
// Design (standard bilinear-transform method): analog prototype poles on the unit circle, frequency
// pre-warping, low-pass->low/high-pass transform, bilinear transform at fs = 2 on the normalised
// cutoff, then the poles are paired into sections by the "nearest" rule (poles closest to the unit
// circle first, each with its nearest remaining zero; an odd order gets a pole and zero at the
// origin to make pairs), the first-built section last and the overall gain in the first section.
// The pairing decides the rounding of the cascade, and the tests compare coefficients with scipy.
//
// Precision: everything is float64. The float32 entry point follows numpy's dtype rules for a
// float32 array: the padding (2*x[0] - x[k]) is formed in float32, the filtering in float64.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace ecg::data {

enum class FilterBand { kLowPass, kHighPass };

struct ButterworthSpec {
  int order = 5;
  double cutoff_hz = 0.67;
  FilterBand band = FilterBand::kHighPass;
  double sampling_rate_hz = 250.0;
};

// One second-order section: H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
// a[0] is always 1 (stored so a row reads like scipy's [b0 b1 b2 a0 a1 a2]).
struct Biquad {
  std::array<double, 3> b{};
  std::array<double, 3> a{};
};

using SosCascade = std::vector<Biquad>;

// The sections of scipy's butter(..., output='sos'), in the same order. Errors: order < 1,
// cutoff outside (0, fs/2).
SosCascade design_butterworth(const ButterworthSpec& spec);

// Direct-form-II-transposed state of one section.
using BiquadState = std::array<double, 2>;

// State of every section after an infinitely long unit step (scipy.signal.sosfilt_zi): scaled by
// the first sample, it starts the filter as if the signal had always had that value, so there is
// no start-up transient.
std::vector<BiquadState> sos_step_state(const SosCascade& sos);

// Runs the cascade over x[0..n) in place, starting from and updating `state` (one per section).
void sos_filter(const SosCascade& sos, double* x, size_t n, std::vector<BiquadState>& state);

// Zero-phase filtering with sosfiltfilt's defaults: odd extension by pad_length() samples on both
// sides, forward pass from step_state * first padded sample, backward pass from step_state * last
// forward output, padding dropped. Immutable after construction: apply() is thread-safe (it uses
// the caller's or a local scratch buffer).
class ZeroPhaseSos {
 public:
  explicit ZeroPhaseSos(SosCascade sos);

  const SosCascade& sections() const { return sos_; }
  // 3 * (2 * sections + 1 - min(#sections with b2 == 0, #sections with a2 == 0)): sosfiltfilt's
  // default padlen, which does not count the taps of first-order sections.
  size_t pad_length() const { return pad_; }

  // y[0..n) = filtfilt(x[0..n)); x and y may alias. Error when n <= pad_length() (as scipy).
  void apply(const double* x, size_t n, double* y, std::vector<double>& scratch) const;
  // The same for a float32 signal (padding formed in float32, see the file comment).
  void apply(const float* x, size_t n, double* y, std::vector<double>& scratch) const;

  // Filters `rows` signals of n samples at once: row r is x[r * stride + t], the result goes to
  // y[r * n + t] (x and y may alias when stride == n). The rows run interleaved so that the
  // recursions of different rows overlap (SIMD across rows); each row's arithmetic is exactly that
  // of apply(), so the result is bit-identical to filtering the rows one by one.
  void apply_rows(const double* x, size_t rows, size_t stride, size_t n, double* y,
                  std::vector<double>& scratch) const;
  void apply_rows(const float* x, size_t rows, size_t stride, size_t n, double* y,
                  std::vector<double>& scratch) const;

 private:
  template <typename T>
  void apply_rows_impl(const T* x, size_t rows, size_t stride, size_t n, double* y,
                       std::vector<double>& scratch) const;
  void filter_interleaved(double* ext, size_t rows, size_t m) const;

  SosCascade sos_;
  std::vector<BiquadState> step_state_;
  size_t pad_;
};

}  // namespace ecg::data
