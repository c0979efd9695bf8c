#include "sharding/train_fraction.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "sharding/epoch_sampler.h"

namespace ecg::sharding {
namespace {

// A seed for the ordering that differs from the training permutation of epoch 0.
constexpr uint64_t kFractionSalt = 0x4652414354ULL;  // "FRACT"

}  // namespace

std::vector<int64_t> stratified_order(const LabelView& labels,
                                      const std::vector<int64_t>& candidates, uint64_t seed) {
  std::vector<int64_t> sorted = candidates;
  std::sort(sorted.begin(), sorted.end());
  ECG_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
            "train fraction: duplicate candidate record index");
  for (int64_t r : sorted) {
    ECG_CHECK(r >= 0 && r < labels.rows,
              "train fraction: record {} outside the label matrix of {} rows", r, labels.rows);
  }

  // Label frequencies over the candidates.
  std::vector<int64_t> freq(static_cast<size_t>(labels.classes), 0);
  for (int64_t r : sorted) {
    for (int64_t c = 0; c < labels.classes; ++c)
      freq[static_cast<size_t>(c)] += labels.positive(r, c);
  }
  // Stratum = rarest positive label (ties -> lower class index); -1 = no positive label.
  std::map<int64_t, std::vector<int64_t>> strata;
  for (int64_t r : sorted) {
    int64_t best = -1;
    for (int64_t c = 0; c < labels.classes; ++c) {
      if (labels.positive(r, c) &&
          (best < 0 || freq[static_cast<size_t>(c)] < freq[static_cast<size_t>(best)])) {
        best = c;
      }
    }
    strata[best].push_back(r);
  }

  struct Keyed {
    double key;
    int64_t stratum_size;
    int64_t stratum;
    int64_t record;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(sorted.size());
  for (auto& [stratum, members] : strata) {
    // Each stratum gets its own shuffle stream (epoch slot = stratum id) from the salted seed.
    shuffle_in_place(members, seed ^ kFractionSalt, stratum + 1);
    const auto m = static_cast<int64_t>(members.size());
    for (int64_t j = 0; j < m; ++j) {
      keyed.push_back({(static_cast<double>(j) + 0.5) / static_cast<double>(m), m, stratum,
                       members[static_cast<size_t>(j)]});
    }
  }
  // Equal keys: smaller (rarer) strata first so a rare label is never pushed past a cut-off by a
  // common one; then stratum id for a total order.
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.stratum_size != b.stratum_size) return a.stratum_size < b.stratum_size;
    return a.stratum < b.stratum;
  });
  std::vector<int64_t> order;
  order.reserve(keyed.size());
  for (const auto& k : keyed) order.push_back(k.record);
  return order;
}

std::vector<int64_t> select_train_fraction(const LabelView& labels,
                                           const std::vector<int64_t>& candidates, double fraction,
                                           uint64_t seed) {
  ECG_CHECK(fraction > 0.0 && fraction <= 1.0, "--train-fraction must be in (0, 1] (got {})",
            fraction);
  std::vector<int64_t> order = stratified_order(labels, candidates, seed);
  // ceil with a small tolerance so that e.g. 0.1 * 1000 (= 100.00000000000001) gives 100.
  const double exact = fraction * static_cast<double>(order.size());
  auto take = static_cast<size_t>(std::ceil(exact - 1e-9));
  take = std::clamp<size_t>(take, order.empty() ? 0 : 1, order.size());
  std::vector<int64_t> out(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ecg::sharding
