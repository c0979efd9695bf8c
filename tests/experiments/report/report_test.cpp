// `ecgdist report` end to end on hand-made run folders (results.json, history.csv,
// test_predictions.csv) over one small synthetic HDF5 file: the numbers in the figures' CSVs and
// the table (relative gains, means over seeds, the best epoch's validation values, Figure 2 equal
// to `compare`'s paired bootstrap), figures skipped when variants are missing, refusals that
// leave no index.html, and the page in a real headless browser (chromium) showing every figure.
#include "experiments/report/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <string>

#include "data/formats/csv_table.h"
#include "data/dataset_info.h"
#include "data/h5.h"
#include "data/hdf5_layout.h"
#include "eval/run_comparison.h"
#include "experiments/report/report_data.h"
#include "experiments/report/figures.h"
#include "experiments/report/plot_text.h"
#include "experiments/report/results_table.h"
#include "tests/test_util.h"

namespace ecg::report {
namespace {

namespace fs = std::filesystem;
using ecg::testing::read_text_file;
using ecg::testing::run_command;
using ecg::testing::run_ecgdist;
using ecg::testing::TempDir;
using ecg::testing::write_text_file;

const std::string kTask = "superdiagnostic";
constexpr int kResamples = 200;

struct HandRun {
  std::string name;
  std::string recipe;
  double drop_path = 0;
  int lp_epochs = 0;
  double fraction = 1.0;
  int seed = 0;
  double auroc = 0, auprc = 0;  // test macro values written into results.json
  int best_stage = 2, best_epoch = 1;
  // history.csv rows: {stage, epoch, val AUROC, val AUPRC}
  std::vector<std::tuple<int, int, double, double>> history;
  std::optional<int> early_stop_epoch;
  double skill = 0.5;  // how well test_predictions.csv separates the labels
  std::string task = kTask;
  std::string root = "runs";               // folder under the test's temp dir
  std::vector<std::string> class_names;    // the predictions' header; empty: the data's classes
  std::string data;                         // settings.data; empty: the fixture's file
};

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string why;
    h5_ = ecg::testing::make_synthetic_h5(*dir_, "s", 200, 5, &why);
    ASSERT_FALSE(h5_.empty()) << why;
    // The test records a run would score: fold 10, with a label of the task.
    const auto info = data::read_dataset_info(h5_);
    const auto labels = data::read_labels(h5_, kTask);
    classes_ = labels.classes;
    for (int64_t i = 0; i < info.n_records; ++i) {
      bool any = false;
      for (size_t k = 0; k < classes_.size(); ++k) any = any || labels.at(i, k);
      if (info.fold[static_cast<size_t>(i)] != 10 || !any) continue;
      ids_.push_back(info.ecg_id[static_cast<size_t>(i)]);
      for (size_t k = 0; k < classes_.size(); ++k) targets_.push_back(labels.at(i, k));
    }
    ASSERT_GT(ids_.size(), 10u);
    const std::vector<std::tuple<int, int, double, double>> lp_ft = {
        {1, 1, 0.60, 0.40}, {2, 1, 0.70, 0.50}, {2, 2, 0.90, 0.60}, {2, 3, 0.85, 0.55}, {2, 4, 0.95, 0.65}};
    const std::vector<std::tuple<int, int, double, double>> ft = {{2, 1, 0.65, 0.45}, {2, 2, 0.75, 0.52}};
    // Post-train seed 0 stopped early at epoch 3 (its best, epoch 2, was tested) and was recorded
    // on to epoch 4 (--record-after-stop): Figure 5 must take epoch 2's values, not the last ones.
    write_run({"pt_s0", "post-train", 0.1, 1, 1.0, 0, 0.85, 0.55, 2, 2, lp_ft, 3, 0.8});
    write_run({"pt_s1", "post-train", 0.1, 1, 1.0, 1, 0.87, 0.57, 2, 1, lp_ft, std::nullopt, 0.8});
    write_run({"ft_s0", "fine-tune", 0, 0, 1.0, 0, 0.80, 0.50, 2, 2, ft, std::nullopt, 0.4});
    write_run({"ft_s1", "fine-tune", 0, 0, 1.0, 1, 0.82, 0.52, 2, 2, ft, std::nullopt, 0.4});
    write_run({"wosd", "post-train", 0, 1, 1.0, 0, 0.83, 0.53, 2, 1, lp_ft, std::nullopt, 0.6});
    write_run({"wolp", "post-train", 0.1, 0, 1.0, 0, 0.82, 0.52, 2, 2, ft, std::nullopt, 0.6});
    write_run({"pt_f01", "post-train", 0.1, 1, 0.1, 0, 0.70, 0.40, 2, 1, lp_ft, std::nullopt, 0.5});
    write_run({"ft_f01", "fine-tune", 0, 0, 0.1, 0, 0.60, 0.30, 2, 1, ft, std::nullopt, 0.3});
    full_ = new ecg::testing::CommandResult(
        run_ecgdist(fmt::format("report {} --out {} --bootstrap {} --seed 7", *dir_ / "runs", *dir_ / "full",
                                kResamples)));
  }
  static void TearDownTestSuite() {
    delete full_;
    delete dir_;
  }

