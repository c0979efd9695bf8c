// Preemption: a configurable signal (USR1 by default; TERM under srun) only raises a flag. The
// training loop folds the flag into its per-step cross-rank reduction, so every rank sees the
// stop at the same step boundary, one atomic checkpoint is written, and all ranks exit together
// with kPreemptedExitCode.
#pragma once

#include <string>
#include <vector>

namespace ecg::engine {

// Exit code of a run stopped by the stop signal after writing its checkpoint (EX_TEMPFAIL):
// the SLURM templates requeue on it.
inline constexpr int kPreemptedExitCode = 75;

// The signals --stop-signal accepts, by name without SIG (USR1, USR2, TERM, INT): the one list the
// CLI, the options' validation and the handler read.
const std::vector<std::string>& stop_signal_names();

// Installs the handler for `name` (one of stop_signal_names()). Idempotent.
void install_stop_signal(const std::string& name);
bool stop_requested();
void request_stop();  // for tests and --max-steps
void clear_stop();

}  // namespace ecg::engine
