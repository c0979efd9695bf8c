// Prometheus file_sd target files: content (target, job labels, no rank), naming, atomic
// creation and removal on destruction, and the exporter writing/removing its own file.
#include "monitoring/file_sd.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "monitoring/metrics_exporter.h"
#include "monitoring/training_metrics.h"
#include "tests/test_util.h"

namespace ecg::monitoring {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(FileSd, JobLabelsComeFromSlurmAndNeverIncludeRank) {
  auto labels = job_target_labels(
      fake_env({{"SLURM_JOB_ID", "4242"}, {"SLURM_JOB_NAME", "ptbxl-ft"}, {"SLURM_PROCID", "3"}}));
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"slurm_job_id", "4242"},
                                                        {"slurm_job_name", "ptbxl-ft"}}));
  EXPECT_TRUE(job_target_labels(fake_env({})).empty());
}

TEST(FileSd, JsonIsOneTargetGroup) {
  const std::string text =
      file_sd_json("node07:9400", {{"slurm_job_id", "4242"}, {"slurm_job_name", "ptbxl-ft"}});
  const auto doc = nlohmann::json::parse(text);
  const auto expected = nlohmann::json::parse(
      R"([{"targets": ["node07:9400"],
           "labels": {"slurm_job_id": "4242", "slurm_job_name": "ptbxl-ft"}}])");
  EXPECT_EQ(doc, expected);
  EXPECT_EQ(nlohmann::json::parse(file_sd_json("h:1", {})),
            nlohmann::json::parse(R"([{"targets": ["h:1"], "labels": {}}])"));
}

TEST(FileSd, FileNameUsesTheSlurmJobOrThePid) {
  EXPECT_EQ(file_sd_file_name(3, fake_env({{"SLURM_JOB_ID", "4242"}})), "ecgdist-4242-rank3.json");
  EXPECT_EQ(file_sd_file_name(0, fake_env({})),
            "ecgdist-" + std::to_string(::getpid()) + "-rank0.json");
}

TEST(FileSd, ScrapeHostIsTheHostnameUnlessBoundToOneAddress) {
  char name[256] = {};
  ASSERT_EQ(::gethostname(name, sizeof name - 1), 0);
  EXPECT_EQ(scrape_host("0.0.0.0"), name);
  EXPECT_EQ(scrape_host("::"), name);
  EXPECT_EQ(scrape_host("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(scrape_host("fe80::1"), "[fe80::1]");
}

TEST(FileSd, TargetFileIsWrittenAndRemovedOnDestruction) {
  testing::TempDir dir;
  const std::string sd = dir / "sd";  // created on demand
  std::string path;
  {
    FileSdTarget target(sd, "ecgdist-1-rank0.json", "127.0.0.1:9400", {{"slurm_job_id", "1"}});
    path = target.path();
    EXPECT_EQ(path, sd + "/ecgdist-1-rank0.json");
    const auto doc = nlohmann::json::parse(testing::read_text_file(path));
    EXPECT_EQ(doc[0]["targets"][0], "127.0.0.1:9400");
    EXPECT_EQ(doc[0]["labels"]["slurm_job_id"], "1");
    // Only the final file is there: no temp file a glob like *.json could catch half-written.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(sd), {}), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FileSd, ExporterAnnouncesItsAddressAndWithdrawsIt) {
  testing::TempDir dir;
  TrainingMetrics metrics(1, 2);
  MetricsOptions o;
  o.port = 20000 + ::getpid() % 20000;
  o.port_auto = true;
  o.bind = "127.0.0.1";
  o.sd_dir = dir / "sd";
  std::string path;
  {
    MetricsExporter exporter(o, 1, 0, metrics.registry());
    path = exporter.sd_file();
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(std::filesystem::path(path).parent_path(), o.sd_dir);
    EXPECT_NE(path.find("-rank1.json"), std::string::npos) << path;
    const auto doc = nlohmann::json::parse(testing::read_text_file(path));
    EXPECT_EQ(doc[0]["targets"][0], "127.0.0.1:" + std::to_string(exporter.port()));
    EXPECT_FALSE(doc[0]["labels"].contains("rank"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FileSd, UncreatableDirectoryIsAClearError) {
  testing::TempDir dir;
  testing::write_text_file(dir / "file", "x");
  try {
    FileSdTarget target(dir / "file/sub", "a.json", "h:1", {});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--metrics-sd-dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ecg::monitoring