  static void write_run(const HandRun& r) {
    const std::string run = *dir_ / (r.root + "/" + r.name);
    const std::vector<std::string>& names = r.class_names.empty() ? classes_ : r.class_names;
    fs::create_directories(run);
    nlohmann::json results = {
        {"task", r.task},
        {"recipe", r.recipe},
        {"settings",
         {{"recipe", r.recipe}, {"drop_path", r.drop_path}, {"lp_epochs", r.lp_epochs}, {"train_fraction", r.fraction},
          {"seed", r.seed}, {"data", r.data.empty() ? h5_ : r.data}, {"profile", "default"}}},
        {"classes", names},
        {"best_stage", r.best_stage},
        {"best_epoch", r.best_epoch},
        {"stopped_early", r.early_stop_epoch.has_value()},
        {"early_stop_epoch", r.early_stop_epoch ? nlohmann::json(*r.early_stop_epoch) : nlohmann::json()},
        {"test",
         {{"records", ids_.size()}, {"macro_auroc", r.auroc}, {"macro_auroc_ci", {r.auroc - 0.05, r.auroc + 0.04}},
          {"macro_auprc", r.auprc}, {"macro_auprc_ci", {r.auprc - 0.06, r.auprc + 0.05}}}}};
    write_text_file(run + "/results.json", results.dump(1));
    std::string history = "epoch,stage,train_loss,val_macro_auroc,val_macro_auprc,lr,seconds\n";
    for (const auto& [stage, epoch, auroc, auprc] : r.history)
      history += fmt::format("{},{},0.5,{},{},0.0001,1.0\n", epoch, stage, auroc, auprc);
    write_text_file(run + "/history.csv", history);
    std::mt19937 rng(static_cast<unsigned>(r.seed * 31 + static_cast<int>(r.skill * 100) + r.name.size()));
    std::uniform_real_distribution<double> noise(-0.5, 0.5);
    std::string preds = "ecg_id";
    for (const auto& c : names) preds += "," + csv_text(c);
    preds += "\n";
    for (size_t i = 0; i < ids_.size(); ++i) {
      preds += std::to_string(ids_[i]);
      for (size_t k = 0; k < classes_.size(); ++k) {
        const double t = targets_[i * classes_.size() + k];
        preds += fmt::format(",{:.6f}", std::clamp(0.5 + r.skill * (t - 0.5) + noise(rng), 0.0, 1.0));
      }
      preds += "\n";
    }
    write_text_file(run + "/test_predictions.csv", preds);
  }

  // A figure's or the table's CSV, as rows of fields (header first).
  static data::CsvRows csv(const std::string& path) { return data::parse_csv(read_text_file(path), path); }
  static std::string text_of(const std::string& path) { return read_text_file(path); }
  static const std::vector<std::string>& row_of(const data::CsvRows& rows, const std::string& first) {
    for (const auto& r : rows)
      if (!r.empty() && r[0] == first) return r;
    throw std::runtime_error("no row " + first);
  }
  static std::vector<std::string> row_of(const data::CsvRows& rows, const std::string& a, const std::string& b) {
    for (const auto& r : rows)
      if (r.size() > 2 && r[1] == a && r[2] == b) return r;
    throw std::runtime_error("no row " + a + " " + b);
  }

