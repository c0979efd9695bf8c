#include "data/signal/butterworth.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "common/error.h"

namespace ecg::data {
namespace {

using Complex = std::complex<double>;

// The digital filter before pairing: poles (all of them, conjugates included), real zeros and the
// overall gain. Butterworth low/high-pass zeros are all real (-1 resp. +1), which keeps the
// pairing below to real zeros.
struct DigitalZpk {
  std::vector<Complex> poles;
  std::vector<double> zeros;
  double gain = 1.0;
};

DigitalZpk butterworth_zpk(const ButterworthSpec& spec) {
  const int n = spec.order;
  // The design runs at a normalised rate of 2 (Nyquist = 1); pre-warping maps the cutoff so that
  // the bilinear transform puts the -3 dB point exactly at cutoff_hz.
  constexpr double kDesignRate = 2.0;
  const double normalised = 2.0 * spec.cutoff_hz / spec.sampling_rate_hz;
  const double warped = 2.0 * kDesignRate * std::tan(M_PI * normalised / kDesignRate);

  // Analog prototype (cutoff 1 rad/s): poles evenly spaced on the left half of the unit circle.
  std::vector<Complex> analog(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int m = -n + 1 + 2 * i;
    analog[static_cast<size_t>(i)] = -std::exp(Complex(0.0, M_PI * m / (2.0 * n)));
  }

  // Low-pass -> low-pass scales the poles by the cutoff; low-pass -> high-pass inverts them and
  // moves the n zeros from infinity to the origin.
  double analog_gain = 1.0;
  std::vector<double> analog_zeros;
  if (spec.band == FilterBand::kLowPass) {
    for (auto& p : analog) p *= warped;
    analog_gain = std::pow(warped, n);
  } else {
    Complex prod_minus_p = 1.0;
    for (const auto& p : analog) prod_minus_p *= -p;
    analog_gain = (1.0 / prod_minus_p).real();
    for (auto& p : analog) p = warped / p;
    analog_zeros.assign(static_cast<size_t>(n), 0.0);
  }

  // Bilinear transform s -> 2 fs (z - 1) / (z + 1) at fs = kDesignRate. Zeros at infinity land on
  // z = -1; the gain keeps the same response at the mapped frequencies.
  const double two_fs = 2.0 * kDesignRate;
  DigitalZpk d;
  Complex num = 1.0, den = 1.0;
  for (double z : analog_zeros) {
    d.zeros.push_back((two_fs + z) / (two_fs - z));
    num *= (two_fs - z);
  }
  for (const auto& p : analog) {
    d.poles.push_back((two_fs + p) / (two_fs - p));
    den *= (two_fs - p);
  }
  while (d.zeros.size() < d.poles.size()) d.zeros.push_back(-1.0);
  d.gain = analog_gain * (num / den).real();
  return d;
}

double distance_to_unit_circle(const Complex& p) { return std::abs(1.0 - std::abs(p)); }

// Index of the remaining zero nearest to `p` (first one on ties); the zero is removed.
double take_nearest_zero(std::vector<double>& zeros, const Complex& p) {
  ECG_CHECK(!zeros.empty(), "butterworth: pairing ran out of zeros");
  size_t best = 0;
  for (size_t i = 1; i < zeros.size(); ++i) {
    if (std::abs(zeros[i] - p) < std::abs(zeros[best] - p)) best = i;
  }
  const double z = zeros[best];
  zeros.erase(zeros.begin() + static_cast<std::ptrdiff_t>(best));
  return z;
}

// "Nearest" pairing: repeatedly start a section with the remaining pole closest to the unit circle
// (complex ones, one per conjugate pair, are considered before real ones on ties), give it its
// nearest zero, complete it with the conjugate (complex) or the next real pole closest to the unit
// circle (real) and that pole's nearest zero. Sections are placed from the last to the first, so
// the most resonant section runs last; the gain goes into the first section.
SosCascade pair_into_sections(DigitalZpk d) {
  std::vector<Complex> complex_poles;  // upper half-plane representatives of conjugate pairs
  std::vector<double> real_poles;
  for (const auto& p : d.poles) {
    const double tol = 1e-14 * std::max(1.0, std::abs(p));
    if (std::abs(p.imag()) <= tol) {
      real_poles.push_back(p.real());
    } else if (p.imag() > 0) {
      complex_poles.push_back(p);
    }
  }
  ECG_CHECK(2 * complex_poles.size() + real_poles.size() == d.poles.size(),
            "butterworth: poles are not in conjugate pairs");
  if (real_poles.size() % 2 == 1) {
    // An odd order becomes whole sections with a pole and a zero at the origin (they cancel).
    real_poles.push_back(0.0);
    d.zeros.push_back(0.0);
  }
  const size_t n_sections = complex_poles.size() + real_poles.size() / 2;
  ECG_CHECK(d.zeros.size() == 2 * n_sections, "butterworth: {} zeros for {} sections",
            d.zeros.size(), n_sections);

  SosCascade sos(n_sections);
  for (size_t filled = 0; filled < n_sections; ++filled) {
    // Next pole: closest to the unit circle, complex before real on ties (first occurrence).
    size_t best_c = 0, best_r = 0;
    double dist_c = std::numeric_limits<double>::infinity();
    double dist_r = dist_c;
    for (size_t i = 0; i < complex_poles.size(); ++i) {
      const double dd = distance_to_unit_circle(complex_poles[i]);
      if (dd < dist_c) dist_c = dd, best_c = i;
    }
    for (size_t i = 0; i < real_poles.size(); ++i) {
      const double dd = std::abs(1.0 - std::abs(real_poles[i]));
      if (dd < dist_r) dist_r = dd, best_r = i;
    }
    Biquad& q = sos[n_sections - 1 - filled];
    double z1 = 0, z2 = 0;
    if (dist_c <= dist_r) {
      const Complex p = complex_poles[best_c];
      complex_poles.erase(complex_poles.begin() + static_cast<std::ptrdiff_t>(best_c));
      z1 = take_nearest_zero(d.zeros, p);
      z2 = take_nearest_zero(d.zeros, p);
      q.a = {1.0, -2.0 * p.real(), p.real() * p.real() + p.imag() * p.imag()};
    } else {
      const double p1 = real_poles[best_r];
      real_poles.erase(real_poles.begin() + static_cast<std::ptrdiff_t>(best_r));
      z1 = take_nearest_zero(d.zeros, p1);
      size_t next = 0;
      for (size_t i = 1; i < real_poles.size(); ++i) {
        if (std::abs(1.0 - std::abs(real_poles[i])) < std::abs(1.0 - std::abs(real_poles[next])))
          next = i;
      }
      ECG_CHECK(!real_poles.empty(), "butterworth: unpaired real pole");
      const double p2 = real_poles[next];
      real_poles.erase(real_poles.begin() + static_cast<std::ptrdiff_t>(next));
      z2 = take_nearest_zero(d.zeros, p2);
      q.a = {1.0, -p1 - p2, p1 * p2};
    }
    q.b = {1.0, -z1 - z2, z1 * z2};
  }
  for (auto& c : sos.front().b) c *= d.gain;
  return sos;
}

}  // namespace

SosCascade design_butterworth(const ButterworthSpec& spec) {
  ECG_CHECK(spec.order >= 1 && spec.order <= 24, "butterworth: order must be 1..24 (got {})",
            spec.order);
  ECG_CHECK(spec.sampling_rate_hz > 0, "butterworth: sampling rate must be positive (got {})",
            spec.sampling_rate_hz);
  ECG_CHECK(spec.cutoff_hz > 0 && spec.cutoff_hz < spec.sampling_rate_hz / 2,
            "butterworth: cutoff {} Hz must lie in (0, {}) Hz (half the sampling rate)",
            spec.cutoff_hz, spec.sampling_rate_hz / 2);
  return pair_into_sections(butterworth_zpk(spec));
}

std::vector<BiquadState> sos_step_state(const SosCascade& sos) {
  // Per section, the transposed-direct-form state after a constant input u = 1 has settled:
  // s0 = y - b0 u and s1 = b2 u - a2 y with y = H(1) u. The section's input is the DC gain of
  // the sections before it.
  std::vector<BiquadState> state(sos.size());
  double scale = 1.0;
  for (size_t s = 0; s < sos.size(); ++s) {
    const auto& b = sos[s].b;
    const auto& a = sos[s].a;
    const double sum_a = a[0] + a[1] + a[2];
    ECG_CHECK(sum_a != 0.0, "sos_step_state: section {} has a pole at z = 1", s);
    const double s0 = ((b[1] - a[1] * b[0]) + (b[2] - a[2] * b[0])) / sum_a;
    const double s1 = (b[2] - a[2] * b[0]) - a[2] * s0;
    state[s] = {s0 * scale, s1 * scale};
    scale *= (b[0] + b[1] + b[2]) / sum_a;
  }
  return state;
}

void sos_filter(const SosCascade& sos, double* x, size_t n, std::vector<BiquadState>& state) {
  ECG_CHECK(state.size() == sos.size(), "sos_filter: {} states for {} sections", state.size(),
            sos.size());
  for (size_t i = 0; i < n; ++i) {
    double v = x[i];
    for (size_t s = 0; s < sos.size(); ++s) {
      const auto& q = sos[s];
      auto& z = state[s];
      const double y = q.b[0] * v + z[0];
      z[0] = q.b[1] * v - q.a[1] * y + z[1];
      z[1] = q.b[2] * v - q.a[2] * y;
      v = y;
    }
    x[i] = v;
  }
}

ZeroPhaseSos::ZeroPhaseSos(SosCascade sos) : sos_(std::move(sos)) {
  ECG_CHECK(!sos_.empty(), "ZeroPhaseSos: no sections");
  step_state_ = sos_step_state(sos_);
  size_t zero_b2 = 0, zero_a2 = 0;
  for (const auto& q : sos_) {
    zero_b2 += q.b[2] == 0.0;
    zero_a2 += q.a[2] == 0.0;
  }
  const size_t taps = 2 * sos_.size() + 1 - std::min(zero_b2, zero_a2);
  pad_ = 3 * taps;
}

void ZeroPhaseSos::apply(const double* x, size_t n, double* y, std::vector<double>& scratch) const {
  apply_rows_impl(x, 1, n, n, y, scratch);
}

void ZeroPhaseSos::apply(const float* x, size_t n, double* y, std::vector<double>& scratch) const {
  apply_rows_impl(x, 1, n, n, y, scratch);
}

void ZeroPhaseSos::apply_rows(const double* x, size_t rows, size_t stride, size_t n, double* y,
                              std::vector<double>& scratch) const {
  apply_rows_impl(x, rows, stride, n, y, scratch);
}

void ZeroPhaseSos::apply_rows(const float* x, size_t rows, size_t stride, size_t n, double* y,
                              std::vector<double>& scratch) const {
  apply_rows_impl(x, rows, stride, n, y, scratch);
}

template <typename T>
void ZeroPhaseSos::apply_rows_impl(const T* x, size_t rows, size_t stride, size_t n, double* y,
                                   std::vector<double>& ext) const {
  ECG_CHECK(n > pad_, "sosfiltfilt: {} samples, need more than the padding of {}", n, pad_);
  ECG_CHECK(rows >= 1 && stride >= n, "sosfiltfilt: {} rows with stride {} for {} samples", rows,
            stride, n);
  // The odd extension, time-major: ext[i * rows + r] is sample i - pad of row r. The padding is
  // formed in T's arithmetic (float32 for float32 rows, as numpy pads a float32 array).
  const size_t m = n + 2 * pad_;
  ext.resize(m * rows);
  for (size_t r = 0; r < rows; ++r) {
    const T* row = x + r * stride;
    const T two = 2;
    for (size_t i = 1; i <= pad_; ++i) {
      ext[(pad_ - i) * rows + r] = static_cast<double>(two * row[0] - row[i]);
      ext[(pad_ + n - 1 + i) * rows + r] = static_cast<double>(two * row[n - 1] - row[n - 1 - i]);
    }
    for (size_t t = 0; t < n; ++t) ext[(pad_ + t) * rows + r] = static_cast<double>(row[t]);
  }
  filter_interleaved(ext.data(), rows, m);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t t = 0; t < n; ++t) y[r * n + t] = ext[(pad_ + t) * rows + r];
  }
}

