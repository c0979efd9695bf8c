// ST-MEM's downstream input pipeline (data/signal/butterworth.h, data/signal/stmem_input.h,
// data/signal/stmem_augment.h): filter design and zero-phase filtering against scipy, the whole eval
// pipeline against a scipy oracle on the real PTB-XL fixture record, crop placement,
// determinism per (seed, epoch, record), and each RandAugment op's definition.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "common/error.h"
#include "data/signal/butterworth.h"
#include "data/formats/leads.h"
#include "data/preprocess.h"
#include "data/signal/stmem_augment.h"
#include "data/signal/stmem_input.h"
#include "data/formats/wfdb.h"
#include "sharding/epoch_sampler.h"
#include "tests/test_util.h"

namespace {

using namespace ecg::data;
using ecg::testing::run_command;
using ecg::testing::TempDir;

constexpr int kLeads = 12;
constexpr int64_t kCrop = 2250;

std::string oracle() {
  return std::string(ECG_PYTHON) + " " + ecg::testing::test_source_dir() + "/data/stmem_oracle.py";
}

template <typename T>
void write_raw(const std::string& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  ASSERT_TRUE(out.good()) << path;
}

template <typename T>
std::vector<T> read_raw(const std::string& path, size_t count) {
  std::vector<T> v(count);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(T)));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), count * sizeof(T)) << path;
  return v;
}

// The PTB-XL fixture record (100 Hz) brought to 250 Hz the way `ecgdist preprocess --no-filter
// --normalize none --target-rate 250` does it: leads in the standard order, libsoxr resampling.
// [12, 2500] float32, not band-passed, not z-scored -- what ST-MEM's transforms expect.
std::vector<float> fixture_at_250hz() {
  PreprocessOptions o;
  o.sampling_rate = 100;
  o.target_rate = 250;
  o.filter = false;
  o.normalize = "none";
  RecordProcessor proc(o);
  return proc.process(ecg::testing::ptbxl_fixture_dir() + "/records100/00000/00001_lr");
}

std::vector<double> sine(double hz, int64_t n, double fs = 250.0, double phase = 0.3) {
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = std::sin(2 * M_PI * hz * i / fs + phase);
  return x;
}

