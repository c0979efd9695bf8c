#include "experiments/report/report.h"

#include <filesystem>
#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "eval/run_comparison.h"
#include "experiments/report/gnuplot.h"
#include "experiments/report/html_page.h"
#include "experiments/report/paired_cells.h"
#include "experiments/report/plot_text.h"
#include "experiments/report/results_table.h"

namespace ecg::report {
namespace {

namespace fs = std::filesystem;
using eval::Variant;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

eval::BootstrapOptions bootstrap_options(const ReportOptions& o) {
  eval::BootstrapOptions b;
  b.resamples = o.bootstrap;
  b.seed = o.seed;
  b.threads = o.threads;
  return b;
}

// Figure 2's paired bootstrap, exactly as `ecgdist compare FINE POST` computes it.
std::vector<LabelDifferenceRow> per_label_differences(const RunPair& pair, const ReportOptions& o) {
  eval::ComparisonOptions options;
  options.data = o.data.empty() ? resolve_run_data(*pair.post_train) : o.data;
  options.bootstrap = bootstrap_options(o);
  const std::vector<eval::RunOutcome> runs = {eval::read_run(pair.fine_tune->dir), eval::read_run(pair.post_train->dir)};
  return label_differences(eval::compare_runs(runs, options));
}

class Report {
 public:
  Report(const ReportOptions& options, std::vector<eval::CatalogRun> runs)
      : o_(options), runs_(std::move(runs)), ctx_{options.out, options.gnuplot} {}

  // Draws the figures of `task` and fills its rows of `table` with the paired differences.
  void task(const std::string& task, std::vector<TableRow>& table) {
    const PairedCells cells = paired_cells_of(task);
    if (!cells.note.empty()) skip(cells.note);
    attach_differences(table, task, cells);
    const auto pair = pick_pair(runs_, task);
    if (!pair) {
      skip(fmt::format("Figures 2 and 3 ({}): no post-train and fine-tune runs with a fraction and a seed in common",
                       task));
    } else {
      add(figure_per_label(ctx_, task, *pair, per_label_differences(*pair, o_), o_.bootstrap, o_.seed));
      add(figure_validation(ctx_, task, *pair,
                            {validation_curve(*pair->post_train), validation_curve(*pair->fine_tune)}));
    }

    const auto post = fractions_of(runs_, task, Variant::post_train);
    const auto fine = fractions_of(runs_, task, Variant::fine_tune);
    if (post.empty() || fine.empty() || std::max(post.size(), fine.size()) < 2) {
      skip(fmt::format("Figure 4 ({}): needs post-train and fine-tune runs, at two training fractions at least", task));
    } else {
      const auto base = select_runs(runs_, task, Variant::fine_tune, 1.0);
      std::vector<EfficiencyPoint> points = efficiency_points(runs_, task);
      attach_pooled_bands(points, cells);
      add(figure_data_efficiency(ctx_, task, points, test_metric(base, "macro_auroc"), test_metric(base, "macro_auprc"),
                                 o_.bootstrap));
      const std::vector<DifferencePoint> diffs = difference_points(cells);
      if (diffs.empty())
        skip(fmt::format("Figure 4 differences ({}): no variant shares a seed with fine-tune at a fraction", task));
      else
        add(figure_data_efficiency_differences(ctx_, task, diffs, o_.bootstrap, o_.seed));
    }

    const double full = pair ? pair->fraction : (post.empty() ? 1.0 : post.back());
    std::vector<std::string> missing;
    for (Variant v : {Variant::post_train, Variant::wo_sd, Variant::wo_lp})
      if (select_runs(runs_, task, v, full).empty()) missing.push_back(eval::variant_name(v));
    if (!missing.empty())
      skip(fmt::format("Figure 5 ({}): no {} runs at fraction {:g} %", task, join(missing), full * 100));
    else
      add(figure_ablation(ctx_, task, full, ablation_bars(runs_, task, full)));
  }

  ReportSummary summary() const { return summary_; }

 private:
  PairedCells paired_cells_of(const std::string& task) const {
    std::string data = o_.data;
    if (data.empty())
      for (const auto& r : runs_)
        if (r.task == task) {
          data = resolve_run_data(r);
          break;
        }
    return paired_cells(runs_, task, data, bootstrap_options(o_));
  }

