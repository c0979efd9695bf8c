#include "data/synth/synth_code15.h"

#include <algorithm>

#include "common/error.h"

namespace ecg::data::synth {

Code15Exam synth_code15_exam(const SynthOptions& options, const DatabaseRow& row, int index) {
  Code15Exam e;
  e.exam_id = 1000 + 7 * static_cast<int64_t>(index);
  e.patient_id = row.patient_id;
  const auto& cols = database_columns();
  const auto col = [&](const char* name) {
    return static_cast<size_t>(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  const std::string& age = row.fields[col("age")];
  e.age = age.empty() ? 0 : static_cast<int>(std::stod(age));
  e.is_male = row.fields[col("sex")] == "0";
  static const std::array<const char*, 6> kScp = {"1AVB", "CRBBB", "CLBBB", "SBRAD", "STACH", "AFIB"};
  for (size_t k = 0; k < kScp.size(); ++k) e.labels[k] = row.labels.has(kScp[k]);
  e.normal_ecg = row.labels.has("NORM");

  const double duration = index % 10 == 9 ? 7.0 : 10.0;
  const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id, duration);
  const auto leads = render_record(plan, kCode15Rate, options.seed, row.ecg_id);
  e.n_signal_samples = static_cast<int>(leads[0].size());
  ECG_CHECK(e.n_signal_samples <= kCode15Samples, "synthetic exam of {} samples", e.n_signal_samples);
  const int pad = (kCode15Samples - e.n_signal_samples) / 2;  // centred, as CODE-15% pads
  e.tracing.assign(static_cast<size_t>(kCode15Samples) * 12, 0.0f);
  for (size_t l = 0; l < 12; ++l)
    for (size_t t = 0; t < leads[l].size(); ++t)
      e.tracing[(static_cast<size_t>(pad) + t) * 12 + l] = leads[l][t];
  return e;
}

}  // namespace ecg::data::synth
