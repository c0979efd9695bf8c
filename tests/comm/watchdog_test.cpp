// The watchdog with a recording abort: fires once per expired phase with the documented message,
// never fires when disarmed in time or superseded, and can be driven from any thread.
#include "comm/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace {

using ecg::comm::Watchdog;
using ecg::comm::WatchdogScope;
using namespace std::chrono_literals;

struct Recorder {
  std::atomic<int> calls{0};
  std::atomic<int> code{0};
  std::function<void(int)> fn() {
    return [this](int c) {
      code = c;
      ++calls;
    };
  }
};

// Waits (bounded) until `pred` holds; the bound only protects the suite from hanging.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(Watchdog, ExpiryLogsPhaseStepAndCallsAbort) {
  Recorder rec;
  Watchdog wd(3, rec.fn());
  wd.arm("collective 'grad bucket 0'", 12, 0.05);
  ASSERT_TRUE(eventually([&] { return rec.calls.load() == 1; }));
  EXPECT_EQ(rec.code.load(), 1);
  EXPECT_EQ(wd.expirations(), 1);
  EXPECT_EQ(wd.last_message(),
            "rank 3: collective 'grad bucket 0' at step 12 exceeded --timeout 0.05s");
  // Fires once, not periodically.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rec.calls.load(), 1);
}

TEST(Watchdog, DisarmedInTimeNeverFires) {
  Recorder rec;
  Watchdog wd(0, rec.fn());
  for (int step = 0; step < 50; ++step) {
    WatchdogScope guard(&wd, "data wait", step, 0.5);
  }
  wd.arm("evaluation", 1, 0.2);
  wd.disarm();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rec.calls.load(), 0);
  EXPECT_EQ(wd.last_message(), "");
}

TEST(Watchdog, RearmReplacesThePendingDeadline) {
  Recorder rec;
  Watchdog wd(1, rec.fn());
  wd.arm("checkpoint write", 5, 0.1);
  wd.arm("checkpoint write", 6, 5.0);  // supersedes the short deadline
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(rec.calls.load(), 0);
  wd.arm("data wait", 7, 0.05);
  ASSERT_TRUE(eventually([&] { return rec.calls.load() == 1; }));
  EXPECT_EQ(wd.last_message(), "rank 1: data wait at step 7 exceeded --timeout 0.05s");
}

TEST(Watchdog, ArmAndDisarmFromOtherThreads) {
  Recorder rec;
  Watchdog wd(2, rec.fn());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wd, t] {
      for (int i = 0; i < 100; ++i) {
        wd.arm("collective", t * 1000 + i, 5.0);
        wd.disarm();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rec.calls.load(), 0);
  // A thread other than the creator arms the deadline that expires.
  std::thread([&wd] { wd.arm("evaluation", 99, 0.05); }).join();
  ASSERT_TRUE(eventually([&] { return rec.calls.load() == 1; }));
  EXPECT_EQ(wd.last_message(), "rank 2: evaluation at step 99 exceeded --timeout 0.05s");
}

TEST(Watchdog, NonPositiveSecondsDisarms) {
  Recorder rec;
  Watchdog wd(0, rec.fn());
  wd.arm("collective", 1, 0.05);
  wd.arm("collective", 2, 0);
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(rec.calls.load(), 0);
}

}  // namespace
