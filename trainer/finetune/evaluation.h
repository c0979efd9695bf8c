// Distributed inference over one split: each rank scores its contiguous block of records
// (sharding::eval_partition: every record exactly once, no padded duplicates), averaging the
// sigmoid probabilities of `crops` equally spaced windows; the blocks are then gathered to every
// rank in rank order, which is the split's order. With ST-MEM's pipeline (--profile st-mem) the
// crops are instead cut, band-passed and standardised on the CPU (data::StMemInput) before the
// model sees them; the probabilities are averaged the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "data/signal/stmem_input.h"
#include "model/st_mem.h"

namespace ecg::comm {
class Watchdog;
}

namespace ecg::finetune {

struct EvalSettings {
  std::string path;            // HDF5 file
  std::vector<int> lead_rows;  // rows of /signals to feed, in model lead order
  int64_t crop = 2250;
  int crops = 3;
  int64_t batch = 32;          // per rank
  double timeout = 0;          // evaluation phase deadline (watchdog)
  // Set: ST-MEM's eval crops (its crop length and count; `crop` and `crops` are then unused).
  std::shared_ptr<const data::StMemInput> stmem;
};

// Window offsets: `crops` equally spaced starts in [0, T - crop] (one crop: the centre).
std::vector<int64_t> eval_crop_offsets(int64_t total, int64_t crop, int crops);

// ST-MEM's eval crops of `n` records given as [n, leads, T] floats (leads = input's): a CPU
// tensor [n, crops, leads, crop].
torch::Tensor stmem_eval_crops(const data::StMemInput& input, const float* records, int64_t n, int64_t T);

// The mean sigmoid over the crops of x = [n, crops, leads, crop] (any device): [n, C].
torch::Tensor mean_crop_probabilities(model::StMem& model, const torch::Tensor& x);

// Probabilities [records.size(), C] in `records` order, on every rank.
std::vector<float> predict_records(model::StMem& model, comm::Communicator& comm,
                                   const std::vector<int64_t>& records, const EvalSettings& settings,
                                   comm::Watchdog* watchdog, const std::string& phase);

// Targets [records.size(), C] as floats from a row-major uint8 label matrix.
std::vector<float> gather_targets(const std::vector<uint8_t>& labels, int64_t num_classes,
                                  const std::vector<int64_t>& records);

}  // namespace ecg::finetune
