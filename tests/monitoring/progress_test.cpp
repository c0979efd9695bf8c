// Console progress: plain lines every N seconds off a TTY, an in-place bar on a TTY, ETA.
#include "monitoring/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ecg::monitoring {
namespace {

struct Capture {
  double now = 0;
  std::vector<std::string> writes;
  Progress make(bool tty, double interval) {
    return Progress([this](const std::string& s) { writes.push_back(s); }, tty, interval,
                    [this] { return now; });
  }
};

TEST(Progress, PlainLinesEveryIntervalWhenNotATerminal) {
  Capture c;
  Progress p = c.make(false, 10.0);
  p.start_epoch(Stage::fine_tuning, 1, 4, 100);
  for (int i = 0; i < 30; ++i) {
    c.now += 1.0;  // 1 s per step, 64 samples
    p.on_step(64, 0.5);
  }
  // First step prints at once, then one line per 10 s: steps 1, 11, 21.
  ASSERT_EQ(c.writes.size(), 3u);
  EXPECT_EQ(c.writes[0],
            "fine-tuning epoch 2/4 step 1/100 | 64.0 samples/s | loss 0.5000 | ETA 00:04:59\n");
  EXPECT_EQ(c.writes[2].rfind("fine-tuning epoch 2/4 step 21/100", 0), 0u) << c.writes[2];
  for (const auto& w : c.writes) EXPECT_EQ(w.find('\r'), std::string::npos);
  p.finish_epoch();  // the epoch's last state is always printed
  EXPECT_EQ(c.writes.back().rfind("fine-tuning epoch 2/4 step 30/100", 0), 0u);
}

TEST(Progress, BarRedrawnInPlaceOnATerminal) {
  Capture c;
  Progress p = c.make(true, 30.0);
  p.start_epoch(Stage::linear_probing, 0, 1, 10);
  for (int i = 0; i < 10; ++i) {
    c.now += 0.5;
    p.on_step(8, 1.0);
  }
  ASSERT_EQ(c.writes.size(), 10u);  // 0.5 s apart > the redraw throttle
  for (const auto& w : c.writes) {
    EXPECT_EQ(w[0], '\r');
    EXPECT_EQ(w.find('\n'), std::string::npos);
  }
  EXPECT_NE(c.writes.back().find("[##############################] 100%"), std::string::npos)
      << c.writes.back();
  EXPECT_NE(c.writes.back().find("linear probing epoch 1/1 step 10/10"), std::string::npos);
  p.finish_epoch();
  EXPECT_EQ(c.writes.back(), "\n");
}

TEST(Progress, TerminalRedrawsAreThrottled) {
  Capture c;
  Progress p = c.make(true, 30.0);
  p.start_epoch(Stage::fine_tuning, 0, 1, 1000);
  for (int i = 0; i < 1000; ++i) {
    c.now += 0.001;
    p.on_step(1, 1.0);
  }
  EXPECT_LE(c.writes.size(), 6u);  // 1 s of steps, at most 5 redraws a second
}

TEST(Progress, EtaCountsTheRestOfTheEpochAndLaterEpochs) {
  Capture c;
  Progress p = c.make(false, 1e9);
  p.start_epoch(Stage::fine_tuning, 1, 3, 10);  // epochs 1 (now) and 2 remain
  EXPECT_EQ(p.eta_seconds(), 0);                // unknown before a timed step
  for (int i = 0; i < 4; ++i) {
    c.now += 2.0;
    p.on_step(16, 1.0);
  }
  EXPECT_DOUBLE_EQ(p.eta_seconds(), 2.0 * (6 + 10));
  EXPECT_DOUBLE_EQ(p.samples_per_second(), 8.0);
}

TEST(Progress, SilentWithoutASink) {
  Progress p = Progress::for_stdout(1, "auto", 1.0);  // rank 1 never prints
  p.start_epoch(Stage::fine_tuning, 0, 1, 1);
  p.on_step(1, 1.0);
  p.finish_epoch();
  EXPECT_THROW(Progress::for_stdout(0, "fancy", 1.0), std::exception);
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(format_duration(0), "00:00:00");
  EXPECT_EQ(format_duration(3725.4), "01:02:05");
  EXPECT_EQ(format_duration(100 * 3600), "100:00:00");
  EXPECT_EQ(format_duration(-1), "--:--:--");
}

}  // namespace
}  // namespace ecg::monitoring
