// Rank 0's live console progress: epoch, stage, step/steps, samples/s, loss and ETA. On a
// terminal it is a bar redrawn in place with '\r'; when stdout is a file or pipe (SLURM logs)
// it is a plain line every `interval` seconds, so logs stay readable and small.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "monitoring/training_metrics.h"

namespace ecg::monitoring {

class Progress {
 public:
  using Clock = std::function<double()>;  // monotonic seconds
  using Sink = std::function<void(const std::string&)>;

  // Writes to `sink`; `tty` selects the in-place bar. `interval_s`: seconds between plain lines.
  Progress(Sink sink, bool tty, double interval_s, Clock clock = {});

  // Progress on stdout for `rank` (only rank 0 prints; others get a silent instance). `mode`:
  // "auto" (bar when isatty(stdout), else lines), "bar", "lines" or "off".
  static Progress for_stdout(int rank, const std::string& mode, double interval_s);

  // A new epoch of `epochs` (epoch counts from 0) with `steps` optimiser steps.
  void start_epoch(Stage stage, int epoch, int epochs, std::int64_t steps);
  // One step finished: `samples` processed globally (all ranks), loss of the step.
  void on_step(std::uint64_t samples, double loss);
  // Ends the epoch: a final line (and the newline that ends the bar on a TTY).
  void finish_epoch();

  // Estimated seconds to the end of the stage (0 until a step has been timed).
  double eta_seconds() const;
  double samples_per_second() const { return samples_per_second_; }
  // The status text without bar or '\r', e.g.
  // "fine-tuning epoch 2/10 step 30/120 | 512.3 samples/s | loss 0.4123 | ETA 00:03:12".
  std::string status() const;

 private:
  void draw(bool force);
  std::string bar() const;

  Sink sink_;
  bool tty_;
  double interval_s_;
  Clock clock_;
  bool enabled_ = true;

  Stage stage_ = Stage::pretraining;
  int epoch_ = 0;
  int epochs_ = 1;
  std::int64_t steps_ = 0;
  std::int64_t step_ = 0;
  double loss_ = 0;
  double last_step_time_ = 0;
  double step_seconds_ = 0;        // smoothed seconds per step
  double samples_per_second_ = 0;  // smoothed
  double last_draw_ = -1e300;
  std::size_t last_width_ = 0;
};

// "HH:MM:SS" (hours may exceed 24); "--:--:--" for a negative or non-finite value.
std::string format_duration(double seconds);

}  // namespace ecg::monitoring