std::vector<double> filter_both(const std::vector<double>& x) {
  const StMemInput in;
  std::vector<double> y(x.size()), scratch;
  in.highpass().apply(x.data(), x.size(), y.data(), scratch);
  in.lowpass().apply(y.data(), y.size(), y.data(), scratch);
  return y;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b, size_t from, size_t to) {
  double m = 0;
  for (size_t i = from; i < to; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// ---------------------------------------------------------------- Butterworth design and filtering

TEST(Butterworth, StMemSectionsMatchScipyValues) {
  // scipy 1.10: butter(5, 0.67, 'highpass', fs=250, output='sos') and butter(5, 40, 'lowpass', ...).
  const double hp[3][6] = {{0.9731214643552909, -0.9731214643552909, 0, 1, -0.9833012632825942, 0},
                           {1, -2, 1, 1, -1.972841731921317, 0.9731214643964672},
                           {1, -2, 1, 1, -1.9893652490559892, 0.9896473244278208}};
  const double lp[3][6] = {{0.00900363343161406, 0.01800726686322811, 0.00900363343161406, 1, -0.2905268567319164, 0},
                           {1, 2, 1, 1, -0.636723367705371, 0.18830072268097264},
                           {1, 1, 0, 1, -0.8499037710739065, 0.5861539195836989}};
  const auto h = design_butterworth({5, 0.67, FilterBand::kHighPass, 250.0});
  const auto l = design_butterworth({5, 40.0, FilterBand::kLowPass, 250.0});
  ASSERT_EQ(h.size(), 3u);
  ASSERT_EQ(l.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(h[s].b[k], hp[s][k], 1e-13) << "hp b" << k << " section " << s;
      EXPECT_NEAR(h[s].a[k], hp[s][3 + k], 1e-13) << "hp a" << k << " section " << s;
      EXPECT_NEAR(l[s].b[k], lp[s][k], 1e-13) << "lp b" << k << " section " << s;
      EXPECT_NEAR(l[s].a[k], lp[s][3 + k], 1e-13) << "lp a" << k << " section " << s;
    }
  }
  // sosfiltfilt's default padlen: 3 * (2 * 3 + 1 - 1) = 18 for both (one first-order section).
  EXPECT_EQ(ZeroPhaseSos(h).pad_length(), 18u);
  EXPECT_EQ(ZeroPhaseSos(l).pad_length(), 18u);
  // sosfilt_zi: the high-pass's first section starts at -gain, the rest at rest.
  const auto zi = sos_step_state(h);
  EXPECT_NEAR(zi[0][0], -0.9731214643552907, 1e-13);
  EXPECT_EQ(zi[1][0], 0.0);
}

TEST(Butterworth, StepStateStartsAConstantWithoutTransient) {
  // Started in sos_step_state * c, a constant input c is already the steady state: the high-pass
  // outputs 0 and the low-pass c from the first sample on (what sosfiltfilt's zi is for).
  for (auto [band, cutoff, gain] : {std::tuple{FilterBand::kHighPass, 0.67, 0.0},
                                    std::tuple{FilterBand::kLowPass, 40.0, 1.0}}) {
    const auto sos = design_butterworth({5, cutoff, band, 250.0});
    auto state = sos_step_state(sos);
    for (auto& z : state) z = {z[0] * 3.0, z[1] * 3.0};
    std::vector<double> x(500, 3.0);
    sos_filter(sos, x.data(), x.size(), state);
    for (double v : x) ASSERT_NEAR(v, 3.0 * gain, 1e-12);
  }
}

TEST(Butterworth, DesignsMatchScipyAcrossOrdersAndRates) {
  struct Case {
    double fs;
    int order;
    double hp, lp;
  };
  const std::vector<Case> cases = {{250, 5, 0.67, 40}, {500, 4, 0.5, 100}, {100, 3, 1.0, 30},
                                   {360, 8, 0.3, 150}, {250, 1, 5, 60},     {1000, 7, 2, 400},
                                   {250, 2, 0.05, 120}, {500, 6, 0.67, 40}};
  std::string args;
  for (const Case& c : cases) args += fmt::format(" {} {} {} {}", c.fs, c.order, c.hp, c.lp);
  const auto r = run_command(oracle() + " design" + args);  // one interpreter start for all
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto all = nlohmann::json::parse(r.output);
  ASSERT_EQ(all.size(), cases.size());
  double worst = 0;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    const auto& want = all[ci];
    for (auto [name, band, cutoff] : {std::tuple{"highpass", FilterBand::kHighPass, c.hp},
                                      std::tuple{"lowpass", FilterBand::kLowPass, c.lp}}) {
      const auto got = design_butterworth({c.order, cutoff, band, c.fs});
      ASSERT_EQ(got.size(), want[name].size()) << name << " order " << c.order;
      for (size_t s = 0; s < got.size(); ++s) {
        for (int k = 0; k < 3; ++k) {
          const double wb = want[name][s][k], wa = want[name][s][3 + k];
          worst = std::max({worst, std::abs(got[s].b[k] - wb) / std::max(1.0, std::abs(wb)),
                            std::abs(got[s].a[k] - wa) / std::max(1.0, std::abs(wa))});
          EXPECT_NEAR(got[s].b[k], wb, 1e-9 * std::max(1.0, std::abs(wb)))
              << name << " fs " << c.fs << " order " << c.order << " section " << s << " b" << k;
          EXPECT_NEAR(got[s].a[k], wa, 1e-9 * std::max(1.0, std::abs(wa)))
              << name << " fs " << c.fs << " order " << c.order << " section " << s << " a" << k;
        }
      }
    }
  }
  std::printf("butterworth SOS vs scipy, %zu designs: largest difference %.3g\n", 2 * cases.size(), worst);
}

