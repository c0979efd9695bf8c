// Bootstrap CI cost at PTB-XL scale (1,000 resamples x 71 labels x ~2,000 test records), against a
// reference measured in the same run: the straightforward bootstrap that materialises each
// resample and sorts every label again (what a numpy/sklearn loop does). Ours sorts each label
// once and evaluates a resample as record multiplicities in one linear pass per label.
// Usage: bootstrap_bench [records=2000] [labels=71] [resamples=1000] [reference_resamples=100]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "eval/metrics.h"

using ecg::eval::LabelScores;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Process CPU seconds (all threads): on a shared, loaded machine wall time mostly measures the
// neighbours, CPU time measures the work.
double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

// Prevalences from ~0.5 % to ~45 % (PTB-XL's 71 statements span that range); scores float32
// with a realistic number of ties (rounded to 1e-4, as a sigmoid output printed to CSV is).
LabelScores make_data(std::size_t records, std::size_t labels) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> noise(0, 1);
  LabelScores d;
  d.records = records;
  d.labels = labels;
  for (std::size_t r = 0; r < records; ++r) {
    for (std::size_t j = 0; j < labels; ++j) {
      const double prevalence = 0.005 * std::pow(90.0, static_cast<double>(j) / (labels - 1));
      const bool positive = unit(rng) < prevalence;
      const double logit = noise(rng) + (positive ? 1.5 : 0.0) - 2.0;
      d.scores.push_back(static_cast<float>(std::round(1e4 / (1 + std::exp(-logit))) / 1e4));
      d.targets.push_back(positive ? 1.0f : 0.0f);
    }
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t records = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  const std::size_t labels = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 71;
  const int resamples = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int reference_resamples = argc > 4 ? std::atoi(argv[4]) : 100;
  const LabelScores data = make_data(records, labels);

  ecg::eval::BootstrapOptions options;
  options.resamples = resamples;
  options.seed = 1;
  auto t0 = std::chrono::steady_clock::now();
  double c0 = cpu_seconds();
  const auto report = ecg::eval::evaluate_metrics(data, options);
  const double ours_1 = seconds_since(t0), ours_1_cpu = cpu_seconds() - c0;
  options.threads = 2;
  t0 = std::chrono::steady_clock::now();
  c0 = cpu_seconds();
  ecg::eval::evaluate_metrics(data, options);
  const double ours_2 = seconds_since(t0), ours_2_cpu = cpu_seconds() - c0;

  // Reference: per resample, copy the drawn rows and sort every label again.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, records - 1);
  const std::vector<std::uint32_t> ones(records, 1u);
  double checksum = 0;
  t0 = std::chrono::steady_clock::now();
  c0 = cpu_seconds();
  for (int r = 0; r < reference_resamples; ++r) {
    LabelScores resample;
    resample.records = records;
    resample.labels = labels;
    resample.scores.resize(records * labels);
    resample.targets.resize(records * labels);
    for (std::size_t i = 0; i < records; ++i) {
      const std::size_t src = pick(rng);
      std::copy_n(data.scores.begin() + src * labels, labels, resample.scores.begin() + i * labels);
      std::copy_n(data.targets.begin() + src * labels, labels,
                  resample.targets.begin() + i * labels);
    }
    for (const auto& m : ecg::eval::weighted_label_metrics(resample, ones)) checksum += m.first;
  }
  const double reference = seconds_since(t0) / reference_resamples * resamples;
  const double reference_cpu = (cpu_seconds() - c0) / reference_resamples * resamples;

  std::printf("bootstrap %d resamples x %zu labels x %zu records (%zu evaluable, %lld redraws)\n",
              resamples, labels, records, report.evaluable_labels,
              static_cast<long long>(report.redraws));
  std::printf("  macro AUROC %.4f [%.4f, %.4f], macro AUPRC %.4f [%.4f, %.4f]\n",
              report.macro_auroc, report.macro_auroc_ci.lower, report.macro_auroc_ci.upper,
              report.macro_auprc, report.macro_auprc_ci.lower, report.macro_auprc_ci.upper);
  std::printf("  ours, 1 thread : %.3f s wall, %.3f s cpu\n", ours_1, ours_1_cpu);
  std::printf("  ours, 2 threads: %.3f s wall, %.3f s cpu\n", ours_2, ours_2_cpu);
  std::printf(
      "  reference (re-sort per resample, extrapolated from %d): %.3f s wall, %.3f s cpu"
      " (checksum %.3f)\n",
      reference_resamples, reference, reference_cpu, checksum);
  std::printf(
      "  speed-up vs reference: %.1fx wall / %.1fx cpu (1 thread), %.1fx wall (2 threads)\n",
      reference / ours_1, reference_cpu / ours_1_cpu, reference / ours_2);
  return 0;
}
