// What every distributed command does first and last: create the communicator (MPI init; rank,
// world size and node-local rank from MPI, never from scheduler variables), tag the log with the
// rank, route fatal errors to an abort of the whole job, and finalise MPI on the way out.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"

namespace ecg::launcher {

class DistributedSession {
 public:
  DistributedSession(const std::string& backend, double timeout_seconds);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

  comm::Communicator& comm() { return *comm_; }

 private:
  std::unique_ptr<comm::Communicator> comm_;
};

}  // namespace ecg::launcher