  // Issue 23's injection vectors: task names (results.json) and class names (the data file's
  // label classes) that gnuplot used to run as shell commands. One report over all of them,
  // made on first use.
  static const std::vector<std::string>& hostile_tasks() {
    static const std::vector<std::string> tasks = {
        "t1`touch X1`",
        "t2\";system(\"touch X2\");\"",
        "t3';system('touch X3');'",
        "t4 a,b|c\"<b>\nsecond line @t1",  // no data labels: Figures 4 and 5 only
    };
    return tasks;
  }
  static const std::vector<std::string>& hostile_classes() {
    static const std::vector<std::string> classes = {"CD`touch X4`", "HYP';system('touch X5');'",
                                                     "MI\",system(\"touch X6\"),\"", "'NORM' @png_out", "STTC 50%d\\"};
    return classes;
  }
  // The fixture's file with labels/<task> for the first three hostile tasks (the first with the
  // hostile class names), written through the HDF5 C API as preprocess writes labels.
  static std::string hostile_h5() {
    const std::string out = *dir_ / "hostile.h5";
    fs::copy_file(h5_, out, fs::copy_options::overwrite_existing);
    const data::LabelMatrix labels = data::read_labels(h5_, kTask);
    const hid_t file = H5Fopen(out.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    EXPECT_GE(file, 0);
    const hid_t group = H5Gopen2(file, data::layout::kLabelsGroup, H5P_DEFAULT);
    for (size_t t = 0; t < 3; ++t) {
      const hsize_t dims[2] = {static_cast<hsize_t>(labels.n_records), labels.classes.size()};
      const hid_t space = H5Screate_simple(2, dims, nullptr);
      const hid_t ds = H5Dcreate2(group, hostile_tasks()[t].c_str(), H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT);
      EXPECT_GE(ds, 0) << hostile_tasks()[t];
      EXPECT_GE(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.values.data()), 0);
      data::h5_write_attribute_strings(ds, data::layout::kClassesAttr, t == 0 ? hostile_classes() : labels.classes);
      H5Dclose(ds);
      H5Sclose(space);
    }
    H5Gclose(group);
    H5Fclose(file);
    return out;
  }
  static const ecg::testing::CommandResult& hostile_report() {
    static ecg::testing::CommandResult* result = nullptr;
    if (result) return *result;
    const std::string h5 = hostile_h5();
    const std::vector<std::tuple<int, int, double, double>> lp_ft = {{1, 1, 0.6, 0.4}, {2, 1, 0.7, 0.5}, {2, 2, 0.8, 0.6}};
    const std::vector<std::tuple<int, int, double, double>> ft = {{2, 1, 0.65, 0.45}, {2, 2, 0.75, 0.52}};
    for (size_t t = 0; t < hostile_tasks().size(); ++t) {
      const std::string& task = hostile_tasks()[t];
      const std::vector<std::string> names = t == 0 ? hostile_classes() : std::vector<std::string>{};
      const int ft_seed = t == 3 ? 1 : 0;  // the fourth task has no pair: no Figure 2 (no labels)
      const std::string p = fmt::format("h{}_", t);
      write_run({p + "pt", "post-train", 0.1, 1, 1.0, 0, 0.85, 0.55, 2, 2, lp_ft, std::nullopt, 0.8, task, "hostile", names, h5});
      write_run({p + "ft", "fine-tune", 0, 0, 1.0, ft_seed, 0.80, 0.50, 2, 2, ft, std::nullopt, 0.4, task, "hostile", names, h5});
      write_run({p + "pt5", "post-train", 0.1, 1, 0.5, 0, 0.75, 0.45, 2, 1, lp_ft, std::nullopt, 0.6, task, "hostile", names, h5});
      write_run({p + "ft5", "fine-tune", 0, 0, 0.5, ft_seed, 0.70, 0.40, 2, 1, ft, std::nullopt, 0.3, task, "hostile", names, h5});
      write_run({p + "wosd", "post-train", 0, 1, 1.0, 0, 0.83, 0.53, 2, 1, lp_ft, std::nullopt, 0.6, task, "hostile", names, h5});
      write_run({p + "wolp", "post-train", 0.1, 0, 1.0, 0, 0.82, 0.52, 2, 2, ft, std::nullopt, 0.6, task, "hostile", names, h5});
    }
    // gnuplot runs in the output folder; the shell of a `touch` would run there.
    result = new ecg::testing::CommandResult(
        run_ecgdist(fmt::format("report {} --out {} --bootstrap 20", *dir_ / "hostile", *dir_ / "hostile_out")));
    return *result;
  }
  // Every file named `name` anywhere under the test's folder or in the working directory.
  static std::vector<std::string> files_named(const std::string& name) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(dir_->path()))
      if (e.path().filename() == name) found.push_back(e.path().string());
    if (fs::exists(fs::current_path() / name)) found.push_back((fs::current_path() / name).string());
    return found;
  }
  // The four figures of `task` exist under their derived file names.
  static void expect_figures_of(const std::string& task, bool with_pair) {
    const std::string stem = file_stem(task);
    EXPECT_EQ(stem.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
              std::string::npos)
        << stem;
    std::vector<std::string> figures = {"fig4_data_efficiency_", "fig5_ablation_"};
    if (with_pair) figures.insert(figures.end(), {"fig2_per_label_", "fig3_validation_"});
    for (const auto& fig : figures)
      for (const char* ext : {".png", ".svg", ".csv", ".gp"})
        EXPECT_TRUE(fs::exists(*dir_ / ("hostile_out/" + fig + stem + ext))) << fig << stem << ext;
  }

  static TempDir* dir_;
  static std::string h5_;
  static std::vector<std::string> classes_;
  static std::vector<int64_t> ids_;
  static std::vector<uint8_t> targets_;
  static ecg::testing::CommandResult* full_;
};
TempDir* Report::dir_ = nullptr;
std::string Report::h5_;
std::vector<std::string> Report::classes_;
std::vector<int64_t> Report::ids_;
std::vector<uint8_t> Report::targets_;
ecg::testing::CommandResult* Report::full_ = nullptr;

