#include "launcher/distributed_session.h"

#include "common/log.h"
#include "launcher/fatal.h"

namespace ecg::launcher {

DistributedSession::DistributedSession(const std::string& backend, double timeout_seconds) {
  comm_ = comm::make_communicator(backend, timeout_seconds);
  log::set_rank(comm_->rank(), comm_->size());
  if (comm_->size() > 1) {
    // One rank's fatal error must end every rank: otherwise the others wait in a collective
    // until walltime.
    comm::Communicator* c = comm_.get();
    set_abort_hook([c](int code) { c->abort(code); });
  }
}

DistributedSession::~DistributedSession() {
  set_abort_hook(nullptr);
  comm_.reset();
}

}  // namespace ecg::launcher