TEST(Butterworth, RejectsCutoffAtOrAboveNyquist) {
  EXPECT_THROW(design_butterworth({5, 125.0, FilterBand::kLowPass, 250.0}), ecg::Error);
  EXPECT_THROW(design_butterworth({5, 0.0, FilterBand::kHighPass, 250.0}), ecg::Error);
  EXPECT_THROW(design_butterworth({0, 1.0, FilterBand::kHighPass, 250.0}), ecg::Error);
}

TEST(Butterworth, FiltfiltMatchesScipyInFloat64) {
  // The real record (12 x 2500 at 250 Hz) plus a short signal just above the padding length.
  const auto rec = fixture_at_250hz();
  ASSERT_EQ(rec.size(), 12u * 2500u);
  TempDir dir;
  for (int64_t n : {int64_t{2500}, int64_t{19}}) {
    std::vector<double> x(static_cast<size_t>(kLeads * n));
    for (int l = 0; l < kLeads; ++l)
      for (int64_t t = 0; t < n; ++t) x[static_cast<size_t>(l * n + t)] = rec[static_cast<size_t>(l * 2500 + t)];
    write_raw(dir / "in.f64", x);
    const auto r = run_command(oracle() + " filtfilt " + dir / "in.f64" + " " + dir / "out.f64" +
                               fmt::format(" {} {}", kLeads, n));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto want = read_raw<double>(dir / "out.f64", x.size());
    double scale = 0, err = 0;
    for (int l = 0; l < kLeads; ++l) {
      std::vector<double> lead(x.begin() + l * n, x.begin() + (l + 1) * n);
      const auto got = filter_both(lead);
      for (int64_t t = 0; t < n; ++t) {
        scale = std::max(scale, std::abs(want[static_cast<size_t>(l * n + t)]));
        err = std::max(err, std::abs(got[static_cast<size_t>(t)] - want[static_cast<size_t>(l * n + t)]));
      }
    }
    std::printf("filtfilt vs scipy, n = %lld: max abs diff %.3g, relative to max |y| %.3g\n",
                static_cast<long long>(n), err, err / scale);
    EXPECT_LT(err / scale, 1e-6) << "n = " << n;
  }
}

TEST(Butterworth, RowsAtOnceAreBitIdenticalToOneAtATime) {
  const auto rec = fixture_at_250hz();
  const StMemInput in;
  std::vector<double> together(static_cast<size_t>(kLeads * kCrop)), scratch;
  // A window of the record (stride 2500), as the crops are taken.
  in.highpass().apply_rows(rec.data() + 100, kLeads, 2500, kCrop, together.data(), scratch);
  in.lowpass().apply_rows(together.data(), kLeads, kCrop, kCrop, together.data(), scratch);
  for (int l = 0; l < kLeads; ++l) {
    std::vector<double> one(kCrop);
    in.highpass().apply(rec.data() + l * 2500 + 100, kCrop, one.data(), scratch);
    in.lowpass().apply(one.data(), kCrop, one.data(), scratch);
    for (int64_t t = 0; t < kCrop; ++t) ASSERT_EQ(together[static_cast<size_t>(l * kCrop + t)], one[static_cast<size_t>(t)]);
  }
}

