#include "trainer/engine/step_agreement.h"

#include <cmath>

namespace ecg::engine {

StepAgreement agree_on_step(comm::Communicator& comm, double local_loss, bool local_stop) {
  double mine[3] = {local_loss, std::isfinite(local_loss) ? 0.0 : 1.0, local_stop ? 1.0 : 0.0};
  std::vector<double> all(3 * static_cast<size_t>(comm.size()));
  comm.all_gather_host(mine, all.data(), sizeof(mine), "step agreement");
  StepAgreement out;
  double sum = 0;
  for (int r = 0; r < comm.size(); ++r) {
    sum += all[3 * r];
    if (all[3 * r + 1] != 0) out.nonfinite_ranks.push_back(r);
    if (all[3 * r + 2] != 0) out.stop = true;
  }
  out.mean_loss = sum / comm.size();
  return out;
}

}  // namespace ecg::engine