  void add(Figure figure) {
    log::info("report: wrote {}/{}.{{png,svg,csv,gp}}", o_.out, figure.base);
    summary_.figures.push_back(std::move(figure));
  }
  void skip(std::string note) {
    log::info("report: skipped {}", note);
    summary_.notes.push_back(std::move(note));
  }

  const ReportOptions& o_;
  std::vector<eval::CatalogRun> runs_;
  PlotContext ctx_;
  ReportSummary summary_;
};

}  // namespace

std::string resolve_run_data(const eval::CatalogRun& run) {
  const auto& settings = run.results.at("settings");
  const std::string file = run.dir + "/results.json";
  ECG_CHECK(settings.contains("data") && settings.at("data").is_string(),
            "{}: settings.data missing; pass --data FILE.h5 (the labels of the test records)", file);
  const fs::path data = settings.at("data").get<std::string>();
  std::vector<fs::path> candidates{data};
  if (data.is_relative()) {
    // The run was started from the folder that settings.out is relative to.
    const std::string out = settings.value("out", "");
    const fs::path dir = fs::path(run.dir).lexically_normal();
    const fs::path rel = fs::path(out).lexically_normal();
    if (!out.empty() && rel.is_relative()) {
      std::string d = dir.string(), r = rel.string();
      while (!r.empty() && r.back() == '/') r.pop_back();
      while (!d.empty() && d.back() == '/') d.pop_back();
      if (d.size() > r.size() && d.compare(d.size() - r.size(), r.size(), r) == 0)
        candidates.push_back(fs::path(d.substr(0, d.size() - r.size())) / data);
    }
    candidates.push_back(fs::path(run.dir) / data);
  }
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return c.string();
  ECG_FAIL("{}: settings.data '{}' not found; pass --data FILE.h5 (the labels of the test records)", file,
           data.string());
}

ReportSummary write_report(const ReportOptions& o) {
  ECG_CHECK(!o.inputs.empty(), "report: no input folder given");
  ECG_CHECK(!o.out.empty(), "report: --out is required");
  ECG_CHECK(o.bootstrap >= 0, "--bootstrap must not be negative (got {})", o.bootstrap);
  std::vector<eval::CatalogRun> runs = eval::find_runs(o.inputs);
  ECG_CHECK(!runs.empty(), "report: no finished runs (a folder with results.json) under {}", join(o.inputs));
  ECG_CHECK(!find_program(o.gnuplot).empty(), "gnuplot not found ('{}'): apt install gnuplot-nox", o.gnuplot);

  std::error_code ec;
  fs::create_directories(o.out, ec);
  ECG_CHECK(!ec && fs::is_directory(o.out), "--out {}: cannot create the folder ({})", o.out, ec.message());
  // Task names become parts of file names only through file_stem (experiments/report/plot_text.h).
  const std::vector<std::string> tasks = tasks_of(runs);
  check_distinct_stems(tasks, "tasks");
  // A previous report's page and tables would look like a complete report of these runs if we
  // stopped midway; they are written again, last, once every figure is there.
  for (const char* name : {"index.html", "table.csv", "table.md"}) {
    fs::remove(fs::path(o.out) / name, ec);
    ECG_CHECK(!ec, "{}/{}: cannot remove the previous report's file ({})", o.out, name, ec.message());
  }

  std::vector<TableRow> rows = table_rows(runs);
  Report report(o, runs);
  for (const std::string& task : tasks) report.task(task, rows);
  ReportSummary summary = report.summary();
  summary.runs = static_cast<int>(runs.size());

  PageContent page;
  page.title = "ecgdist report";
  page.inputs = o.inputs;
  page.runs = summary.runs;
  page.table_html = table_html(rows);
  page.table_note = table_caption(o.bootstrap);
  page.figures = summary.figures;
  page.notes = summary.notes;
  write_file_atomically(o.out + "/table.csv", table_csv(rows), "report table");
  write_file_atomically(o.out + "/table.md", table_markdown(rows, o.bootstrap), "report table");
  write_file_atomically(o.out + "/index.html", html_page(page), "report page");
  log::info("report: {} run(s), {} figure(s), {} skipped: {}/index.html", summary.runs, summary.figures.size(),
            summary.notes.size(), o.out);
  return summary;
}

}  // namespace ecg::report
