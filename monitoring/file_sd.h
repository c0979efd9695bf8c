// Prometheus file-based service discovery: each rank announces its /metrics address in a JSON
// target file that a `file_sd_configs` entry of the Prometheus server watches. The file is
// written atomically (the server never reads half a file) and removed again on clean exit, so
// that finished jobs drop out of discovery instead of showing as down forever.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace ecg::monitoring {

using EnvLookup = std::function<const char*(const char*)>;  // getenv-like

// Job-level target labels: slurm_job_id / slurm_job_name from SLURM_JOB_ID / SLURM_JOB_NAME when
// set. Deliberately no `rank`: the exporter puts rank on every series itself.
std::map<std::string, std::string> job_target_labels(const EnvLookup& env = {});

// The host Prometheus should scrape: the node's hostname when listening on all interfaces
// (0.0.0.0, ::, empty), else the bind address itself (IPv6 in brackets).
std::string scrape_host(const std::string& bind_address);

// The file_sd JSON document: [{"targets": ["host:port"], "labels": {...}}].
std::string file_sd_json(const std::string& target,
                         const std::map<std::string, std::string>& labels);

// File name of rank `rank`'s target file: ecgdist-<SLURM_JOB_ID or pid>-rank<R>.json.
std::string file_sd_file_name(int rank, const EnvLookup& env = {});

// RAII owner of one target file: writes it on construction, removes it on destruction.
class FileSdTarget {
 public:
  FileSdTarget(const std::string& dir, const std::string& file_name, const std::string& target,
               const std::map<std::string, std::string>& labels);
  ~FileSdTarget();
  FileSdTarget(const FileSdTarget&) = delete;
  FileSdTarget& operator=(const FileSdTarget&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ecg::monitoring
