// The per-step agreement of the training loops (train and pretrain): every rank's loss,
// non-finite flag and stop flag in one small all-gather, so that all ranks take the same
// decision (step, skip, stop) at the same step boundary. It is also the loop's one host sync.
#pragma once

#include <vector>

#include "comm/communicator.h"

namespace ecg::engine {

struct StepAgreement {
  double mean_loss = 0;               // over ranks
  std::vector<int> nonfinite_ranks;   // ranks whose loss was NaN/Inf
  bool stop = false;                  // some rank asked to stop (signal, --max-steps)
};

StepAgreement agree_on_step(comm::Communicator& comm, double local_loss, bool local_stop);

}  // namespace ecg::engine
