// Folds for a source that ships none (the Challenge tranches, CODE-15%, a team's own records):
// deterministic, patient-grouped and label-stratified, as PTB-XL's strat_fold were made (Strodthoff
// et al. 2021 used the iterative stratification of Sechidis et al. 2011 over patients). Every
// record of a patient lands in one fold; each fold gets about 1/k of the records and of each
// label's positives. The result depends on nothing but the inputs and the seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ecg::data {

// fold[i] in 1..n_folds for record i. labels is row-major [n_records, n_classes] 0/1.
std::vector<int8_t> stratified_patient_folds(const std::vector<int64_t>& patient_id,
                                             const std::vector<uint8_t>& labels, size_t n_classes,
                                             int n_folds = 10, uint64_t seed = 0);

}  // namespace ecg::data
