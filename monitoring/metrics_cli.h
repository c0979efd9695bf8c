// The --metrics-* and --progress* flags, added identically to every training command.
#pragma once

#include <CLI/CLI.hpp>

#include "monitoring/metrics_options.h"

namespace ecg::monitoring {

// Adds --metrics-port, --metrics-bind, --metrics-port-auto, --metrics-port-auto-range,
// --metrics-sd-dir, --progress-interval and --progress to `app`, bound to `options` (which must
// outlive parsing). Defaults are the current values of `options`.
void add_metrics_options(CLI::App& app, MetricsOptions& options);

}  // namespace ecg::monitoring
