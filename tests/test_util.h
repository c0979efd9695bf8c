// Helpers shared by all test executables: temp dirs, running the ecgdist binary and Python
// oracles as subprocesses, fixture paths.
#pragma once

#include <cstdint>
#include <string>

namespace ecg::testing {

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout+stderr.
CommandResult run_command(const std::string& command_line);

// Runs `ecgdist <args>` (the binary built with the tests).
CommandResult run_ecgdist(const std::string& args);

// `ecgdist synth` (100 Hz, `records`, `seed`) into dir/<name> and `ecgdist preprocess` into
// dir/<name>.h5; returns the HDF5 path, or "" with the failing command's output in `*why`.
std::string make_synthetic_h5(const TempDir& dir, const std::string& name, int records, int seed,
                              std::string* why);

// Copies the preprocessed file `from` to `to` and flips (0 <-> 1) the label of row `record`, class
// `cls` of /labels/<task>: a file with the same records and classes but other labels.
void copy_h5_with_flipped_label(const std::string& from, const std::string& to, const std::string& task,
                                int64_t record, size_t cls);

// "mpirun -np 2 --oversubscribe --bind-to none " with Open MPI's run-as-root variables set.
std::string mpirun_np2();

// Runs `/usr/bin/python3 -c <code>` or a script with args.
CommandResult run_python(const std::string& code);

std::string shared_dir();            // ../shared beside the checkout
std::string ptbxl_fixture_dir();     // ../shared/fixtures/ptbxl-sample
std::string test_source_dir();       // tests/
std::string read_text_file(const std::string& path);
void write_text_file(const std::string& path, const std::string& text);

}  // namespace ecg::testing
