// End-to-end failure paths of ecg_comm: `mpirun -np 2 comm_fault_probe <mode>` where one rank
// throws, is SIGKILLed, hangs outside MPI, or never joins a collective. The whole job must exit
// non-zero (bounded by `timeout 30`: exit 124 means it hung) and the output must name the rank.
// Also the single-process case (no mpirun: MPI singleton, world size 1).
#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"

namespace {

using ecg::testing::CommandResult;
using ecg::testing::run_command;

CommandResult run_probe(const std::string& mode, int ranks) {
  std::string cmd = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 ";
  cmd += "timeout -k 5 30 ";
  if (ranks > 0) {
    cmd +=
        std::string(MPIEXEC) + " -np " + std::to_string(ranks) + " --oversubscribe --bind-to none ";
  }
  cmd += std::string(COMM_FAULT_PROBE) + " " + mode;
  return run_command(cmd);
}

TEST(CommFault, SingleProcessWithoutMpirunHasWorldSizeOne) {
  const auto r = run_probe("single", 0);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("probe ok: backend mpi rank 0 size 1 local 0/1"), std::string::npos)
      << r.output;
}

TEST(CommFault, TwoHealthyRanksSucceed) {
  const auto r = run_probe("ok", 2);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("probe ok: backend mpi rank 0 size 2 local 0/2"), std::string::npos)
      << r.output;
}

TEST(CommFault, RankThatThrowsBringsTheJobDown) {
  const auto r = run_probe("throw", 2);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "job hung after rank 1 threw:\n" << r.output;
  EXPECT_NE(r.output.find("[rank 1] error: rank 1: injected failure"), std::string::npos)
      << r.output;
}

TEST(CommFault, KilledRankBringsTheJobDown) {
  const auto r = run_probe("kill", 2);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "job hung after rank 1 was killed:\n" << r.output;
  // mpirun's own report names the dead rank.
  EXPECT_NE(r.output.find("rank 1"), std::string::npos) << r.output;
}

TEST(CommFault, CollectiveNobodyJoinsTimesOutNamingRankAndCollective) {
  const auto r = run_probe("hang", 2);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "job hung although the collective timeout is 2 s:\n" << r.output;
  EXPECT_NE(r.output.find("rank 0: 'probe all-reduce nobody joins' did not complete within "
                          "--timeout 2s"),
            std::string::npos)
      << r.output;
}

TEST(CommFault, WatchdogAbortsARankStuckOutsideMpi) {
  const auto r = run_probe("watchdog", 2);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "job hung although the watchdog deadline is 1 s:\n" << r.output;
  EXPECT_NE(r.output.find("rank 1: data wait at step 7 exceeded --timeout 1s"), std::string::npos)
      << r.output;
}

}  // namespace