TEST(Butterworth, RemovesBaselineWanderAndKeepsTenHertz) {
  // 0.1 Hz (baseline wander) is removed; 10 Hz (QRS band) passes. Within ~1 s of a crop's ends the
  // high-pass's start-up transient remains (sosfiltfilt pads only 18 samples): ST-MEM's crops
  // have it too, so only the middle is held to the ideal.
  const auto slow = filter_both(sine(0.1, kCrop));
  EXPECT_LT(max_abs_diff(slow, std::vector<double>(kCrop, 0.0), 0, kCrop), 0.03);
  EXPECT_LT(max_abs_diff(slow, std::vector<double>(kCrop, 0.0), 750, kCrop - 750), 1e-3);
  const auto x = sine(10.0, kCrop);
  const auto fast = filter_both(x);
  EXPECT_LT(max_abs_diff(fast, x, 1000, kCrop - 1000), 0.01);
  // 60 Hz: the low-pass's squared gain there is 0.005 (bilinear warping).
  const auto too_fast = filter_both(sine(60.0, kCrop));
  EXPECT_LT(max_abs_diff(too_fast, std::vector<double>(kCrop, 0.0), 1000, kCrop - 1000), 0.01);
}

TEST(Butterworth, TooShortSignalIsAnError) {
  const StMemInput in;
  std::vector<double> x(18, 1.0), y(18), scratch;
  EXPECT_THROW(in.highpass().apply(x.data(), x.size(), y.data(), scratch), ecg::Error);
}

// ---------------------------------------------------------------- crops, standardisation, oracle

TEST(StMemInput, EvalCropStartsFollowNCrop) {
  EXPECT_EQ(stmem_eval_crop_starts(2500, kCrop, 3), (std::vector<int64_t>{0, 125, 250}));
  EXPECT_EQ(stmem_eval_crop_starts(5000, kCrop, 3), (std::vector<int64_t>{0, 1375, 2750}));
  // ST-MEM's quirk: a slack that is not a multiple of the step yields an extra crop.
  EXPECT_EQ(stmem_eval_crop_starts(2253, kCrop, 3), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(stmem_eval_crop_starts(2300, kCrop, 1), (std::vector<int64_t>{0}));
  EXPECT_THROW(stmem_eval_crop_starts(2251, kCrop, 3), ecg::Error);  // step 0
  EXPECT_THROW(stmem_eval_crop_starts(2249, kCrop, 3), ecg::Error);  // shorter than a crop
  // The crops cover the record: the first starts at 0, the last ends at the record's end.
  for (int64_t n : {2250 + 2, 2500, 2501, 3000, 5000}) {
    const auto s = stmem_eval_crop_starts(n, kCrop, 3);
    EXPECT_EQ(s.front(), 0);
    EXPECT_LE(s.back() + kCrop, n);
    EXPECT_GT(s.back() + kCrop + (s[1] - s[0]), n) << "the last possible window is used, n = " << n;
  }
}

TEST(StMemInput, StandardizeIsJointPopulationZScoreAndZeroForConstant) {
  std::vector<double> x = {1, 2, 3, 4, 5, 6};
  standardize_jointly(x.data(), x.size());
  double sum = 0, sq = 0;
  for (double v : x) sum += v, sq += v * v;
  EXPECT_NEAR(sum, 0.0, 1e-12);
  EXPECT_NEAR(sq / x.size(), 1.0, 1e-12);  // population variance (ddof 0)
  EXPECT_NEAR(x[0], (1 - 3.5) / std::sqrt(17.5 / 6), 1e-12);
  // Exactly zero std -> zeros. There is no tolerance, as in numpy: a constant like 4.2 whose mean
  // rounds (np.std(np.full(10, 4.2)) = 8.9e-16) is divided by that rounding noise in ST-MEM too.
  for (double v : {0.0, 0.5, -3.0}) {
    std::vector<double> c(10, v);
    standardize_jointly(c.data(), c.size());
    EXPECT_EQ(c, std::vector<double>(10, 0.0));
  }
}

TEST(StMemInput, EvalCropsMatchScipyOracleOnRealRecord) {
  const auto rec = fixture_at_250hz();
  ASSERT_EQ(rec.size(), 12u * 2500u);
  const StMemInput in;
  ASSERT_EQ(in.eval_crop_count(2500), 3);
  const auto got = in.prepare_eval_crops(rec.data(), 2500);
  ASSERT_EQ(got.size(), 3u * kLeads * kCrop);

  TempDir dir;
  write_raw(dir / "rec.f32", rec);
  const auto r = run_command(oracle() + " eval " + dir / "rec.f32" + " " + dir / "out.f32" +
                             fmt::format(" {} {} {} {}", kLeads, 2500, kCrop, 3));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto want = read_raw<float>(dir / "out.f32", got.size());
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) err = std::max(err, std::abs(double(got[i]) - want[i]));
  std::printf("eval crops vs scipy oracle (standardised float32): max abs diff %.3g\n", err);
  EXPECT_LE(err, 1e-4);
  // Each crop is standardised on its own.
  for (int c = 0; c < 3; ++c) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < kLeads * kCrop; ++i) {
      const double v = got[static_cast<size_t>(c * kLeads * kCrop + i)];
      sum += v, sq += v * v;
    }
    EXPECT_NEAR(sum / (kLeads * kCrop), 0.0, 1e-5);
    EXPECT_NEAR(sq / (kLeads * kCrop), 1.0, 1e-4);
  }
}

