// CODE-15%'s own files, written: exams_part<k>.hdf5 (exam_id [N] int64, tracings [N, 4096, 12]
// float32, each part ending in a filler row of exam_id 0 and zeros, as the released parts do) and
// exams.csv in the released column order with True/False booleans. `synth --format code15` uses
// it so that the CODE-15% reader (code15_source.cpp) is tested on files of the real layout.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/synth/synth_code15.h"

namespace ecg::data {

// Writes exams make(0..n-1) into `dir` (created), `per_part` exams a part (one part in memory at a
// time); exams.csv last, so its presence means the parts are complete.
void write_code15_files(const std::string& dir, size_t n, size_t per_part,
                        const std::function<synth::Code15Exam(size_t)>& make);

}  // namespace ecg::data
