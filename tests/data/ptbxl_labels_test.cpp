// ptbxl_database.csv parsing (scp_codes dicts, ids, folds) and task label derivation with the real
// scp_statements.csv.
#include <gtest/gtest.h>

#include <algorithm>  // std::is_sorted: GCC 14 (Debian 13) no longer pulls it in via <gtest>

#include "common/error.h"
#include "data/hdf5_layout.h"
#include "data/formats/labels.h"
#include "data/formats/ptbxl_database.h"
#include "data/formats/scp_statements.h"
#include "tests/test_util.h"

namespace {

const std::string kHeader = "ecg_id,patient_id,scp_codes,strat_fold,filename_lr,filename_hr\n";

TEST(PtbxlDatabase, ParsesScpCodeDicts) {
  const auto codes = ecg::data::parse_scp_codes("{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}", "x");
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_DOUBLE_EQ(codes.at("NORM"), 100.0);
  EXPECT_DOUBLE_EQ(codes.at("SR"), 0.0);
  EXPECT_TRUE(ecg::data::parse_scp_codes("{}", "x").empty());
  EXPECT_EQ(ecg::data::parse_scp_codes(" { \"IMI\" :35 , 'NST_':50.5 } ", "x").size(), 2u);
  for (const char* bad :
       {"", "{'NORM' 100}", "{'NORM': }", "{'NORM': 1", "{NORM: 1}", "{'A': 1}x"}) {
    EXPECT_THROW(ecg::data::parse_scp_codes(bad, "x"), ecg::Error) << bad;
  }
}

TEST(PtbxlDatabase, ParsesRowsSortedById) {
  const std::string csv = kHeader +
                          "2,15709.0,\"{'NORM': 100.0, 'SR': 0.0}\",3,records100/00000/00002_lr,"
                          "records500/00000/00002_hr\n"
                          "1,13243.0,\"{'IMI': 35.0}\",10,records100/00000/00001_lr,"
                          "records500/00000/00001_hr\n";
  const auto rows = ecg::data::parse_ptbxl_database(csv, "db.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].ecg_id, 1);
  EXPECT_EQ(rows[0].patient_id, 13243);
  EXPECT_EQ(rows[0].fold, 10);
  EXPECT_EQ(rows[0].filename_hr, "records500/00000/00001_hr");
  EXPECT_EQ(rows[1].scp_codes.size(), 2u);
}

TEST(PtbxlDatabase, MissingColumnAndBadValuesNamed) {
  auto expect_error = [](const std::string& csv, const std::string& fragment) {
    try {
      ecg::data::parse_ptbxl_database(csv, "db.csv");
      FAIL() << "accepted: " << csv;
    } catch (const ecg::Error& e) {
      EXPECT_NE(e.message().find("db.csv"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
    }
  };
  expect_error("ecg_id,patient_id,scp_codes,filename_lr,filename_hr\n1,2,{},a,b\n",
               "missing column 'strat_fold'");
  expect_error(kHeader + "1,2,{},11,a,b\n", "strat_fold 11");
  expect_error(kHeader + "x,2,{},1,a,b\n", "ecg_id");
  expect_error(kHeader + "1,2,{},1,a,b\n1,3,{},1,a,b\n", "appears twice");
  expect_error(kHeader + "1,2,\"{'NORM' 1}\",1,a,b\n", "scp_codes");
}

TEST(Labels, FollowThePtbxlBenchmark) {
  const ecg::data::ScpTable table(
      ecg::data::read_scp_statements(ecg::testing::ptbxl_fixture_dir() + "/scp_statements.csv"));
  // IMI (diagnostic, MI/IMI) with likelihood 0 still counts; SR is rhythm; LVOLT is form.
  const std::map<std::string, double> rec = {
      {"IMI", 0.0}, {"NST_", 50.0}, {"SR", 0.0}, {"LVOLT", 0.0}};
  using S = std::set<std::string>;
  EXPECT_EQ(ecg::data::task_classes(rec, table, "all"), (S{"IMI", "LVOLT", "NST_", "SR"}));
  EXPECT_EQ(ecg::data::task_classes(rec, table, "diagnostic"), (S{"IMI", "NST_"}));
  EXPECT_EQ(ecg::data::task_classes(rec, table, "subdiagnostic"), (S{"IMI", "NST_"}));
  EXPECT_EQ(ecg::data::task_classes(rec, table, "superdiagnostic"), (S{"MI", "STTC"}));
  EXPECT_EQ(ecg::data::task_classes(rec, table, "form"), (S{"LVOLT", "NST_"}));
  EXPECT_EQ(ecg::data::task_classes(rec, table, "rhythm"), (S{"SR"}));
  EXPECT_EQ(ecg::data::unknown_codes({{"NOPE", 1.0}, {"NORM", 1.0}}, table),
            std::vector<std::string>{"NOPE"});
}

TEST(Labels, AllCodesGiveThePtbxlClassCounts) {
  const auto statements =
      ecg::data::read_scp_statements(ecg::testing::ptbxl_fixture_dir() + "/scp_statements.csv");
  const ecg::data::ScpTable table(statements);
  std::vector<std::map<std::string, double>> records;
  for (const auto& s : statements) records.push_back({{s.code, 100.0}});
  records.push_back({});  // a record without any code: all-zero rows, counted
  std::vector<const std::map<std::string, double>*> ptrs;
  for (const auto& r : records) ptrs.push_back(&r);
  const std::map<std::string, size_t> want = {{"all", 71},           {"diagnostic", 44},
                                              {"subdiagnostic", 23}, {"superdiagnostic", 5},
                                              {"form", 19},          {"rhythm", 12}};
  for (const auto& task : ecg::data::layout::kTasks) {
    const auto labels = ecg::data::derive_task_labels(ptrs, table, task);
    EXPECT_EQ(labels.classes.size(), want.at(task)) << task;
    EXPECT_TRUE(std::is_sorted(labels.classes.begin(), labels.classes.end()));
    EXPECT_EQ(labels.matrix.size(), records.size() * labels.classes.size());
    EXPECT_EQ(labels.records_without_label,
              static_cast<int64_t>(records.size()) -
                  static_cast<int64_t>(task == "all" ? 71
                                       : task == "diagnostic" || task == "subdiagnostic" ||
                                               task == "superdiagnostic"
                                           ? 44
                                       : task == "form" ? 19
                                                        : 12))
        << task;
  }
  const auto super = ecg::data::derive_task_labels(ptrs, table, "superdiagnostic");
  EXPECT_EQ(super.classes, (std::vector<std::string>{"CD", "HYP", "MI", "NORM", "STTC"}));
}

}  // namespace