TEST(StMemInput, TrainCropWithoutAugmentationIsTheFilteredWindow) {
  const auto rec = fixture_at_250hz();
  StMemInputSpec spec;
  spec.rand_augment = false;
  const StMemInput in(spec);
  std::set<int64_t> starts;
  double mean_start = 0;
  constexpr int kDraws = 400;
  for (int i = 0; i < kDraws; ++i) {
    TrainCropTrace trace;
    const auto crop = in.prepare_train_crop(rec.data(), 2500, ecg::sharding::sample_seed(7, 0, i), &trace);
    EXPECT_TRUE(trace.augments.empty());
    ASSERT_GE(trace.start, 0);
    ASSERT_LE(trace.start, 250);
    starts.insert(trace.start);
    mean_start += trace.start;
    if (i < 3) {
      std::vector<double> want(static_cast<size_t>(kLeads * kCrop));
      in.filter_and_standardize(rec.data(), 2500, trace.start, want.data());
      for (size_t k = 0; k < want.size(); ++k) ASSERT_EQ(crop[k], static_cast<float>(want[k]));
    }
  }
  // Uniform over the 251 offsets: many distinct, mean near 125.
  EXPECT_GT(starts.size(), 150u);
  EXPECT_NEAR(mean_start / kDraws, 125.0, 12.0);
}

TEST(StMemInput, TrainCropsAreAFunctionOfSeedEpochAndRecord) {
  const auto rec = fixture_at_250hz();
  const StMemInput in;
  auto crop = [&](uint64_t seed, int64_t epoch, int64_t record, TrainCropTrace* t) {
    return in.prepare_train_crop(rec.data(), 2500, ecg::sharding::sample_seed(seed, epoch, record), t);
  };
  TrainCropTrace a, b;
  const auto first = crop(1, 3, 42, &a);
  const auto again = crop(1, 3, 42, &b);
  EXPECT_EQ(first, again);
  EXPECT_EQ(a.start, b.start);
  ASSERT_EQ(a.augments.size(), b.augments.size());
  // Other epochs / records / seeds give other crops (with overwhelming probability).
  int differ = 0;
  for (int64_t e = 4; e < 14; ++e) differ += crop(1, e, 42, nullptr) != first;
  differ += crop(1, 3, 43, nullptr) != first;
  differ += crop(2, 3, 42, nullptr) != first;
  EXPECT_EQ(differ, 12);
}

TEST(StMemInput, ShortRecordIsAnError) {
  const StMemInput in;
  std::vector<float> rec(12 * 2000, 1.0f);
  EXPECT_THROW(in.prepare_train_crop(rec.data(), 2000, 1), ecg::Error);
  EXPECT_THROW(in.prepare_eval_crops(rec.data(), 2000), ecg::Error);
}

// ---------------------------------------------------------------- RandAugment

