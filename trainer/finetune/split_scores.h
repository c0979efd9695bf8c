// The one scoring of a split's probabilities, shared by `train`'s test evaluation and `evaluate`:
// the metrics with bootstrap CIs and the predictions CSV by ecg_id. Run on rank 0 after the
// evaluation pass has gathered the probabilities there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "trainer/finetune/task_data.h"

namespace ecg::finetune {

// `probs`: [records.size(), classes] in `records` order. `resamples` = 0: point estimates only.
// The bootstrap's resamples run on this rank's intra-op threads (its result does not depend on
// how many). Writes `predictions_csv` atomically.
eval::MetricReport score_split(const TaskData& data, const std::vector<int64_t>& records,
                               const std::vector<float>& probs, int resamples, uint64_t seed,
                               const std::string& predictions_csv);

}  // namespace ecg::finetune
