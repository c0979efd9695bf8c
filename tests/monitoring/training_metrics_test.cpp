// The metric set's exposition text (exact lines, via prometheus::TextSerializer, no exporter):
// names, rank label, every series present at start-up, values after steps.
#include "monitoring/training_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>
#include <vector>

namespace ecg::monitoring {
namespace {

std::string exposition(const TrainingMetrics& metrics) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, metrics.registry()->Collect());
  return out.str();
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

#define EXPECT_LINE(text, line) EXPECT_TRUE(has_line(text, line)) << "missing line: " << (line)

struct FakeClock {
  double now = 1000.0;
  TrainingMetrics::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TrainingMetrics, EverySeriesExistsAtZeroFromStartUp) {
  FakeClock clock;
  TrainingMetrics metrics(3, 4, clock.fn());
  const std::string text = exposition(metrics);
  for (const char* name :
       {"ecgdist_samples_total", "ecgdist_steps_total", "ecgdist_allreduce_bytes_total",
        "ecgdist_samples_per_second", "ecgdist_train_loss", "ecgdist_pretrain_loss",
        "ecgdist_val_macro_auroc", "ecgdist_val_macro_auprc", "ecgdist_learning_rate",
        "ecgdist_epoch", "ecgdist_stage", "ecgdist_last_step_timestamp_seconds",
        "ecgdist_eta_seconds", "ecgdist_step_seconds_count", "ecgdist_step_seconds_sum"}) {
    EXPECT_LINE(text, std::string(name) + "{rank=\"3\"} 0");
  }
  for (const char* phase : {"data_wait", "forward", "backward", "allreduce_wait", "optimizer"}) {
    EXPECT_LINE(text,
                std::string("ecgdist_phase_seconds_total{rank=\"3\",phase=\"") + phase + "\"} 0");
  }
  EXPECT_LINE(text, "ecgdist_world_size{rank=\"3\"} 4");
  EXPECT_LINE(text, "ecgdist_start_time_seconds{rank=\"3\"} 1000");
  const auto info = text.find("ecgdist_build_info{rank=\"3\",version=\"");
  ASSERT_NE(info, std::string::npos);
  const std::string info_line = text.substr(info, text.find('\n', info) - info);
  EXPECT_EQ(info_line.find("version=\"\""), std::string::npos) << info_line;  // non-empty
  EXPECT_EQ(info_line.substr(info_line.size() - 4), "\"} 1") << info_line;
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"3\",le=\"0.001\"} 0");
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"3\",le=\"60\"} 0");
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"3\",le=\"+Inf\"} 0");
  EXPECT_LINE(text, "# TYPE ecgdist_samples_total counter");
  EXPECT_LINE(text, "# TYPE ecgdist_step_seconds histogram");
  EXPECT_LINE(text, "# TYPE ecgdist_train_loss gauge");
  // Every sample line carries the rank label; no job/instance labels (Prometheus adds those).
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l[0] == '#') continue;
    ASSERT_EQ(l.rfind("ecgdist_", 0), 0u) << l;
    EXPECT_NE(l.find("rank=\"3\""), std::string::npos) << l;
    EXPECT_EQ(l.find("job="), std::string::npos) << l;
    EXPECT_EQ(l.find("instance="), std::string::npos) << l;
  }
}

