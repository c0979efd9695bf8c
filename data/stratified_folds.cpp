#include "data/stratified_folds.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "common/error.h"

namespace ecg::data {

std::vector<int8_t> stratified_patient_folds(const std::vector<int64_t>& patient_id,
                                             const std::vector<uint8_t>& labels, size_t n_classes,
                                             int n_folds, uint64_t seed) {
  const size_t n = patient_id.size();
  ECG_CHECK(n_folds >= 2 && n_folds <= 100, "number of folds {} outside 2..100", n_folds);
  ECG_CHECK(labels.size() == n * n_classes, "labels hold {} values for {} records x {} classes",
            labels.size(), n, n_classes);

  // Groups: one per patient, in first-appearance order, then shuffled by the seed so that ties
  // do not follow the source's file order (often sorted by site or date).
  std::map<int64_t, size_t> group_of;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < n; ++i) {
    auto [it, added] = group_of.emplace(patient_id[i], members.size());
    if (added) members.emplace_back();
    members[it->second].push_back(i);
  }
  const size_t g = members.size();
  std::vector<size_t> order(g);
  for (size_t i = 0; i < g; ++i) order[i] = i;
  std::mt19937_64 rng(seed);  // mt19937_64's sequence is fixed by the standard
  for (size_t i = g; i > 1; --i) {  // Fisher-Yates with our own index draw (portable)
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }

  // Per group: record count and positives per class.
  std::vector<std::vector<uint32_t>> counts(g, std::vector<uint32_t>(n_classes, 0));
  std::vector<double> total_pos(n_classes, 0);
  for (size_t k = 0; k < g; ++k)
    for (size_t i : members[k])
      for (size_t c = 0; c < n_classes; ++c)
        if (labels[i * n_classes + c]) {
          ++counts[k][c];
          ++total_pos[c];
        }

  const auto folds = static_cast<size_t>(n_folds);
  std::vector<double> want_size(folds, static_cast<double>(n) / n_folds);
  std::vector<std::vector<double>> want(folds, std::vector<double>(n_classes));
  for (size_t f = 0; f < folds; ++f)
    for (size_t c = 0; c < n_classes; ++c) want[f][c] = total_pos[c] / n_folds;

  std::vector<int> fold_of_group(g, -1);
  auto assign = [&](size_t k, size_t f) {
    fold_of_group[k] = static_cast<int>(f);
    want_size[f] -= static_cast<double>(members[k].size());
    for (size_t c = 0; c < n_classes; ++c) want[f][c] -= counts[k][c];
  };
  // The fold that most wants class c (or, with c = npos, records at all); ties: most wanted
  // records, then the lowest fold.
  auto best_fold = [&](size_t c) {
    size_t best = 0;
    for (size_t f = 1; f < folds; ++f) {
      const double a = c < n_classes ? want[f][c] : want_size[f];
      const double b = c < n_classes ? want[best][c] : want_size[best];
      if (a > b || (a == b && want_size[f] > want_size[best])) best = f;
    }
    return best;
  };

  // Iterative stratification: the rarest class still to place first, so that rare classes are
  // spread before common ones fill the folds.
  std::vector<double> remaining = total_pos;
  for (;;) {
    size_t rarest = n_classes;
    for (size_t c = 0; c < n_classes; ++c)
      if (remaining[c] > 0 && (rarest == n_classes || remaining[c] < remaining[rarest])) rarest = c;
    if (rarest == n_classes) break;
    for (size_t k : order) {
      if (fold_of_group[k] >= 0 || counts[k][rarest] == 0) continue;
      assign(k, best_fold(rarest));
      for (size_t c = 0; c < n_classes; ++c) remaining[c] -= counts[k][c];
    }
  }
  for (size_t k : order)
    if (fold_of_group[k] < 0) assign(k, best_fold(std::numeric_limits<size_t>::max()));

  std::vector<int8_t> fold(n);
  for (size_t k = 0; k < g; ++k)
    for (size_t i : members[k]) fold[i] = static_cast<int8_t>(fold_of_group[k] + 1);
  return fold;
}

}  // namespace ecg::data
