// Runs the real-SLURM harness (tests/slurm/slurm_test.sh) from CTest: a single-node SLURM cluster
// on localhost, the unchanged CPU sbatch template with 2 ranks, an uninterrupted run and a
// preempted + requeued + resumed one that must reach the same metrics. Skipped only where the
// SLURM daemons are not installed (the Debian package slurm-wlm); everything else is a failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/test_util.h"

namespace {

using ecg::testing::run_command;

TEST(SlurmHarness, CpuTemplateRunsPreemptsRequeuesAndResumesOnARealCluster) {
  if (run_command("command -v slurmctld && command -v slurmd && command -v munged").exit_code !=
      0) {
    GTEST_SKIP() << "slurmctld/slurmd/munged not installed (Debian packages slurm-wlm, munge)";
  }
  const std::string script = ecg::testing::test_source_dir() + "/slurm/slurm_test.sh";
  // timeout: the daemons and jobs must never outlive the test; the script's trap stops them.
  const auto r = run_command("ECGDIST_BIN='" + std::string(ECGDIST_BIN) +
                             "' timeout -k 10 500 bash '" + script + "'");
  ASSERT_NE(r.exit_code, 77) << "the harness skipped although slurmctld is installed:\n"
                             << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("slurm_test: PASS"), std::string::npos) << r.output;
  // Timings and the launcher used, for the CTest log (a failure has printed them already).
  if (r.exit_code == 0) std::printf("%s", r.output.c_str());
}

}  // namespace
