// ptbxl_database.csv, scp_statements.csv and the CSV layer against hostile files: huge fields, too
// many cells, ids and folds out of range, garbage scp_codes, record paths that leave the dataset.
// Each fails with one ecg::Error line naming the file and the row, field or limit.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "common/error.h"
#include "data/formats/csv_table.h"
#include "data/formats/ptbxl_database.h"
#include "data/formats/scp_statements.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::TempDir;

const std::string kHeader = "ecg_id,patient_id,scp_codes,strat_fold,filename_lr,filename_hr\n";

void expect_error(const std::function<void()>& read, const std::vector<std::string>& fragments) {
  SCOPED_TRACE(fragments.front());
  try {
    read();
    ADD_FAILURE() << "no error; expected " << fragments.front();
  } catch (const ecg::Error& e) {
    for (const auto& f : fragments) {
      EXPECT_NE(e.message().find(f), std::string::npos) << "'" << f << "' not in: " << e.message();
    }
    EXPECT_EQ(e.message().find_first_of("\n\r"), std::string::npos) << e.message();
    EXPECT_LT(e.message().size(), 400u) << e.message();
  }
}

void expect_db_error(const std::string& rows, const std::vector<std::string>& fragments) {
  auto with_file = fragments;
  with_file.push_back("db.csv");
  expect_error([&] { ecg::data::parse_ptbxl_database(kHeader + rows, "db.csv"); }, with_file);
}

TEST(PtbxlCsvHostile, FoldAndIdsOutOfRangeNameTheRow) {
  const std::string ok = "1,2,{},3,a,b\n";
  for (const char* fold : {"0", "11", "-1", "1e300", "nan", "3.5", "0x3"}) {
    expect_db_error(ok + "2,2,{}," + std::string(fold) + ",a,b\n", {"row 3", "strat_fold"});
  }
  expect_db_error(ok + "2,2,{},11,a,b\n", {"row 3", "strat_fold 11 outside 1..10"});
  // 1e300 used to reach a double -> int64 conversion, which is undefined behaviour.
  expect_db_error("1e300,2,{},3,a,b\n", {"row 2", "ecg_id 1e300 outside 1..2147483647"});
  expect_db_error("0,2,{},3,a,b\n", {"row 2", "ecg_id 0 outside"});
  expect_db_error("0x10,2,{},3,a,b\n", {"row 2", "ecg_id"});
  expect_db_error("1,-7,{},3,a,b\n", {"row 2", "patient_id -7 outside"});
  expect_db_error("1,2,{},3\n", {"row 2", "4 fields, header has 6"});
}

TEST(PtbxlCsvHostile, RecordPathsStayInsideTheDataset) {
  expect_db_error("1,2,{},3,../../etc/passwd,b\n", {"row 2", "filename_lr", "../../etc/passwd"});
  expect_db_error("1,2,{},3,a,/dev/zero\n", {"row 2", "filename_hr", "/dev/zero"});
  expect_db_error("1,2,{},3,records100/,b\n", {"row 2", "filename_lr"});
  // Empty names stay allowed: preprocess reports or skips those records itself.
  EXPECT_EQ(ecg::data::parse_ptbxl_database(kHeader + "1,2,{},3,,\n", "db.csv").size(), 1u);
}

TEST(PtbxlCsvHostile, ScpCodesGarbage) {
  expect_db_error("1,2,\"{'NORM': -5}\",3,a,b\n", {"row 2", "likelihood -5 outside 0..100"});
  expect_db_error("1,2,\"{'NORM': 1e308}\",3,a,b\n", {"row 2", "outside 0..100"});
  expect_db_error("1,2,\"{'NORM': inf}\",3,a,b\n", {"row 2", "scp_codes"});
  // A long garbage dict is quoted clipped, with its length.
  const std::string junk = "{'A': 1, " + std::string(100000, '\'') + "}";
  expect_db_error("1,2,\"" + junk + "\",3,a,b\n", {"row 2", "scp_codes", "bytes)"});
  for (const char* bad : {"{", "}", "{'A':1,}", "{'A' : 1 'B': 2}", "{'': 1}", "{'A': 1, 'A': 2}",
                          "{\"A': 1}", "{'A': 1}}", "{'A': .}", "{'A\x01': 1"}) {
    expect_error([&] { ecg::data::parse_scp_codes(bad, "db.csv row 9"); }, {"db.csv row 9"});
  }
}

TEST(PtbxlCsvHostile, CsvLimitsNameTheLimit) {
  // A field over 1 MiB.
  expect_db_error("1,2,{},3," + std::string((1 << 20) + 1, 'a') + ",b\n",
                  {"row 2", "field of 1048577 bytes", "limit of 1048576 bytes"});
  ecg::data::CsvLimits small;
  small.max_fields_per_row = 8;
  small.max_cells = 20;
  expect_error([&] { ecg::data::parse_csv(std::string(20, ',') + "\n", "t.csv", small); },
               {"t.csv", "row 1", "limit of 8 fields"});
  std::string many;
  for (int r = 0; r < 10; ++r) many += "a,b,c\n";
  expect_error([&] { ecg::data::parse_csv(many, "t.csv", small); },
               {"t.csv", "limit of 20 fields in all rows"});
  EXPECT_EQ(ecg::data::parse_csv("a,b,c\nd,e,f\n", "t.csv", small).size(), 2u);
  // Malformed quoting names the row; a field split over libcsv's chunks still parses.
  expect_error([&] { ecg::data::parse_csv("a,b\nc,\"d\ne\"x\n", "t.csv"); },
               {"t.csv", "malformed"});
  const std::string big(200000, 'q');
  const auto rows = ecg::data::parse_csv("x,\"" + big + "\",y\n", "t.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1], big);
}

TEST(PtbxlCsvHostile, FilesOverTheSizeLimitAreNotRead) {
  TempDir dir;
  // Sparse files: the size check refuses them before a byte is read.
  const std::string db = dir / "ptbxl_database.csv";
  ecg::testing::write_text_file(db, kHeader);
  fs::resize_file(db, (uintmax_t{256} << 20) + 1);
  expect_error([&] { ecg::data::read_ptbxl_database(db); },
               {db, "PTB-XL database", "limit of 268435456 bytes"});
  const std::string scp = dir / "scp_statements.csv";
  ecg::testing::write_text_file(scp, "");
  fs::resize_file(scp, (uintmax_t{1} << 20) + 1);
  expect_error([&] { ecg::data::read_scp_statements(scp); },
               {scp, "SCP statement table", "limit of 1048576 bytes"});
  fs::create_directories(dir / "adir");
  expect_error([&] { ecg::data::read_ptbxl_database(dir / "adir"); }, {"not a regular file"});
  expect_error([&] { ecg::data::read_ptbxl_database(dir / "nope.csv"); },
               {"cannot open PTB-XL database", "nope.csv"});
}

TEST(PtbxlCsvHostile, ScpStatementGarbageIsClipped) {
  const std::string header =
      ",description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass\n";
  const std::string flag(50000, 'z');
  expect_error(
      [&] { ecg::data::parse_scp_statements(header + "X,x," + flag + ",,,A,B\n", "s.csv"); },
      {"s.csv", "'diagnostic'", "50000 bytes"});
}

}  // namespace
