// libFuzzer target: text from report inputs (a run's task name, the data file's class names) on
// its way into gnuplot, which is a script interpreter: `ecgdist report` once ran backquoted shell
// commands and system() calls found in these names (issue 23). Input: the task name, then class
// names, separated by NUL bytes (at most 8 classes, 256 bytes each). For every input the real
// gnuplot (Debian gnuplot-nox) runs twice in a fresh folder:
//   1. a script that prints each name through experiments/report/plot_text.h's gnuplot_literal and uses it as
//      a title and (gnuplot_tic_label) a tic label: gnuplot must read each name back exactly (as
//      printable() shows it), i.e. as data, and draw it without an error;
//   2. Figures 2 and 3 as `ecgdist report` writes them (experiments/report/figures.h), with the fuzzed task as
//      the task and the class names as Figure 2's labels.
// A failing gnuplot (a broken script), a name read back otherwise, or any file in the folder that
// the report does not write (a `touch` that ran) is a finding: __builtin_trap(). The dictionary
// tests/fuzz/report_inputs_fuzz.dict holds gnuplot's and the shell's syntax.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/report/figures.h"
#include "experiments/report/gnuplot.h"
#include "experiments/report/plot_text.h"

namespace fs = std::filesystem;
using namespace ecg::report;

namespace {

std::vector<std::string> split_input(const uint8_t* data, size_t size) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      if (parts.size() == 9) break;
      parts.emplace_back();
    } else if (parts.back().size() < 256) {
      parts.back() += static_cast<char>(data[i]);
    }
  }
  return parts;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// 1: each name printed back through gnuplot_literal, drawn as a title and a tick label.
void check_round_trip(const std::string& dir, const std::vector<std::string>& names) {
  std::string script = "set terminal dumb\nset output '/dev/null'\nset print 'printed.txt'\n";
  std::string expected;
  for (size_t i = 0; i < names.size(); ++i) {
    script += "print " + gnuplot_literal(names[i]) + "\n";
    script += "set title " + gnuplot_literal(names[i]) + " noenhanced\n";
    script += "set ytics (" + gnuplot_tic_label(names[i]) + " 0)\n";
    expected += printable(names[i]) + "\n";
  }
  script += "plot x notitle\n";
  write_file(dir + "/round_trip.gp", script);
  try {
    run_gnuplot("gnuplot", dir, "round_trip.gp", "unused.png", "unused.svg");
  } catch (const std::exception&) {
    __builtin_trap();  // a literal broke the script
  }
  if (read_file(dir + "/printed.txt") != expected) __builtin_trap();  // a name was not read as data
}

// 2: Figures 2 and 3 as the report writes them.
void draw_figures(const std::string& dir, const std::string& task,
                  const std::vector<std::string>& classes) {
  ecg::eval::CatalogRun post, fine;
  post.dir = dir + "/post`touch run`";
  fine.dir = dir + "/fine";
  post.variant = ecg::eval::Variant::post_train;
  RunPair pair{&post, &fine, 1.0, 0};
  std::vector<LabelDifferenceRow> rows;
  for (size_t i = 0; i < classes.size(); ++i) {
    LabelDifferenceRow r;
    r.label = classes[i];
    r.evaluable = i % 2 == 0;
    r.auroc = 0.01 * static_cast<double>(i);
    r.auroc_lower = r.auroc - 0.05;
    r.auroc_upper = r.auroc + 0.05;
    r.auprc = -r.auroc;
    r.auprc_lower = r.auprc - 0.02;
    r.auprc_upper = r.auprc + 0.02;
    rows.push_back(r);
  }
  ValidationCurve curve;
  curve.variant = ecg::eval::Variant::post_train;
  curve.dir = post.dir;
  curve.points = {
      {-1, 1, 1, 0.6, 0.4, false}, {0, 1, 2, 0.7, 0.5, false}, {1, 2, 1, 0.8, 0.6, true}};
  curve.early_stop_epoch = 1;
  const PlotContext ctx{dir, "gnuplot"};
  try {
    figure_per_label(ctx, task, pair, rows, 20, 1);
    figure_validation(ctx, task, pair, {curve});
  } catch (const std::exception&) {
    __builtin_trap();  // gnuplot failed on a script the report wrote
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = split_input(data, size);
  const std::string& task = parts[0];
  const std::vector<std::string> classes(parts.begin() + 1, parts.end());

  char folder[] = "/tmp/report_inputs_fuzz.XXXXXX";
  if (::mkdtemp(folder) == nullptr) std::abort();
  const std::string dir = folder;
  check_round_trip(dir, parts);
  draw_figures(dir, task, classes.empty() ? std::vector<std::string>{task} : classes);

  // Nothing but what was written on purpose.
  const std::string stem = file_stem(task);
  std::set<std::string> expected = {"round_trip.gp", "printed.txt"};
  for (const char* fig : {"fig2_per_label_", "fig3_validation_"})
    for (const char* ext : {".csv", ".gp", ".png", ".svg"}) expected.insert(fig + stem + ext);
  for (const auto& entry : fs::directory_iterator(dir))
    if (!expected.count(entry.path().filename().string())) __builtin_trap();  // something ran
  fs::remove_all(dir);
  return 0;
}
