#include "experiments/sweep/cell_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "eval/run_files.h"

extern char** environ;

namespace fs = std::filesystem;

namespace ecg::sweep {
namespace {

// Exit status of `ecgdist train` that checkpointed on its stop signal (docs/training.md).
constexpr int kCheckpointedExit = 75;

volatile sig_atomic_t g_stop_signal = 0;
void on_stop(int sig) { g_stop_signal = sig; }

// Installs on_stop for SIGINT/SIGTERM without SA_RESTART (so waitpid returns EINTR) and puts the
// previous handlers back when the run ends.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Starts argv with stdout and stderr appended to log_path, in a process group of its own (a
// Ctrl-C at the terminal reaches the sweep, which stops the cells in order, not all at once).
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ECG_CHECK(fd >= 0, "{}: cannot open the cell's log ({})", log_path, std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  // posix_spawnp: mpirun is found on PATH.
  const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fd);
  ECG_CHECK(rc == 0, "cannot start {} ({})", argv[0], std::strerror(rc));
  return pid;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return "ended";
}

}  // namespace

nlohmann::json cell_record(const SweepGrid& grid, const SweepCell& cell) {
  std::string flags;
  for (const std::string& f : cell.variant_flags) flags += (flags.empty() ? "" : " ") + f;
  return {{"grid", fs::absolute(grid.file).lexically_normal().string()},
          {"index", cell.index},
          {"task", cell.task},
          {"variant", eval::variant_name(cell.variant)},
          {"recipe", cell.recipe},
          {"fraction", cell.fraction},
          {"seed", cell.seed},
          {"flags", flags},
          {"train_args", cell.train_args}};
}

void prepare_cell(const SweepGrid& grid, const SweepCell& cell) {
  const std::string path = (fs::path(cell.dir) / "sweep_cell.json").string();
  const nlohmann::json record = cell_record(grid, cell);
  if (fs::exists(path)) {
    const nlohmann::json before = eval::read_run_json(cell.dir, eval::RunFile::sweep_cell_json);
    ECG_CHECK(before.is_object(), "{}: not a JSON object; remove the cell's folder to run it again", path);
    ECG_CHECK(before.value("train_args", nlohmann::json()) == record.at("train_args"),
              "{}: field train_args: the cell was run with other arguments than the grid {} gives now "
              "(remove the cell's folder, or sweep into another folder)", path, grid.file);
    return;
  }
  std::error_code ec;
  fs::create_directories(cell.dir, ec);
  ECG_CHECK(!ec, "{}: cannot create the cell's folder ({})", cell.dir, ec.message());
  write_file_atomically(path, record.dump(2) + "\n", "sweep cell record");
}

bool cell_finished(const SweepCell& cell) { return fs::exists(fs::path(cell.dir) / "results.json"); }

std::vector<std::string> cell_command(const SweepGrid& grid, const SweepCell& cell, const RunOptions& options) {
  std::vector<std::string> argv;
  if (grid.ranks > 1) {
    argv = {options.mpirun, "-np", std::to_string(grid.ranks), "--oversubscribe", "--bind-to", "none"};
  }
  argv.push_back(options.ecgdist);
  argv.push_back("train");
  argv.insert(argv.end(), cell.train_args.begin(), cell.train_args.end());
  argv.insert(argv.end(), {"--out", cell.dir, "--threads", std::to_string(grid.threads), "--resume", "auto"});
  argv.insert(argv.end(), options.launcher_args.begin(), options.launcher_args.end());
  return argv;
}

RunSummary run_cells(const SweepGrid& grid, const std::vector<SweepCell>& cells, const RunOptions& options) {
  for (const SweepCell& cell : cells) prepare_cell(grid, cell);
  RunSummary summary;
  std::deque<const SweepCell*> pending;
  for (const SweepCell& cell : cells) {
    if (cell_finished(cell)) {
      ++summary.already_done;
    } else {
      pending.push_back(&cell);
    }
  }
  int jobs = options.jobs;
  if (jobs <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = std::max(1, cores / (grid.ranks * grid.threads));
  }
  log::info("sweep: {} cells, {} finished before, {} to run, {} at a time", cells.size(), summary.already_done,
            pending.size(), jobs);

  StopSignals signals;
  std::map<pid_t, const SweepCell*> running;
  bool stopping = false;
  while (!pending.empty() || !running.empty()) {
    if (g_stop_signal != 0 && !stopping) {
      stopping = true;
      log::warn("sweep: signal {}: no new cells; asking {} running cell(s) to checkpoint and exit", g_stop_signal,
                running.size());
      // ecgdist train's default stop signal (USR1) checkpoints and exits 75; mpirun passes it on.
      for (const auto& item : running) ::kill(item.first, SIGUSR1);
    }
    while (!stopping && !pending.empty() && static_cast<int>(running.size()) < jobs) {
      const SweepCell* cell = pending.front();
      pending.pop_front();
      const std::string log_path = (fs::path(cell->dir) / "train.log").string();
      const pid_t pid = spawn_logged(cell_command(grid, *cell, options), log_path);
      log::info("sweep: cell {}/{} started: {} (log {})", cell->index + 1, cells.size(), cell->dir, log_path);
      running.emplace(pid, cell);
    }
    if (stopping) pending.clear();
    if (running.empty()) break;
    int status = 0;
    // Polled, not blocking: a stop signal that lands between the check above and a blocking
    // waitpid would wait for a cell to end (minutes) before being honoured.
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (pid < 0) {
      ECG_CHECK(errno == EINTR, "sweep: waitpid failed ({})", std::strerror(errno));
      continue;  // a stop signal: handled at the top of the loop
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const SweepCell* cell = it->second;
    running.erase(it);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && cell_finished(*cell)) {
      ++summary.ran;
      log::info("sweep: cell {}/{} done: {}", cell->index + 1, cells.size(), cell->dir);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == kCheckpointedExit) {
      log::warn("sweep: cell {}/{} checkpointed and stopped: {} (run the sweep again to resume it)",
                cell->index + 1, cells.size(), cell->dir);
    } else {
      summary.failed.push_back(fmt::format("{} ({}, see {}/train.log)", cell->dir, describe_exit(status), cell->dir));
      log::error("sweep: cell {}/{} FAILED: {}", cell->index + 1, cells.size(), summary.failed.back());
    }
  }
  if (stopping) ECG_FAIL("sweep stopped by signal {}: run it again to resume the unfinished cells", g_stop_signal);
  return summary;
}

}  // namespace ecg::sweep
