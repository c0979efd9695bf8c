#include "monitoring/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.h"

namespace ecg::monitoring {
namespace {

// Exponential smoothing weight of the newest step: steady numbers without hiding a slowdown
// for long (about the last 10 steps matter).
constexpr double kSmoothing = 0.1;
// A TTY bar is redrawn at most this often; redrawing on every millisecond step wastes the
// terminal and the rank-0 thread.
constexpr double kTtyRedrawSeconds = 0.2;
constexpr int kBarWidth = 30;

double monotonic_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  return fmt::format("{:02}:{:02}:{:02}", total / 3600, (total / 60) % 60, total % 60);
}

Progress::Progress(Sink sink, bool tty, double interval_s, Clock clock)
    : sink_(std::move(sink)),
      tty_(tty),
      interval_s_(interval_s),
      clock_(clock ? std::move(clock) : Clock(monotonic_seconds)) {
  enabled_ = static_cast<bool>(sink_);
}

Progress Progress::for_stdout(int rank, const std::string& mode, double interval_s) {
  ECG_CHECK(mode == "auto" || mode == "bar" || mode == "lines" || mode == "off",
            "--progress {}: expected auto, bar, lines or off", mode);
  if (rank != 0 || mode == "off") return Progress({}, false, interval_s);
  const bool tty = mode == "bar" || (mode == "auto" && ::isatty(STDOUT_FILENO) == 1);
  return Progress(
      [](const std::string& text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      },
      tty, interval_s);
}

void Progress::start_epoch(Stage stage, int epoch, int epochs, std::int64_t steps) {
  stage_ = stage;
  epoch_ = epoch;
  epochs_ = std::max(epochs, epoch + 1);
  steps_ = steps;
  step_ = 0;
  last_step_time_ = clock_();
  last_draw_ = -1e300;
}

void Progress::on_step(std::uint64_t samples, double loss) {
  const double now = clock_();
  const double dt = now - last_step_time_;
  last_step_time_ = now;
  ++step_;
  loss_ = loss;
  if (dt > 0) {
    const double rate = static_cast<double>(samples) / dt;
    const bool first = step_seconds_ == 0;
    step_seconds_ = first ? dt : (1 - kSmoothing) * step_seconds_ + kSmoothing * dt;
    samples_per_second_ = first ? rate : (1 - kSmoothing) * samples_per_second_ + kSmoothing * rate;
  }
  draw(false);
}

void Progress::finish_epoch() {
  draw(true);
  if (enabled_ && tty_) sink_("\n");
  last_width_ = 0;
}

double Progress::eta_seconds() const {
  if (step_seconds_ <= 0) return 0;
  const std::int64_t left_in_epoch = std::max<std::int64_t>(steps_ - step_, 0);
  const std::int64_t later_epochs = std::max(epochs_ - epoch_ - 1, 0);
  return step_seconds_ * static_cast<double>(left_in_epoch + later_epochs * steps_);
}

std::string Progress::status() const {
  return fmt::format("{} epoch {}/{} step {}/{} | {:.1f} samples/s | loss {:.4f} | ETA {}",
                     stage_name(stage_), epoch_ + 1, epochs_, step_, steps_, samples_per_second_,
                     loss_, step_seconds_ > 0 ? format_duration(eta_seconds()) : "--:--:--");
}

std::string Progress::bar() const {
  const double fraction =
      steps_ > 0 ? std::clamp(static_cast<double>(step_) / static_cast<double>(steps_), 0.0, 1.0)
                 : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  return "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] " +
         fmt::format("{:3.0f}% ", fraction * 100);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  const double now = clock_();
  const double min_gap = tty_ ? kTtyRedrawSeconds : interval_s_;
  if (!force && now - last_draw_ < min_gap) return;
  last_draw_ = now;
  if (tty_) {
    std::string line = bar() + status();
    // Pad over the remains of a longer previous line.
    const std::size_t width = line.size();
    if (width < last_width_) line += std::string(last_width_ - width, ' ');
    last_width_ = width;
    sink_("\r" + line);
  } else {
    sink_(status() + "\n");
  }
}

}  // namespace ecg::monitoring