// A crop with no zero sample and distinct values, so that every change is visible.
std::vector<double> test_crop(int leads = kLeads, int64_t n = kCrop) {
  std::vector<double> x(static_cast<size_t>(leads * n));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 1.0 + 0.001 * static_cast<double>(i % 977) + 0.5 * static_cast<double>(i / static_cast<size_t>(n));
  return x;
}

TEST(StMemAugment, MagnitudesFollowLevel) {
  RandAugmentSpec spec;
  auto m = augment_magnitude(spec);
  EXPECT_DOUBLE_EQ(m.mask_ratio, 0.3);
  EXPECT_DOUBLE_EQ(m.noise_amplitude, 0.3);
  EXPECT_DOUBLE_EQ(m.sine_period, 0.5);
  EXPECT_DOUBLE_EQ(m.partial_ratio, 0.3);
  spec.level = 5;
  m = augment_magnitude(spec);
  EXPECT_DOUBLE_EQ(m.mask_ratio, 0.15);
  EXPECT_DOUBLE_EQ(m.noise_amplitude, 0.15);
  EXPECT_DOUBLE_EQ(m.sine_period, 1.0);
  spec.level = 0;
  EXPECT_THROW(validate(spec), ecg::Error);
}

TEST(StMemAugment, OpNamesRoundTrip) {
  for (AugmentOp op : RandAugmentSpec{}.ops) EXPECT_EQ(augment_op_from_name(augment_op_name(op)), op);
  EXPECT_EQ(augment_op_from_name("partial_white_noise"), AugmentOp::kPartialWhiteNoise);
  EXPECT_THROW(augment_op_from_name("square"), ecg::Error);
}

TEST(StMemAugment, FlipNegatesAndEraseZeroesOneLead) {
  auto x = test_crop();
  const auto orig = x;
  flip_signal({x.data(), kLeads, kCrop});
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], -orig[i]);

  const AugmentMagnitude m;
  std::set<int64_t> leads;
  for (uint64_t s = 0; s < 200; ++s) {
    x = orig;
    ecg::data::synth::Rng rng(s);
    const auto d = apply_augment_op({x.data(), kLeads, kCrop}, AugmentOp::kErase, m, rng);
    leads.insert(d.start);
    for (int l = 0; l < kLeads; ++l)
      for (int64_t t = 0; t < kCrop; ++t)
        ASSERT_EQ(x[l * kCrop + t], l == d.start ? 0.0 : orig[l * kCrop + t]);
  }
  EXPECT_EQ(leads.size(), 12u);  // every lead can be erased
}

TEST(StMemAugment, DropZeroesRandomSamplesOfAllLeads) {
  const auto orig = test_crop();
  const AugmentMagnitude m;
  int64_t largest = 0;
  for (uint64_t s = 0; s < 200; ++s) {
    auto x = orig;
    ecg::data::synth::Rng rng(s);
    const auto d = apply_augment_op({x.data(), kLeads, kCrop}, AugmentOp::kDrop, m, rng);
    ASSERT_LT(d.count, 675);  // randint(0, int(0.3 * 2250))
    largest = std::max(largest, d.count);
    int64_t zero_columns = 0;
    for (int64_t t = 0; t < kCrop; ++t) {
      const bool zero = x[t] == 0.0;
      zero_columns += zero;
      for (int l = 0; l < kLeads; ++l)
        ASSERT_EQ(x[l * kCrop + t], zero ? 0.0 : orig[l * kCrop + t]) << "column " << t;
    }
    EXPECT_EQ(zero_columns, d.count);
  }
  EXPECT_GT(largest, 600);
}

TEST(StMemAugment, CutoutZeroesOneWindowOfAllLeads) {
  const auto orig = test_crop();
  const AugmentMagnitude m;
  for (uint64_t s = 0; s < 200; ++s) {
    auto x = orig;
    ecg::data::synth::Rng rng(s);
    const auto d = apply_augment_op({x.data(), kLeads, kCrop}, AugmentOp::kCutout, m, rng);
    ASSERT_LE(d.count, 675);
    ASSERT_LE(d.start + d.count, kCrop - 1);  // randint(0, L - count) excludes L - count
    for (int l = 0; l < kLeads; ++l)
      for (int64_t t = 0; t < kCrop; ++t) {
        const bool inside = t >= d.start && t < d.start + d.count;
        ASSERT_EQ(x[l * kCrop + t], inside ? 0.0 : orig[l * kCrop + t]);
      }
  }
}

