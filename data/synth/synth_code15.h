// Synthetic CODE-15% exams (no files: data/code15_parts.h writes them, since CODE-15% ships HDF5
// and this library writes records, never HDF5). Each exam is a synthetic record (synth_labels.h,
// synth_signal.h) at 400 Hz, 10 s -- every 10th 7 s, as in CODE-15% -- centred in 4096 samples
// with zeros; its six labels are the SCP statements of the same findings. A function of (seed,
// number of exams) only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/synth/synth.h"

namespace ecg::data::synth {

struct Code15Exam {
  int64_t exam_id = 0;
  int64_t patient_id = 0;
  int age = 0;
  bool is_male = false;
  std::array<bool, 6> labels{};  // 1dAVb RBBB LBBB SB ST AF
  bool normal_ecg = false;
  std::vector<float> tracing;    // [4096 * 12], time-major (as CODE-15% stores it), mV
  int n_signal_samples = 0;      // 4000 or 2800 before padding
};

inline constexpr int kCode15Samples = 4096;
inline constexpr int kCode15Rate = 400;

// Exams 0..records-1 (exam_id = 1000 + 7 * index: ids are not positions, as in CODE-15%).
Code15Exam synth_code15_exam(const SynthOptions& options, const DatabaseRow& row, int index);

}  // namespace ecg::data::synth