TEST_F(Report, WritesEveryFigureAndThePage) {
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  for (const char* fig :
       {"fig2_per_label_", "fig3_validation_", "fig4_data_efficiency_", "fig4_differences_", "fig5_ablation_"})
    for (const char* ext : {".png", ".svg", ".csv", ".gp"})
      EXPECT_GT(fs::file_size(*dir_ / ("full/" + std::string(fig) + kTask + ext)), 50u) << fig << ext;
  const std::string page = read_text_file(*dir_ / "full/index.html");
  EXPECT_NE(page.find("<img src=\"fig5_ablation_superdiagnostic.png\" alt=\"Figure 5"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"fig2_per_label_superdiagnostic.svg\">SVG</a>"), std::string::npos);
  EXPECT_NE(page.find(fmt::format("{} resamples", kResamples)), std::string::npos);
  EXPECT_EQ(page.find("http"), std::string::npos) << "the page loads nothing from outside";
  EXPECT_EQ(page.find("not drawn"), std::string::npos);
  // No temp file of gnuplot's left behind.
  for (const auto& e : fs::directory_iterator(*dir_ / "full"))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(Report, TableHasMeansOverSeedsAndGainsOverFineTune) {
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  const auto rows = csv(*dir_ / "full/table.csv");
  ASSERT_EQ(rows[0][0], "task");
  // post-train at 100 %: seeds 0.85 and 0.87 against fine-tune 0.80 and 0.82.
  const auto post = row_of(rows, "post-train", "100");
  EXPECT_EQ(post[3], "2");
  EXPECT_NEAR(std::stod(post[4]), 0.86, 1e-9);
  EXPECT_NEAR(std::stod(post[7]), std::sqrt(0.0002), 1e-6);  // sd of {0.85, 0.87}
  EXPECT_NEAR(std::stod(post[12]), (0.86 - 0.81) / 0.81 * 100, 1e-4);
  EXPECT_NEAR(std::stod(post[13]), (0.56 - 0.51) / 0.51 * 100, 1e-4);
  const auto fine = row_of(rows, "fine-tune", "100");
  EXPECT_EQ(fine[12], "");  // the baseline has no gain over itself
  const auto small = row_of(rows, "post-train", "10");
  EXPECT_NEAR(std::stod(small[12]), (0.70 - 0.60) / 0.60 * 100, 1e-4);
  EXPECT_NEAR(std::stod(small[5]), 0.65, 1e-9);  // one seed: its bootstrap CI
  const std::string md = read_text_file(*dir_ / "full/table.md");
  EXPECT_NE(md.find("| superdiagnostic | post-train | 100 % | 2 | 0.8600 ± 0.0141 (sd, 2 seeds) | +6.17 % |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| superdiagnostic | w/o SD | 100 % | 1 | 0.8300 [0.7800, 0.8700] | +2.47 % |"), std::string::npos)
      << md;
  // The paired columns: post-train at 100 % is paired with fine-tune over both seeds; fine-tune
  // itself is the baseline; the caption says what is paired and how the seeds are pooled.
  ASSERT_EQ(rows[0].size(), 23u);
  EXPECT_EQ(rows[0][14], "paired_seeds");
  EXPECT_EQ(rows[0][15], "d_auroc");
  EXPECT_EQ(post[14], "2");
  EXPECT_LE(std::stod(post[16]), std::stod(post[15]));
  EXPECT_GE(std::stod(post[17]), std::stod(post[15]));
  EXPECT_EQ(row_of(rows, "wo-sd", "100")[14], "1");
  EXPECT_EQ(fine[14], "0");
  EXPECT_EQ(fine[15], "");
  EXPECT_NE(md.find("paired Δ AUROC vs fine-tune [95 % CI]"), std::string::npos) << md;
  EXPECT_NE(md.find("(2 paired seeds) |"), std::string::npos) << md;
  EXPECT_NE(md.find("pooled over seeds"), std::string::npos) << md;
  EXPECT_NE(md.find("applies the same indices to every seed's pair of runs"), std::string::npos) << md;
}

// table.csv's paired difference against an independent numpy computation from the runs'
// test_predictions.csv and the HDF5 labels (tests/experiments/report/paired_oracle.py): post-train
// vs fine-tune at 100 % over seeds 0 and 1. Point estimates to 1e-6; the CI bounds within 0.02,
// the Monte-Carlo error of two 2,000-resample bootstraps from different generators.
TEST_F(Report, PairedDifferenceMatchesNumpy) {
  const std::string out = *dir_ / "paired2000";
  const auto r = run_ecgdist(fmt::format("report {} --out {} --bootstrap 2000 --seed 7", *dir_ / "runs", out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto post = row_of(csv(out + "/table.csv"), "post-train", "100");
  ASSERT_EQ(post[14], "2");
  const auto py = run_command(fmt::format("{} {}/experiments/report/paired_oracle.py {} {} 2000 11 --a {} {} --b {} {}",
                                          ECG_PYTHON, ecg::testing::test_source_dir(), h5_, kTask,
                                          *dir_ / "runs/pt_s0", *dir_ / "runs/pt_s1", *dir_ / "runs/ft_s0",
                                          *dir_ / "runs/ft_s1"));
  ASSERT_EQ(py.exit_code, 0) << py.output;
  const auto oracle = nlohmann::json::parse(py.output);
  EXPECT_EQ(oracle["records"].get<size_t>(), ids_.size());
  EXPECT_NEAR(std::stod(post[15]), oracle["d_auroc"].get<double>(), 1e-6);
  EXPECT_NEAR(std::stod(post[19]), oracle["d_auprc"].get<double>(), 1e-6);
  EXPECT_NEAR(std::stod(post[16]), oracle["d_auroc_ci"][0].get<double>(), 0.02) << py.output;
  EXPECT_NEAR(std::stod(post[17]), oracle["d_auroc_ci"][1].get<double>(), 0.02) << py.output;
  EXPECT_NEAR(std::stod(post[20]), oracle["d_auprc_ci"][0].get<double>(), 0.02) << py.output;
  EXPECT_NEAR(std::stod(post[21]), oracle["d_auprc_ci"][1].get<double>(), 0.02) << py.output;
  // Figure 4's differences carry the same numbers.
  const auto diffs = csv(out + "/fig4_differences_superdiagnostic.csv");
  const auto d100 = row_of(diffs, "post-train");  // 10 % sorts first: find the 100 % row
  bool found = false;
  for (const auto& row : diffs)
    if (row.size() > 3 && row[0] == "post-train" && row[1] == "100") {
      found = true;
      EXPECT_EQ(row[2], "2");
      EXPECT_EQ(row[3], post[15]);
      EXPECT_EQ(row[4], post[16]);
      EXPECT_EQ(row[5], post[17]);
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(d100[1], "10");
}

TEST_F(Report, Figure2EqualsComparesPairedBootstrap) {
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  eval::ComparisonOptions options;
  options.data = h5_;
  options.bootstrap.resamples = kResamples;
  options.bootstrap.seed = 7;
  const auto expected = label_differences(eval::compare_runs(
      {eval::read_run(*dir_ / "runs/ft_s0"), eval::read_run(*dir_ / "runs/pt_s0")}, options));
  const auto rows = csv(*dir_ / "full/fig2_per_label_superdiagnostic.csv");
  ASSERT_EQ(rows.size(), classes_.size() + 1);
  for (size_t k = 0; k < classes_.size(); ++k) {
    const auto& r = rows[k + 1];
    EXPECT_EQ(r[9], classes_[k]);
    EXPECT_EQ(r[1], csv_number(expected[k].auroc));
    EXPECT_EQ(r[2], csv_number(expected[k].auroc_lower));
    EXPECT_EQ(r[3], csv_number(expected[k].auroc_upper));
    EXPECT_EQ(r[7], csv_number(expected[k].auprc_upper));
  }
  // The better predictions of post-train show as positive differences on most labels.
  int positive = 0;
  for (const auto& d : expected) positive += d.evaluable && d.auroc > 0;
  EXPECT_GE(positive, 3);
}

TEST_F(Report, Figure3MarksBestAndEarlyStopAndKeepsEpochsAfterIt) {
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  const auto rows = csv(*dir_ / "full/fig3_validation_superdiagnostic.csv");
  // post-train seed 0: LP epoch at x = 0, fine-tuning 1..4 (4 is after the early stop at 3).
  ASSERT_EQ(rows.size(), 1u + 5 + 2);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"post-train", "0", "1", "1", "0.600000", "0.400000", "0"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"post-train", "2", "2", "2", "0.900000", "0.600000", "1"}));
  EXPECT_EQ(rows[5][1], "4");
  EXPECT_EQ(rows[7], (std::vector<std::string>{"fine-tune", "2", "2", "2", "0.750000", "0.520000", "1"}));
  const std::string gp = read_text_file(*dir_ / "full/fig3_validation_superdiagnostic.gp");
  EXPECT_NE(gp.find("set arrow 1 from 3, graph 0 to 3, graph 1 nohead dt 2"), std::string::npos) << gp;
  EXPECT_NE(gp.find("set label 1 'post-train stop' at 3, graph 0.95"), std::string::npos) << gp;
  EXPECT_NE(gp.find("early stop (epoch 3)"), std::string::npos);
  // The key is outside the plot area (below), not over the curves.
  EXPECT_NE(gp.find("set key outside below"), std::string::npos) << gp;
  EXPECT_EQ(gp.find("bmargin"), std::string::npos) << gp;
}

TEST_F(Report, Figure4AveragesSeedsAndFigure5TakesTheBestEpoch) {
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  const auto fig4 = csv(*dir_ / "full/fig4_data_efficiency_superdiagnostic.csv");
  ASSERT_EQ(fig4.size(), 5u);
  EXPECT_EQ(fig4[1][0], "post-train");
  EXPECT_EQ(fig4[1][1], "10");
  EXPECT_EQ(fig4[2][1], "100");
  EXPECT_EQ(fig4[2][2], "2");
  EXPECT_NEAR(std::stod(fig4[2][3]), 0.86, 1e-9);
  EXPECT_NEAR(std::stod(fig4[4][6]), 0.51, 1e-9);  // fine-tune 100 % AUPRC
  EXPECT_NEAR(std::stod(fig4[2][9]), std::sqrt(0.0002), 1e-6);  // seed sd of {0.85, 0.87}
  // The band: the bootstrap CI of the seed-mean pooled over seeds (not the mean of the seeds'
  // bounds, 0.81 here), from the predictions with the report's resamples and seed.
  {
    const std::vector<eval::RunOutcome> pt = {eval::read_run(*dir_ / "runs/pt_s0"), eval::read_run(*dir_ / "runs/pt_s1")};
    const std::vector<float> targets = eval::read_test_targets(pt, h5_);
    std::vector<eval::LabelScores> models;
    for (const auto& run : pt) {
      eval::LabelScores s;
      s.records = run.ecg_ids.size();
      s.labels = run.classes.size();
      s.scores = run.probs;
      s.targets = targets;
      models.push_back(s);
    }
    eval::BootstrapOptions options;
    options.resamples = kResamples;
    options.seed = 7;
    const eval::SeedPooledReport pooled = eval::seed_pooled_bootstrap(models, {}, options);
    EXPECT_EQ(fig4[2][4], csv_number(pooled.macro_auroc_a_ci.lower));
    EXPECT_EQ(fig4[2][5], csv_number(pooled.macro_auroc_a_ci.upper));
    EXPECT_EQ(fig4[2][8], csv_number(pooled.macro_auprc_a_ci.upper));
  }
  EXPECT_NE(text_of(*dir_ / "full/index.html").find("pooled over seeds"), std::string::npos);
  EXPECT_NE(read_text_file(*dir_ / "full/fig4_data_efficiency_superdiagnostic.gp").find("0.810000 with lines dt 2"),
            std::string::npos);

  const auto fig5 = csv(*dir_ / "full/fig5_ablation_superdiagnostic.csv");
  ASSERT_EQ(fig5.size(), 5u);
  // post-train: seed 0's best is stage 2 epoch 2 (0.90; not epoch 4's 0.95), seed 1's epoch 1 (0.70).
  EXPECT_EQ(fig5[1], (std::vector<std::string>{"post-train", "2", "0.800000", "0.700000", "0.900000", "0.550000",
                                               "0.500000", "0.600000", "0.141421", "0.070711"}));
  EXPECT_EQ(fig5[2][8], "");  // one seed: no sd
  const std::string gp5 = text_of(*dir_ / "full/fig5_ablation_superdiagnostic.gp");
  EXPECT_NE(gp5.find("set yrange [0.5:1]"), std::string::npos) << gp5;
  EXPECT_NE(gp5.find("set yrange [0:1]"), std::string::npos) << gp5;
  EXPECT_NE(gp5.find("(0.5 = chance)"), std::string::npos) << gp5;
  EXPECT_NE(gp5.find("with labels"), std::string::npos) << gp5;
  // The value is printed on each bar: gnuplot drew it into the SVG.
  const std::string svg5 = text_of(*dir_ / "full/fig5_ablation_superdiagnostic.svg");
  EXPECT_NE(svg5.find("0.800"), std::string::npos);
  EXPECT_NE(svg5.find("0.700"), std::string::npos);
  EXPECT_EQ(fig5[2][0], "w/o SD");
  EXPECT_EQ(fig5[2][2], "0.700000");
  EXPECT_EQ(fig5[3][0], "w/o LP");
  EXPECT_EQ(fig5[3][2], "0.750000");
  EXPECT_EQ(fig5[4][0], "fine-tune");
}

TEST_F(Report, SkipsFiguresWhoseRunsAreMissing) {
  const std::string out = *dir_ / "pair";
  const auto r = run_ecgdist(fmt::format("report {} {} --out {} --bootstrap 50 --data {}", *dir_ / "runs/pt_s0",
                                         *dir_ / "runs/ft_s0", out, h5_));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("skipped Figure 4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("skipped Figure 5 (superdiagnostic): no wo-sd, wo-lp runs"), std::string::npos);
  EXPECT_TRUE(fs::exists(out + "/fig2_per_label_superdiagnostic.png"));
  EXPECT_FALSE(fs::exists(out + "/fig5_ablation_superdiagnostic.png"));
  const std::string page = read_text_file(out + "/index.html");
  EXPECT_NE(page.find("Figures not drawn"), std::string::npos);
  EXPECT_NE(page.find("Figure 5 (superdiagnostic): no wo-sd, wo-lp runs at fraction 100 %"), std::string::npos);
}

TEST_F(Report, RefusesWithOneLineAndNoPage) {
  // No finished run.
  fs::create_directories(*dir_ / "nothing/sub");
  auto r = run_ecgdist(fmt::format("report {} --out {}", *dir_ / "nothing", *dir_ / "none"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, fmt::format("ecgdist: error: report: no finished runs (a folder with results.json) under {}\n",
                                  *dir_ / "nothing"));
  EXPECT_FALSE(fs::exists(*dir_ / "none/index.html"));

  // gnuplot missing.
  r = run_ecgdist(fmt::format("report {} --out {} --gnuplot /nonexistent/gnuplot", *dir_ / "runs/pt_s0",
                              *dir_ / "nognuplot"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("gnuplot not found ('/nonexistent/gnuplot'): apt install gnuplot-nox"), std::string::npos)
      << r.output;

  // gnuplot failing: the error names the script; an older page is gone, not left looking complete.
  fs::create_directories(*dir_ / "failing");
  write_text_file(*dir_ / "failing/index.html", "<html>an older report</html>");
  r = run_ecgdist(fmt::format("report {} --out {} --bootstrap 20 --gnuplot /bin/false", *dir_ / "runs",
                              *dir_ / "failing"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("ecgdist: error: gnuplot failed (exit 1) on " + *dir_ / "failing/fig2_per_label_superdiagnostic.gp"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(*dir_ / "failing/index.html"));

  // The labels' file gone: named, with the way out.
  r = run_ecgdist(fmt::format("report {} {} --out {}", *dir_ / "runs/pt_s0", *dir_ / "runs/ft_s0", *dir_ / "nodata"));
  ASSERT_EQ(r.exit_code, 0) << r.output;  // settings.data is the absolute path of the file
  const std::string moved = *dir_ / "runs_moved";
  fs::create_directories(moved);
  for (const char* run : {"pt_s0", "ft_s0"}) {
    fs::copy(*dir_ / ("runs/" + std::string(run)), moved + "/" + run);
    auto results = nlohmann::json::parse(read_text_file(moved + "/" + run + "/results.json"));
    results["settings"]["data"] = "gone.h5";
    write_text_file(moved + "/" + run + "/results.json", results.dump());
  }
  r = run_ecgdist(fmt::format("report {} --out {}", moved, *dir_ / "nodata2"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("results.json: settings.data 'gone.h5' not found; pass --data FILE.h5"), std::string::npos)
      << r.output;
}

TEST(ReportData, RelativeGainAndCells) {
  EXPECT_NEAR(relative_gain_pct(0.9, 0.8), 12.5, 1e-12);
  EXPECT_TRUE(std::isnan(relative_gain_pct(0.9, kNaN)));
  EXPECT_TRUE(std::isnan(relative_gain_pct(0.9, 0)));
  CellMetric one;
  one.seeds = 1;
  one.mean = 0.8;
  EXPECT_EQ(format_cell(one), "0.8000 [CI n/a]");
  EXPECT_EQ(format_gain(-0.5, false), "-0.50 %");
  EXPECT_EQ(format_gain(kNaN, true), "baseline");
  EXPECT_EQ(format_gain(kNaN, false), "n/a");
}

// --- the page in a real browser ---------------------------------------------------------------

// Whether the PNG at `path` has more than a handful of distinct colours (a page of text and
// plots, not a blank or single-colour screenshot). Decoded with Python's zlib: no image library.
int distinct_colours(const std::string& path) {
  const auto r = ecg::testing::run_python(R"(
import struct, sys, zlib
data = open()" + std::string("'") + path + R"(', 'rb').read()
pos, idat, w, h, ctype = 8, b'', 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT': idat += body
bpp = {2: 3, 6: 4, 0: 1, 4: 2}[ctype]; raw = zlib.decompress(idat); stride = w * bpp
prev, colours = bytearray(stride), set()
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0: colours.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp * 4))
    prev = line
print(len(colours))
)");
  return r.exit_code == 0 ? std::stoi(r.output) : -1;
}

TEST_F(Report, HeadlessBrowserShowsEveryFigure) {
  if (ecg::testing::run_command("command -v chromium").exit_code != 0) GTEST_SKIP() << "chromium not installed";
  ASSERT_EQ(full_->exit_code, 0) << full_->output;
  const std::string page = "file://" + *dir_ / "full/index.html";
  const std::string chromium = fmt::format(
      "timeout -k 5 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir={} ",
      *dir_ / "chromium-profile");
  const auto dom = run_command(chromium + "--virtual-time-budget=5000 --dump-dom " + page + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  EXPECT_NE(dom.output.find("data-images-loaded=\"5/5\""), std::string::npos) << dom.output.substr(0, 2000);

  const std::string shot = *dir_ / "shot.png";
  const auto r = run_command(chromium + "--screenshot=" + shot + " --window-size=1200,1600 " + page);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(shot)) << r.output;
  EXPECT_GT(fs::file_size(shot), 20000u);
  EXPECT_GT(distinct_colours(shot), 20) << "the screenshot looks blank";
}

// --- Issue 23: text from the inputs is data, never gnuplot or shell code ---

TEST_F(Report, BackquotesInATaskNameRunNothing) {
  const auto& r = hostile_report();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(files_named("X1"), std::vector<std::string>{});
  expect_figures_of(hostile_tasks()[0], true);
  // The title is a single-quoted gnuplot literal holding the name as it is.
  const std::string gp = text_of(*dir_ / ("hostile_out/fig3_validation_" + file_stem(hostile_tasks()[0]) + ".gp"));
  EXPECT_NE(gp.find("title 't1`touch X1`: validation macro metrics"), std::string::npos) << gp;
}

TEST_F(Report, DoubleQuotedSystemCallInATaskNameRunsNothing) {
  const auto& r = hostile_report();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(files_named("X2"), std::vector<std::string>{});
  expect_figures_of(hostile_tasks()[1], true);
}

TEST_F(Report, SingleQuotedSystemCallInATaskNameRunsNothing) {
  const auto& r = hostile_report();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(files_named("X3"), std::vector<std::string>{});
  expect_figures_of(hostile_tasks()[2], true);
  const std::string gp = text_of(*dir_ / ("hostile_out/fig4_data_efficiency_" + file_stem(hostile_tasks()[2]) + ".gp"));
  EXPECT_NE(gp.find(R"('t3'."\047".';system('."\047".'touch X3'."\047".');'."\047".': test macro metrics)"), std::string::npos)
      << gp;
}

TEST_F(Report, ClassNamesOnFigure2AreDrawnNotRun) {
  const auto& r = hostile_report();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* canary : {"X4", "X5", "X6"}) EXPECT_EQ(files_named(canary), std::vector<std::string>{}) << canary;
  // gnuplot drew the names as given: they are in the SVG's text.
  const std::string svg = text_of(*dir_ / ("hostile_out/fig2_per_label_" + file_stem(hostile_tasks()[0]) + ".svg"));
  EXPECT_NE(svg.find("CD`touch X4`"), std::string::npos);
  EXPECT_NE(svg.find("NORM"), std::string::npos);
  EXPECT_NE(svg.find(" @png_out"), std::string::npos);  // not expanded as a gnuplot macro
  // Each label is the last field of its row, whole, and the numbers before it stay in place.
  const auto rows = csv(*dir_ / ("hostile_out/fig2_per_label_" + file_stem(hostile_tasks()[0]) + ".csv"));
  ASSERT_EQ(rows.size(), hostile_classes().size() + 1);
  for (size_t k = 0; k < hostile_classes().size(); ++k) {
    ASSERT_EQ(rows[k + 1].size(), 10u);
    EXPECT_EQ(rows[k + 1][9], hostile_classes()[k]);
  }
}

TEST_F(Report, ControlCharactersAndSeparatorsInATaskNameKeepFilesWhole) {
  const auto& r = hostile_report();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& task = hostile_tasks()[3];
  expect_figures_of(task, false);
  // The newline cannot end the gnuplot command or the script's comment line.
  const std::string gp = text_of(*dir_ / ("hostile_out/fig5_ablation_" + file_stem(task) + ".gp"));
  EXPECT_NE(gp.find("'t4 a,b|c\"<b>?second line @t1: ablations"), std::string::npos) << gp;
  // table.csv: the name is one quoted field; table.md: '|' escaped, HTML as entities, one line.
  const auto rows = csv(*dir_ / "hostile_out/table.csv");
  size_t found = 0;
  for (const auto& row : rows) {
    EXPECT_EQ(row.size(), rows[0].size());
    found += !row.empty() && row[0] == task;
  }
  EXPECT_EQ(found, 6u);  // post-train and fine-tune at 100 % and 50 %, w/o SD, w/o LP
  const std::string md = text_of(*dir_ / "hostile_out/table.md");
  // Each of its six rows is one line starting with the escaped name.
  size_t rows_md = 0;
  for (size_t at = md.find("| t4 a,b\\|c\"&lt;b&gt; second line @t1 |"); at != std::string::npos;
       at = md.find("| t4 a,b\\|c\"&lt;b&gt; second line @t1 |", at + 1)) {
    EXPECT_EQ(md[at - 1], '\n');
    ++rows_md;
  }
  EXPECT_EQ(rows_md, 6u) << md;
}

TEST(PlotText, LiteralsAndFileStems) {
  EXPECT_EQ(gnuplot_literal("a'b`c`\n"), R"('a'."\047".'b`c`?')");
  // Neither '' (three leading quotes are misread) nor "'" (macros after it would expand).
  EXPECT_EQ(gnuplot_literal("'x @y"), R"(''."\047".'x @y')");
  EXPECT_EQ(file_stem("superdiagnostic"), "superdiagnostic");
  EXPECT_NE(file_stem("a b"), file_stem("a_b"));
  EXPECT_EQ(file_stem("a b").substr(0, 4), "a_b-");
  EXPECT_EQ(file_stem("t1`touch X`"), "t1_touch_X_-67fca964");  // docs/report.md's example
  EXPECT_EQ(file_stem("-rf").substr(0, 4), "_rf-");   // never an option-like name
  EXPECT_EQ(file_stem("").size(), 9u);                 // "x" + 8 hex digits
  EXPECT_LE(file_stem(std::string(5000, 'a')).size(), 49u);
  EXPECT_NO_THROW(check_distinct_stems({"a", "a", "a b", "a_b"}, "tasks"));  // the same text is one task
}

}  // namespace
}  // namespace ecg::report
