#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

namespace ecg::log {
namespace {

std::atomic<int> g_rank{0};
std::atomic<int> g_world{1};
Level initial_level() {
  const char* env = std::getenv("ECGDIST_LOG_LEVEL");
  if (env == nullptr) return Level::info;
  if (std::strcmp(env, "debug") == 0) return Level::debug;
  if (std::strcmp(env, "warning") == 0 || std::strcmp(env, "warn") == 0) return Level::warn;
  if (std::strcmp(env, "error") == 0) return Level::error;
  return Level::info;
}

std::atomic<Level> g_level{initial_level()};

// Info goes to stdout (progress, results); warnings and errors to stderr so that a SLURM
// `--error` file collects exactly the problems of every rank.
std::shared_ptr<spdlog::logger> make_logger(const char* name, bool to_stderr) {
  std::shared_ptr<spdlog::logger> logger;
  if (to_stderr) {
    logger = spdlog::stderr_logger_mt(name);
  } else {
    logger = spdlog::stdout_logger_mt(name);
  }
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

spdlog::logger& out() {
  static auto logger = make_logger("ecgdist_out", false);
  return *logger;
}
spdlog::logger& err() {
  static auto logger = make_logger("ecgdist_err", true);
  return *logger;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

}  // namespace

void set_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
int rank() { return g_rank; }
void set_level(Level level) { g_level = level; }
bool enabled(Level level) { return static_cast<int>(level) >= static_cast<int>(g_level.load()); }

void write(Level level, const std::string& message) {
  if (!enabled(level)) return;
  const bool problem = level == Level::warn || level == Level::error;
  if (!problem && g_rank != 0) return;
  // Multi-rank runs tag every line with its rank; a single process stays terse.
  std::string prefix = g_world > 1 ? fmt::format("[rank {}] ", g_rank.load()) : std::string();
  if (problem) {
    err().info("{}{}: {}", prefix, level_name(level), message);
  } else if (level == Level::debug) {
    out().info("{}debug: {}", prefix, message);
  } else {
    out().info("{}{}", prefix, message);
  }
}

void fatal(const std::string& message) {
  std::string prefix = g_world > 1 ? fmt::format("[rank {}] ", g_rank.load()) : std::string();
  err().info("{}ecgdist: error: {}", prefix, message);
}

}  // namespace ecg::log