TEST(StMemAugment, ShiftMovesAndZeroPads) {
  const auto orig = test_crop(2, 10);
  auto x = orig;
  shift_signal({x.data(), 2, 10}, 3, ShiftDirection::kRight);
  for (int l = 0; l < 2; ++l)
    for (int t = 0; t < 10; ++t) EXPECT_EQ(x[l * 10 + t], t < 3 ? 0.0 : orig[l * 10 + t - 3]);
  x = orig;
  shift_signal({x.data(), 2, 10}, 3, ShiftDirection::kLeft);
  for (int l = 0; l < 2; ++l)
    for (int t = 0; t < 10; ++t) EXPECT_EQ(x[l * 10 + t], t >= 7 ? 0.0 : orig[l * 10 + t + 3]);
  // Drawn: both directions, up to 30% of the crop.
  const AugmentMagnitude m;
  std::set<int64_t> directions;
  for (uint64_t s = 0; s < 100; ++s) {
    auto y = test_crop();
    ecg::data::synth::Rng rng(s);
    const auto d = apply_augment_op({y.data(), kLeads, kCrop}, AugmentOp::kShift, m, rng);
    directions.insert(d.count);
    ASSERT_LT(d.start, 675);
  }
  EXPECT_EQ(directions, (std::set<int64_t>{-1, 1}));
}

TEST(StMemAugment, SineAddsTwoPeriodsPerCropToEveryLead) {
  const auto orig = test_crop();
  auto x = orig;
  const AugmentMagnitude m;
  ecg::data::synth::Rng rng(1);
  apply_augment_op({x.data(), kLeads, kCrop}, AugmentOp::kSine, m, rng);
  for (int l = 0; l < kLeads; ++l) {
    for (int64_t t = 0; t < kCrop; ++t) {
      const double want = 0.3 * std::sin(2 * M_PI * (double(t) / kCrop) / 0.5);
      ASSERT_NEAR(x[l * kCrop + t] - orig[l * kCrop + t], want, 1e-12);
    }
  }
  // Peak at an eighth of the crop (quarter period).
  EXPECT_NEAR(x[kCrop / 8] - orig[kCrop / 8], 0.3, 1e-3);
}

TEST(StMemAugment, PartialNoiseTouchesOnlyItsWindow) {
  const auto orig = test_crop();
  const AugmentMagnitude m;
  double sq = 0;
  int64_t noisy = 0;
  for (uint64_t s = 0; s < 100; ++s) {
    for (AugmentOp op : {AugmentOp::kPartialSine, AugmentOp::kPartialWhiteNoise}) {
      auto x = orig;
      ecg::data::synth::Rng rng(s);
      const auto d = apply_augment_op({x.data(), kLeads, kCrop}, op, m, rng);
      ASSERT_LE(d.count, 675);
      for (int l = 0; l < kLeads; ++l)
        for (int64_t t = 0; t < kCrop; ++t) {
          const double diff = x[l * kCrop + t] - orig[l * kCrop + t];
          if (t < d.start || t >= d.start + d.count) {
            ASSERT_EQ(diff, 0.0);
          } else if (op == AugmentOp::kPartialSine) {
            // The first `count` samples of the full-crop sine, pasted at the window.
            ASSERT_NEAR(diff, 0.3 * std::sin(2 * M_PI * (double(t - d.start) / kCrop) / 0.5), 1e-12);
          } else {
            sq += diff * diff;
            ++noisy;
          }
        }
    }
  }
  ASSERT_GT(noisy, 100000);
  EXPECT_NEAR(std::sqrt(sq / noisy), 0.3, 0.005);  // N(0, 0.3^2) per lead and sample
}

