#include "trainer/engine/engine_options.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "trainer/engine/stop_signal.h"

namespace ecg::engine {

void engine_fields_to_json(nlohmann::json& j, const EngineOptions& o) {
#define X(name) j[#name] = o.name;
  ECG_ENGINE_FIELDS(X)
#undef X
}

void engine_fields_from_json(const nlohmann::json& j, EngineOptions& o) {
#define X(name) \
  if (j.contains(#name)) j.at(#name).get_to(o.name);
  ECG_ENGINE_FIELDS(X)
#undef X
}

void validate_schedule(const ScheduleSettings& s) {
  ECG_CHECK(s.batch_size > 0, "--batch-size must be positive (got {})", s.batch_size);
  ECG_CHECK(s.lr > 0, "--lr must be positive (got {})", s.lr);
  ECG_CHECK(s.min_lr >= 0 && s.min_lr <= s.lr, "--min-lr must be in [0, --lr] (got {} with --lr {})", s.min_lr,
            s.lr);
  ECG_CHECK(s.warmup_fraction >= 0 && s.warmup_fraction < 1, "--warmup-fraction must be in [0, 1) (got {})",
            s.warmup_fraction);
  ECG_CHECK(s.weight_decay >= 0, "--weight-decay must be >= 0 (got {})", s.weight_decay);
}

void validate_engine(const EngineOptions& o) {
  ECG_CHECK(!o.out.empty(), "--out is required");
  ECG_CHECK(o.bucket_mb > 0, "--bucket-mb must be positive");
  ECG_CHECK(o.timeout >= 0, "--timeout must be >= 0");
  ECG_CHECK(o.prefetch_depth >= 1, "--prefetch must be >= 1 (got {})", o.prefetch_depth);
  ECG_CHECK(o.checkpoint_every_steps >= 0 && o.checksum_every_steps >= 0 && o.max_steps >= 0,
            "--checkpoint-every, --checksum-every and --max-steps must be >= 0");
  const std::vector<std::string>& signals = stop_signal_names();
  ECG_CHECK(std::find(signals.begin(), signals.end(), o.stop_signal) != signals.end(),
            "--stop-signal must be one of {} (got '{}')", fmt::join(signals, ", "), o.stop_signal);
}

}  // namespace ecg::engine
