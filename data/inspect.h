// `ecgdist inspect FILE.h5`: a human-readable summary of a preprocessed file: every dataset with
// shape, dtype and chunking, every attribute (the preprocessing manifest pretty-printed), record
// counts per fold, and per task the classes, positives per class and records without any label.
#pragma once

#include <string>

namespace ecg::data {

std::string inspect_report(const std::string& h5_path);

}  // namespace ecg::data
