// Resampler (libsoxr) and zero-phase band-pass (FFTW): behaviour on synthetic tones and pulses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "data/signal/bandpass.h"
#include "data/signal/resample.h"

namespace {

std::vector<float> tone(double freq, double fs, int n, double amp = 1.0, double phase = 0.3) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    x[static_cast<size_t>(i)] =
        static_cast<float>(amp * std::sin(2 * M_PI * freq * i / fs + phase));
  return x;
}

double max_abs(const std::vector<float>& x, size_t from = 0, size_t to = SIZE_MAX) {
  double m = 0;
  for (size_t i = from; i < std::min(to, x.size()); ++i)
    m = std::max(m, std::abs(static_cast<double>(x[i])));
  return m;
}

double max_err(const std::vector<float>& a, const std::vector<float>& b, size_t from = 0,
               size_t to = SIZE_MAX) {
  double m = 0;
  for (size_t i = from; i < std::min({to, a.size(), b.size()}); ++i) {
    m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return m;
}

TEST(Resample, DownsampleKeepsSineBelowNyquist) {
  const auto x = tone(10.0, 500, 5000);
  const auto y = ecg::data::resample_channel(x, 500, 250);
  ASSERT_EQ(y.size(), 2500u);
  // Same amplitude, frequency and phase: compare against the ideal sine at the new sample times.
  const auto want = tone(10.0, 250, 2500);
  EXPECT_LT(max_err(y, want, 50, 2450), 0.01);  // interior
  EXPECT_LT(max_err(y, want), 0.05);            // edges (reflection padding) included
  EXPECT_NEAR(max_abs(y, 50, 2450), 1.0, 0.01);
}

TEST(Resample, UpsampleKeepsSine) {
  const auto x = tone(5.0, 100, 1000);
  const auto y = ecg::data::resample_channel(x, 100, 250);
  ASSERT_EQ(y.size(), 2500u);
  const auto want = tone(5.0, 250, 2500);
  EXPECT_LT(max_err(y, want, 50, 2450), 0.01);
  EXPECT_LT(max_err(y, want), 0.05);
}

TEST(Resample, ToneAboveNewNyquistIsRemoved) {
  // 150 Hz is representable at 500 Hz but above 125 Hz, the Nyquist rate of 250 Hz: it must not
  // alias down to 100 Hz.
  const auto x = tone(150.0, 500, 5000);
  const auto y = ecg::data::resample_channel(x, 500, 250);
  ASSERT_EQ(y.size(), 2500u);
  EXPECT_LT(max_abs(y, 50, 2450), 0.01);
}

TEST(Resample, MultiChannelReuseGivesSameResult) {
  ecg::data::Resampler r(500, 250, 2);
  const auto a = tone(3.0, 500, 5000), b = tone(40.0, 500, 5000, 0.5);
  const auto first = r.process({a, b});
  const auto second = r.process({a, b});  // state is cleared between records
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first[0], ecg::data::resample_channel(a, 500, 250));
}

TEST(Bandpass, RemovesDcAndVerySlowDrift) {
  std::vector<float> dc(5000, 3.0f);
  EXPECT_LT(max_abs(ecg::data::bandpass(dc, 500)), 1e-3);
  // 0.1 Hz baseline wander (one cycle in 10 s), well below the 0.67 Hz cut.
  const auto slow = tone(0.1, 500, 5000);
  EXPECT_LT(max_abs(ecg::data::bandpass(slow, 500)), 0.05);
  // A linear drift is removed too (odd-reflection padding keeps the edges clean).
  std::vector<float> ramp(5000);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = 0.0004f * i;
  EXPECT_LT(max_abs(ecg::data::bandpass(ramp, 500), 500, 4500), 0.02);
}

TEST(Bandpass, PassesTenHzWithUnitGainAndZeroPhase) {
  const auto x = tone(10.0, 500, 5000);
  const auto y = ecg::data::bandpass(x, 500);
  // No attenuation, no shift away from the edges. (A pure tone is the worst case for the
  // odd-reflection padding, whose mean offset 2*x[0] decays through the 0.67 Hz high-pass over
  // ~1-2 s; on ECG-like signals odd reflection measured best, see docs/hdf5-layout.md.)
  EXPECT_LT(max_err(y, x, 1000, 4000), 0.02);
  EXPECT_LT(max_err(y, x), 0.3);  // edges: reflection padding is not a continuation
  EXPECT_NEAR(max_abs(y, 500, 4500), 1.0, 0.01);
  EXPECT_GT(ecg::data::bandpass_gain({}, 10.0, 500), 0.99);
  EXPECT_LT(ecg::data::bandpass_gain({}, 100.0, 500), 1e-4);
  EXPECT_EQ(ecg::data::bandpass_gain({}, 0.0, 500), 0.0);
}

TEST(Bandpass, PeakPositionUnchanged) {
  // A QRS-like pulse on a drifting baseline: the filtered peak stays at the same sample.
  std::vector<float> x(5000);
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = i / 500.0;
    x[i] = static_cast<float>(std::exp(-0.5 * std::pow((t - 4.3) / 0.012, 2)) +
                              0.5 * std::sin(2 * M_PI * 0.2 * t));
  }
  const auto y = ecg::data::bandpass(x, 500);
  const auto peak = std::max_element(y.begin(), y.end()) - y.begin();
  EXPECT_EQ(peak, static_cast<long>(4.3 * 500));
  // 100 Hz: strongly attenuated.
  const auto hf = ecg::data::bandpass(tone(100.0, 500, 5000), 500);
  EXPECT_LT(max_abs(hf, 1000, 4000), 0.02);
}

TEST(Bandpass, FiltersConcurrentlyFromManyThreads) {
  // Plans are created under a mutex; executing them in parallel must give identical results.
  const auto x = tone(7.0, 100, 1000);
  const auto want = ecg::data::bandpass(x, 100);
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) got[t] = ecg::data::bandpass(x, 100);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
