#include "experiments/report/paired_cells.h"

#include <algorithm>
#include <map>

#include "common/error.h"
#include "data/dataset_info.h"
#include "eval/run_comparison.h"
#include "experiments/report/report_data.h"

namespace ecg::report {
namespace {

using eval::CatalogRun;
using eval::LabelScores;
using eval::Variant;

Difference difference_of(const eval::PairedDifference& d) {
  return {d.estimate, d.ci.lower, d.ci.upper, d.p_value};
}

LabelScores scores_of(const eval::RunOutcome& run, const std::vector<float>& targets) {
  LabelScores s;
  s.records = run.ecg_ids.size();
  s.labels = run.classes.size();
  s.scores = run.probs;
  s.targets = targets;
  s.names = run.classes;
  return s;
}

}  // namespace

PairedCells paired_cells(const std::vector<CatalogRun>& runs, const std::string& task, const std::string& data,
                         const eval::BootstrapOptions& options) {
  PairedCells out;
  // A task the data file has no labels for (another file's task) cannot be scored: the table then
  // shows n/a for its differences rather than failing the whole report.
  const data::DatasetInfo info = data::read_dataset_info(data);
  if (std::find(info.tasks.begin(), info.tasks.end(), task) == info.tasks.end()) {
    out.note = "paired differences of task '" + task + "' not computed: " + data + " has no labels for it";
    return out;
  }
  // Every run of the task, read once, in find_runs' order (by variant, fraction, seed).
  std::vector<const CatalogRun*> task_runs;
  std::vector<eval::RunOutcome> outcomes;
  for (const auto& r : runs)
    if (r.task == task) {
      task_runs.push_back(&r);
      outcomes.push_back(eval::read_run(r.dir));
    }
  const std::vector<float> targets = eval::read_test_targets(outcomes, data);
  std::map<const CatalogRun*, LabelScores> scores;
  for (size_t i = 0; i < task_runs.size(); ++i) scores[task_runs[i]] = scores_of(outcomes[i], targets);

  for (Variant v : {Variant::fine_tune, Variant::post_train, Variant::wo_sd, Variant::wo_lp, Variant::linear_probe}) {
    for (double f : fractions_of(runs, task, v)) {
      PairedCell cell;
      cell.variant = v;
      cell.fraction = f;
      const auto mine = select_runs(runs, task, v, f);
      std::vector<LabelScores> all;
      for (const CatalogRun* r : mine) all.push_back(scores.at(r));
      cell.alone = eval::seed_pooled_bootstrap(all, {}, options);
      if (v != Variant::fine_tune) {
        // Paired by seed: the seeds both this cell and fine-tune at the fraction have.
        std::vector<LabelScores> a, b;
        for (const CatalogRun* base : select_runs(runs, task, Variant::fine_tune, f))
          for (const CatalogRun* r : mine)
            if (r->seed == base->seed) {
              a.push_back(scores.at(r));
              b.push_back(scores.at(base));
              break;
            }
        cell.paired_seeds = static_cast<int>(a.size());
        if (!a.empty()) cell.vs_fine_tune = eval::seed_pooled_bootstrap(a, b, options);
      }
      out.cells.push_back(std::move(cell));
    }
  }
  return out;
}

const PairedCell* find_cell(const PairedCells& cells, Variant variant, double fraction) {
  for (const auto& c : cells.cells)
    if (c.variant == variant && same_fraction(c.fraction, fraction)) return &c;
  return nullptr;
}

void attach_differences(std::vector<TableRow>& rows, const std::string& task, const PairedCells& cells) {
  for (TableRow& row : rows) {
    if (row.task != task || row.variant == Variant::fine_tune) continue;
    const PairedCell* c = find_cell(cells, row.variant, row.fraction);
    if (!c || c->paired_seeds == 0) continue;
    row.paired_seeds = c->paired_seeds;
    row.d_auroc = difference_of(c->vs_fine_tune.auroc);
    row.d_auprc = difference_of(c->vs_fine_tune.auprc);
  }
}

void attach_pooled_bands(std::vector<EfficiencyPoint>& points, const PairedCells& cells) {
  for (EfficiencyPoint& p : points) {
    const PairedCell* c = find_cell(cells, p.variant, p.fraction);
    p.auroc.lower = c ? c->alone.macro_auroc_a_ci.lower : kNaN;
    p.auroc.upper = c ? c->alone.macro_auroc_a_ci.upper : kNaN;
    p.auprc.lower = c ? c->alone.macro_auprc_a_ci.lower : kNaN;
    p.auprc.upper = c ? c->alone.macro_auprc_a_ci.upper : kNaN;
  }
}

std::vector<DifferencePoint> difference_points(const PairedCells& cells) {
  std::vector<DifferencePoint> out;
  for (const PairedCell& c : cells.cells) {
    if (c.variant == Variant::fine_tune || c.paired_seeds == 0) continue;
    out.push_back({c.variant, c.fraction, c.paired_seeds, difference_of(c.vs_fine_tune.auroc),
                   difference_of(c.vs_fine_tune.auprc)});
  }
  return out;
}

}  // namespace ecg::report
