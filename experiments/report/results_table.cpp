#include "experiments/report/results_table.h"

#include <fmt/format.h>

#include "experiments/report/figures.h"
#include "experiments/report/html_page.h"

namespace ecg::report {
namespace {

std::string fraction_with_percent_sign(double fraction) { return fmt::format("{:g} %", fraction * 100.0); }

struct Cells {
  std::string task, variant, fraction, seeds, auroc, auroc_gain, auroc_diff, auprc, auprc_gain, auprc_diff;
};

Cells cells_of(const TableRow& r) {
  const bool base = r.variant == eval::Variant::fine_tune;
  return {r.task,
          eval::variant_title(r.variant),
          fraction_with_percent_sign(r.fraction),
          std::to_string(r.auroc.seeds),
          format_cell(r.auroc),
          format_gain(r.auroc_gain_pct, base),
          format_difference(r.d_auroc, r.paired_seeds, base),
          format_cell(r.auprc),
          format_gain(r.auprc_gain_pct, base),
          format_difference(r.d_auprc, r.paired_seeds, base)};
}

// A Markdown table cell: '|' would end the cell and a line break the row; '<' and '&' are
// written as entities because Markdown renderers pass raw HTML through.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '|': out += "\\|"; break;
      case '\\': out += "\\\\"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': case '\t': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string format_cell(const CellMetric& m) {
  if (std::isnan(m.mean)) return "n/a";
  if (m.seeds > 1) return fmt::format("{:.4f} ± {:.4f} (sd, {} seeds)", m.mean, m.sd, m.seeds);
  if (std::isnan(m.lower) || std::isnan(m.upper)) return fmt::format("{:.4f} [CI n/a]", m.mean);
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", m.mean, m.lower, m.upper);
}

std::string format_gain(double gain_pct, bool is_baseline) {
  if (is_baseline) return "baseline";
  if (std::isnan(gain_pct)) return "n/a";
  return fmt::format("{:+.2f} %", gain_pct);
}

std::string format_difference(const Difference& d, int paired_seeds, bool is_baseline) {
  if (is_baseline) return "baseline";
  if (std::isnan(d.estimate)) return "n/a";
  const std::string seeds = paired_seeds > 1 ? fmt::format(" ({} paired seeds)", paired_seeds) : "";
  if (std::isnan(d.lower) || std::isnan(d.upper)) return fmt::format("{:+.4f} [CI n/a]{}", d.estimate, seeds);
  return fmt::format("{:+.4f} [{:+.4f}, {:+.4f}]{}", d.estimate, d.lower, d.upper, seeds);
}

std::string table_caption(int resamples) {
  return fmt::format(
      "Test macro AUROC and AUPRC per task, variant and training fraction. Metric cells: with one seed the run's "
      "percentile bootstrap 95 % CI over test records (results.json); with several seeds the mean over seeds "
      "± their sample standard deviation. Gain: (mean - fine-tune mean) / fine-tune mean x 100 (unpaired, "
      "fine-tune of the same task and fraction). Paired Δ: the PAIRED difference variant - fine-tune of the "
      "same task and fraction, both models scored on the same resampled test records: with several seeds it is "
      "paired by seed, the point estimate is the mean over the seeds both have of the per-seed difference, and the "
      "95 % CI is one percentile bootstrap pooled over seeds ({} resamples: each resample draws the test records "
      "once and applies the same indices to every seed's pair of runs; the statistic is the seed-mean difference; "
      "all seeds share the test fold). That CI covers test-set sampling, not seed-to-seed variation. table.csv "
      "holds every number (d_* columns, with the two-sided bootstrap p-value).",
      resamples);
}

std::string table_csv(const std::vector<TableRow>& rows) {
  std::string out =
      "task,variant,fraction_pct,seeds,macro_auroc,auroc_ci_lower,auroc_ci_upper,auroc_sd,macro_auprc,"
      "auprc_ci_lower,auprc_ci_upper,auprc_sd,auroc_gain_pct,auprc_gain_pct,paired_seeds,d_auroc,d_auroc_ci_lower,"
      "d_auroc_ci_upper,d_auroc_p,d_auprc,d_auprc_ci_lower,d_auprc_ci_upper,d_auprc_p\n";
  for (const auto& r : rows)
    out += fmt::format("{},{},{:g},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_text(r.task),
                       eval::variant_name(r.variant), r.fraction * 100.0, r.auroc.seeds, csv_number(r.auroc.mean),
                       csv_number(r.auroc.lower), csv_number(r.auroc.upper), csv_number(r.auroc.sd),
                       csv_number(r.auprc.mean), csv_number(r.auprc.lower), csv_number(r.auprc.upper),
                       csv_number(r.auprc.sd), csv_number(r.auroc_gain_pct, 4), csv_number(r.auprc_gain_pct, 4),
                       r.paired_seeds, csv_number(r.d_auroc.estimate, 8), csv_number(r.d_auroc.lower, 8),
                       csv_number(r.d_auroc.upper, 8), csv_number(r.d_auroc.p, 4), csv_number(r.d_auprc.estimate, 8),
                       csv_number(r.d_auprc.lower, 8), csv_number(r.d_auprc.upper, 8), csv_number(r.d_auprc.p, 4));
  return out;
}

std::string table_markdown(const std::vector<TableRow>& rows, int resamples) {
  std::string out =
      "| task | variant | fraction | seeds | test macro AUROC | gain vs fine-tune | paired Δ AUROC vs fine-tune "
      "[95 % CI] | test macro AUPRC | gain vs fine-tune | paired Δ AUPRC vs fine-tune [95 % CI] |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    const Cells c = cells_of(r);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", markdown_cell(c.task), c.variant,
                       c.fraction, c.seeds, c.auroc, c.auroc_gain, c.auroc_diff, c.auprc, c.auprc_gain, c.auprc_diff);
  }
  return out + "\n" + markdown_cell(table_caption(resamples)) + "\n";
}

std::string table_html(const std::vector<TableRow>& rows) {
  std::string out =
      "<table>\n<thead><tr><th>task</th><th>variant</th><th>fraction</th><th>seeds</th><th>test macro AUROC</th>"
      "<th>gain vs fine-tune</th><th>paired Δ AUROC vs fine-tune [95 % CI]</th><th>test macro AUPRC</th>"
      "<th>gain vs fine-tune</th><th>paired Δ AUPRC vs fine-tune [95 % CI]</th></tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    const Cells c = cells_of(r);
    out += "<tr>";
    for (const std::string* cell : {&c.task, &c.variant, &c.fraction, &c.seeds, &c.auroc, &c.auroc_gain,
                                    &c.auroc_diff, &c.auprc, &c.auprc_gain, &c.auprc_diff})
      out += "<td>" + html_escape(*cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace ecg::report