TEST(StMemAugment, RandAugmentDrawsDistinctOpsAndAppliesEachWithProb) {
  const RandAugmentSpec spec;
  std::map<AugmentOp, int> chosen;
  int applied = 0, drawn = 0;
  constexpr int kCrops = 4000;
  for (int i = 0; i < kCrops; ++i) {
    auto x = test_crop(1, 300);
    ecg::data::synth::Rng rng(ecg::sharding::sample_seed(3, 0, i), kStMemTrainStream);
    const auto draws = rand_augment({x.data(), 1, 300}, spec, rng);
    ASSERT_EQ(draws.size(), 2u);
    ASSERT_NE(draws[0].op, draws[1].op);  // without replacement
    for (const auto& d : draws) {
      ++chosen[d.op];
      applied += d.applied;
      ++drawn;
    }
  }
  EXPECT_NEAR(double(applied) / drawn, 0.5, 0.03);
  ASSERT_EQ(chosen.size(), 8u);
  for (const auto& [op, count] : chosen) EXPECT_NEAR(double(count) / kCrops, 2.0 / 8, 0.03) << augment_op_name(op);
}

// ---------------------------------------------------------------- cost

// Single-thread cost of the new per-sample work, next to what `preprocess` spends per record today
// (read a 500 Hz WFDB record, band-pass at 500 Hz, resample to 250 Hz, z-score). Printed, with
// only a loose bound so that a slow or loaded machine does not fail the suite. Thread CPU time, not
// wall time: on a shared machine the wall clock mostly measures waiting for a core.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

TEST(StMemInput, CostPerTrainCropAndPerEvalRecord) {
  const auto rec = fixture_at_250hz();
  const StMemInput in;
  constexpr int kReps = 40;
  std::vector<float> out(static_cast<size_t>(3 * kLeads * kCrop));
  double t0 = thread_cpu_seconds();
  for (int i = 0; i < kReps; ++i) in.prepare_train_crop(rec.data(), 2500, static_cast<uint64_t>(i), out.data());
  const double train_ms = 1e3 * (thread_cpu_seconds() - t0) / kReps;
  t0 = thread_cpu_seconds();
  for (int i = 0; i < kReps; ++i) in.prepare_eval_crops(rec.data(), 2500, out.data());
  const double eval_ms = 1e3 * (thread_cpu_seconds() - t0) / kReps;

  TempDir dir;
  std::vector<std::vector<int16_t>> adc(12, std::vector<int16_t>(5000));
  for (int l = 0; l < 12; ++l)
    for (int t = 0; t < 5000; ++t)
      adc[static_cast<size_t>(l)][static_cast<size_t>(t)] = static_cast<int16_t>(
          std::lround(rec[static_cast<size_t>(l * 2500 + t / 2)] * 1000.0f));
  const std::vector<std::string>& names = ptbxl_header_lead_names();
  write_wfdb_record(dir / "r500", 500.0, names, adc);
  PreprocessOptions o;  // preprocess's defaults: 500 Hz source, band-pass, 250 Hz, z-score
  RecordProcessor proc(o);
  proc.process(dir / "r500");  // warm the page cache
  t0 = thread_cpu_seconds();
  for (int i = 0; i < kReps; ++i) proc.process(dir / "r500");
  const double prep_ms = 1e3 * (thread_cpu_seconds() - t0) / kReps;
  std::printf("st-mem input, 1 thread, CPU time: %.3f ms per training crop, %.3f ms per record of 3 eval crops;"
              " preprocess per 500 Hz record: %.3f ms (train crop = %.2fx, eval record = %.2fx)\n",
              train_ms, eval_ms, prep_ms, train_ms / prep_ms, eval_ms / prep_ms);
  EXPECT_LT(train_ms, 200.0);
}

}  // namespace
