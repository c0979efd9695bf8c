// A real Prometheus server (Debian package `prometheus`) scrapes two real ranks found through
// file_sd: tests/monitoring/prometheus_harness.py does the work; the command under test is a real
// 2-rank `ecgdist train` on synthetic data (and the metric driver, which exercises the exporter
// without LibTorch).
// Also: the shipped alert rules pass `promtool check rules` and their `promtool test rules` unit
// tests, and the Grafana dashboard is importable (DS_PROMETHEUS input + datasource variable) and
// provisionable.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/test_util.h"

namespace ecg::testing {
namespace {

std::string repo_dir() {
  return test_source_dir() + "/..";
}
std::string harness() {
  return test_source_dir() + "/monitoring/prometheus_harness.py";
}

TEST(PrometheusIntegration, AlertRulesPassPromtool) {
  auto r = run_command("/usr/bin/promtool check rules " + repo_dir() +
                       "/monitoring/alerts/ecgdist-alerts.yml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS: 4 rules found"), std::string::npos) << r.output;
}

TEST(PrometheusIntegration, AlertRulesFireOnSyntheticSeries) {
  // Stuck rank (also before its first step), rank down, ranks missing, straggler; each also
  // checked NOT to fire early (monitoring/alerts/ecgdist-alerts.test.yml).
  auto r =
      run_command("cd " + repo_dir() +
                  "/monitoring/alerts && /usr/bin/promtool test rules ecgdist-alerts.test.yml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST(PrometheusIntegration, DashboardExpressionsPassPromtool) {
  auto r = run_command(std::string(ECG_PYTHON) + " " + harness() + " --check-only");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(PrometheusIntegration, DashboardWorksImportedAndProvisioned) {
  // Structural checks Grafana relies on; Grafana itself is not a Debian package.
  auto r =
      run_python("DASHBOARD = '" + repo_dir() + "/monitoring/grafana/ecgdist-dashboard.json'\n" +
                 R"PY(
import json
d = json.load(open(DASHBOARD))
ins = [i for i in d["__inputs"] if i["name"] == "DS_PROMETHEUS"]
assert ins and ins[0]["type"] == "datasource" and ins[0]["pluginId"] == "prometheus", ins
var = [v for v in d["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
assert var and var[0]["type"] == "datasource" and var[0]["query"] == "prometheus", var
assert d["id"] is None and d["uid"], "importable: no fixed id, stable uid"
want = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
titles = []
for p in d["panels"]:
    titles.append(p["title"])
    assert p["datasource"] == want, (p["title"], p["datasource"])
    assert p["targets"], p["title"]
    for t in p["targets"]:
        assert t["datasource"] == want, (p["title"], t)
for v in d["templating"]["list"]:
    if v["type"] == "query":
        assert v["datasource"] == want, v
needed = ["Ranks up", "Samples/s", "Step time p50 / p95", "phase breakdown", "All-reduce",
          "Loss", "AUROC", "Learning rate", "Stage", "Epoch", "ETA", "memory", "since last step"]
for n in needed:
    assert any(n.lower() in t.lower() for t in titles), ("missing panel", n, titles)
print("ok", len(titles))
)PY");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"/monitoring/grafana/provisioning/datasources/ecgdist-prometheus.yml",
                        "/monitoring/grafana/provisioning/dashboards/ecgdist-dashboards.yml"}) {
    const std::string text = read_text_file(repo_dir() + f);
    EXPECT_NE(text.find("apiVersion: 1"), std::string::npos) << f;
  }
}

TEST(PrometheusIntegration, TwoRanksScrapedCountersGrowDashboardQueriesReturnData) {
  const std::string command =
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 "
      "mpirun -np 2 --oversubscribe --bind-to none " +
      std::string(ECG_METRICS_DRIVER) +
      " --metrics-port {port} --metrics-port-auto --metrics-bind 127.0.0.1"
      " --metrics-sd-dir {sd_dir} --duration 20 --progress lines --progress-interval 5";
  auto r = run_command(std::string(ECG_PYTHON) + " " + harness() + " --ranks 2 --timeout 40 " +
                       "--command '" + command + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[harness] PASS"), std::string::npos) << r.output;
}

TEST(PrometheusIntegration, TwoRankTrainingScrapedEveryDashboardQueryReturnsData) {
  TempDir dir;
  std::string why;
  const std::string data = make_synthetic_h5(dir, "ptbxl", 200, 9, &why);
  ASSERT_FALSE(data.empty()) << why;
  // Long enough to be scraped for a while (two stages, validation in between), short for CI.
  const std::string command =
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "mpirun -np 2 --oversubscribe --bind-to none " +
      std::string(ECGDIST_BIN) + " train --data " + data +
      " --model tiny --recipe post-train --lp-epochs 1 --epochs 2 --batch-size 16 --threads 1"
      " --bootstrap 20 --eval-crops 1 --out " + dir / "run" +
      " --metrics-port {port} --metrics-port-auto --metrics-bind 127.0.0.1"
      " --metrics-sd-dir {sd_dir} --progress lines --progress-interval 5";
  auto r = run_command(std::string(ECG_PYTHON) + " " + harness() + " --ranks 2 --timeout 60 " +
                       "--command '" + command + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[harness] PASS"), std::string::npos) << r.output;
  EXPECT_TRUE(std::ifstream(dir / "run/results.json").good()) << r.output;
}

}  // namespace
}  // namespace ecg::testing