TEST(TrainingMetrics, StepsUpdateCountersHistogramAndGauges) {
  FakeClock clock;
  TrainingMetrics metrics(0, 2, clock.fn());
  metrics.set_stage(Stage::fine_tuning);
  metrics.set_epoch(5);
  metrics.set_validation(0.875, 0.5);
  metrics.set_eta_seconds(90);
  StepTimes t{0.125, 0.25, 0.5, 0.0625, 0.0625};  // total 1.0 s
  clock.now = 1001.0;
  metrics.on_step(t, 64, 0.75, 0.001, 1024);
  clock.now = 1002.0;
  metrics.on_step(t, 64, 0.5, 0.0005, 1024);
  const std::string text = exposition(metrics);
  EXPECT_LINE(text, "ecgdist_samples_total{rank=\"0\"} 128");
  EXPECT_LINE(text, "ecgdist_steps_total{rank=\"0\"} 2");
  EXPECT_LINE(text, "ecgdist_allreduce_bytes_total{rank=\"0\"} 2048");
  EXPECT_LINE(text, "ecgdist_phase_seconds_total{rank=\"0\",phase=\"data_wait\"} 0.25");
  EXPECT_LINE(text, "ecgdist_phase_seconds_total{rank=\"0\",phase=\"forward\"} 0.5");
  EXPECT_LINE(text, "ecgdist_phase_seconds_total{rank=\"0\",phase=\"backward\"} 1");
  EXPECT_LINE(text, "ecgdist_phase_seconds_total{rank=\"0\",phase=\"allreduce_wait\"} 0.125");
  EXPECT_LINE(text, "ecgdist_phase_seconds_total{rank=\"0\",phase=\"optimizer\"} 0.125");
  EXPECT_LINE(text, "ecgdist_step_seconds_count{rank=\"0\"} 2");
  EXPECT_LINE(text, "ecgdist_step_seconds_sum{rank=\"0\"} 2");
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"0\",le=\"0.5\"} 0");
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"0\",le=\"1\"} 2");
  EXPECT_LINE(text, "ecgdist_step_seconds_bucket{rank=\"0\",le=\"+Inf\"} 2");
  EXPECT_LINE(text, "ecgdist_train_loss{rank=\"0\"} 0.5");
  EXPECT_LINE(text, "ecgdist_pretrain_loss{rank=\"0\"} 0");
  EXPECT_LINE(text, "ecgdist_learning_rate{rank=\"0\"} 0.0005");
  EXPECT_LINE(text, "ecgdist_stage{rank=\"0\"} 2");
  EXPECT_LINE(text, "ecgdist_epoch{rank=\"0\"} 5");
  EXPECT_LINE(text, "ecgdist_val_macro_auroc{rank=\"0\"} 0.875");
  EXPECT_LINE(text, "ecgdist_val_macro_auprc{rank=\"0\"} 0.5");
  EXPECT_LINE(text, "ecgdist_eta_seconds{rank=\"0\"} 90");
  EXPECT_LINE(text, "ecgdist_last_step_timestamp_seconds{rank=\"0\"} 1002");
  // Windows of >= 1 s: 64 samples in [1000, 1001], then 64 in [1001, 1002].
  EXPECT_LINE(text, "ecgdist_samples_per_second{rank=\"0\"} 64");
}

TEST(TrainingMetrics, PretrainingLossIsKeptApartFromTrainingLoss) {
  FakeClock clock;
  TrainingMetrics metrics(1, 2, clock.fn());
  metrics.set_stage(Stage::pretraining);
  metrics.on_step(StepTimes{0, 0.5, 0, 0, 0}, 8, 2.5, 0.01, 0);
  std::string text = exposition(metrics);
  EXPECT_LINE(text, "ecgdist_pretrain_loss{rank=\"1\"} 2.5");
  EXPECT_LINE(text, "ecgdist_train_loss{rank=\"1\"} 0");
  metrics.set_stage(Stage::linear_probing);
  metrics.on_step(StepTimes{0, 0.5, 0, 0, 0}, 8, 0.25, 0.01, 0);
  text = exposition(metrics);
  EXPECT_LINE(text, "ecgdist_pretrain_loss{rank=\"1\"} 2.5");
  EXPECT_LINE(text, "ecgdist_train_loss{rank=\"1\"} 0.25");
  EXPECT_LINE(text, "ecgdist_stage{rank=\"1\"} 1");
}

TEST(TrainingMetrics, SamplesPerSecondUsesTheStepRateUntilTheFirstWindowCloses) {
  FakeClock clock;
  TrainingMetrics metrics(0, 1, clock.fn());
  clock.now += 0.25;
  metrics.on_step(StepTimes{0, 0.25, 0, 0, 0}, 16, 1, 1, 0);
  EXPECT_LINE(exposition(metrics), "ecgdist_samples_per_second{rank=\"0\"} 64");
  clock.now += 0.25;
  metrics.on_step(StepTimes{0, 0.25, 0, 0, 0}, 16, 1, 1, 0);
  clock.now += 0.5;  // window [1000, 1001]: 48 samples
  metrics.on_step(StepTimes{0, 0.5, 0, 0, 0}, 16, 1, 1, 0);
  EXPECT_LINE(exposition(metrics), "ecgdist_samples_per_second{rank=\"0\"} 48");
}

TEST(TrainingMetrics, ResidentMemoryIsTheProcessRss) {
  TrainingMetrics metrics(0, 1);
  const std::string text = exposition(metrics);
  const std::string key = "ecgdist_resident_memory_bytes{rank=\"0\"} ";
  const auto pos = text.find(key);
  ASSERT_NE(pos, std::string::npos);
  const double rss = std::stod(text.substr(pos + key.size()));
  EXPECT_GT(rss, 1 << 20);  // a C++ test binary holds well over 1 MiB resident
  EXPECT_LT(rss, 64.0 * (1ull << 30));
}

TEST(TrainingMetrics, RejectsARankOutsideTheWorld) {
  EXPECT_THROW(TrainingMetrics(2, 2), std::exception);
}

TEST(TrainingMetrics, StepBucketsSpanOneMillisecondToOneMinute) {
  const auto& b = step_seconds_buckets();
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 60.0);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

}  // namespace
}  // namespace ecg::monitoring
