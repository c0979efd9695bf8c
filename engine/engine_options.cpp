#include "engine/engine_options.h"

#include <algorithm>
#include <vector>

#include "common/error.h"

namespace ecg::engine {

void validate_engine(const EngineOptions& o) {
  ECG_CHECK(!o.out.empty(), "--out is required");
  ECG_CHECK(o.bucket_mb > 0, "--bucket-mb must be positive");
  ECG_CHECK(o.timeout >= 0, "--timeout must be >= 0");
  ECG_CHECK(o.prefetch_depth >= 1, "--prefetch must be >= 1 (got {})", o.prefetch_depth);
  ECG_CHECK(o.checkpoint_every_steps >= 0 && o.checksum_every_steps >= 0 && o.max_steps >= 0,
            "--checkpoint-every, --checksum-every and --max-steps must be >= 0");
  const std::vector<std::string> signals = {"USR1", "USR2", "TERM", "INT"};
  ECG_CHECK(std::find(signals.begin(), signals.end(), o.stop_signal) != signals.end(),
            "--stop-signal must be USR1, USR2, TERM or INT (got '{}')", o.stop_signal);
}

}  // namespace ecg::engine