void ZeroPhaseSos::filter_interleaved(double* ext, size_t rows, size_t m) const {
  const size_t ns = sos_.size();
  std::vector<double> state(2 * ns * rows);
  // One pass over all rows, from sample `first` towards `last` (inclusive), started in the steady
  // state of each row's first value -- forward, then backward on the forward output.
  auto pass = [&](bool forward) {
    const size_t first = forward ? 0 : m - 1;
    for (size_t s = 0; s < ns; ++s) {
      for (size_t r = 0; r < rows; ++r) {
        state[2 * s * rows + r] = step_state_[s][0] * ext[first * rows + r];
        state[(2 * s + 1) * rows + r] = step_state_[s][1] * ext[first * rows + r];
      }
    }
    for (size_t k = 0; k < m; ++k) {
      double* v = ext + (forward ? k : m - 1 - k) * rows;
      for (size_t s = 0; s < ns; ++s) {
        const Biquad& q = sos_[s];
        const double b0 = q.b[0], b1 = q.b[1], b2 = q.b[2], a1 = q.a[1], a2 = q.a[2];
        double* z0 = state.data() + 2 * s * rows;
        double* z1 = z0 + rows;
        // Same expression as sos_filter, one row per lane.
        for (size_t r = 0; r < rows; ++r) {
          const double in = v[r];
          const double out = b0 * in + z0[r];
          z0[r] = b1 * in - a1 * out + z1[r];
          z1[r] = b2 * in - a2 * out;
          v[r] = out;
        }
      }
    }
  };
  pass(true);
  pass(false);
}

}  // namespace ecg::data
