#include "tests/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <hdf5.h>

namespace ecg::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ecgdist-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  std::string full = command_line + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command_line);
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult run_ecgdist(const std::string& args) {
  return run_command(std::string(ECGDIST_BIN) + " " + args);
}

std::string make_synthetic_h5(const TempDir& dir, const std::string& name, int records, int seed,
                              std::string* why) {
  auto synth = run_ecgdist("synth --out " + dir / name + " --records " + std::to_string(records) +
                           " --sampling-rate 100 --seed " + std::to_string(seed));
  if (synth.exit_code != 0) {
    *why = synth.output;
    return "";
  }
  const std::string h5 = dir / (name + ".h5");
  auto prep = run_ecgdist("preprocess --ptbxl " + dir / name + " --out " + h5 + " --sampling-rate 100 --threads 2");
  if (prep.exit_code != 0) {
    *why = prep.output;
    return "";
  }
  return h5;
}

void copy_h5_with_flipped_label(const std::string& from, const std::string& to, const std::string& task,
                                int64_t record, size_t cls) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  const hid_t file = H5Fopen(to.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) throw std::runtime_error("cannot open " + to + " for writing");
  const hid_t labels = H5Dopen2(file, ("/labels/" + task).c_str(), H5P_DEFAULT);
  hsize_t dims[2] = {0, 0};
  const hid_t space = labels < 0 ? H5I_INVALID_HID : H5Dget_space(labels);
  const bool shaped = space >= 0 && H5Sget_simple_extent_ndims(space) == 2 &&
                      H5Sget_simple_extent_dims(space, dims, nullptr) == 2 && record >= 0 &&
                      static_cast<hsize_t>(record) < dims[0] && cls < dims[1];
  std::vector<uint8_t> values(shaped ? dims[0] * dims[1] : 0);
  bool ok = shaped && H5Dread(labels, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0;
  if (ok) {
    uint8_t& v = values[static_cast<size_t>(record) * dims[1] + cls];
    v = v ? 0 : 1;
    ok = H5Dwrite(labels, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0;
  }
  if (space >= 0) H5Sclose(space);
  if (labels >= 0) H5Dclose(labels);
  ok = H5Fclose(file) >= 0 && ok;
  if (!ok) throw std::runtime_error("cannot flip label (" + std::to_string(record) + ", " + std::to_string(cls) +
                                    ") of /labels/" + task + " in " + to);
}

std::string mpirun_np2() {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe "
         "--bind-to none ";
}

CommandResult run_python(const std::string& code) {
  // Pass the code through a temp file: quoting arbitrary Python through a shell is fragile.
  TempDir dir;
  std::string script = dir / "oracle.py";
  write_text_file(script, code);
  return run_command(std::string(ECG_PYTHON) + " " + script);
}

std::string shared_dir() { return std::filesystem::weakly_canonical(ECG_SHARED_DIR).string(); }
std::string ptbxl_fixture_dir() { return shared_dir() + "/fixtures/ptbxl-sample"; }
std::string test_source_dir() { return ECG_TEST_SOURCE_DIR; }

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << text;
}

}  // namespace ecg::testing
