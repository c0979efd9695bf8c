// The embedded SCP statement table is the real PTB-XL one, parsed with the right flags, and bad
// tables fail with one line naming the file and the fault.
#include "data/formats/scp_statements.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.h"
#include "tests/test_util.h"

namespace ecg::data {
namespace {

TEST(ScpStatements, EmbeddedTableIsTheRealPtbxlTable) {
  // Byte-identical to the fixture copied from PTB-XL.
  EXPECT_EQ(embedded_scp_statements_csv(),
            testing::read_text_file(testing::ptbxl_fixture_dir() + "/scp_statements.csv"));
  EXPECT_NE(embedded_scp_statements_notice().find("CC BY 4.0"), std::string::npos);

  const auto table = parse_scp_statements(embedded_scp_statements_csv(), "embedded");
  ASSERT_EQ(table.size(), 71u);
  std::set<std::string> classes, subclasses, codes;
  int diagnostic = 0, form = 0, rhythm = 0;
  for (const auto& s : table) {
    codes.insert(s.code);
    diagnostic += s.diagnostic;
    form += s.form;
    rhythm += s.rhythm;
    if (s.diagnostic) {
      classes.insert(s.diagnostic_class);
      subclasses.insert(s.diagnostic_subclass);
    } else {
      EXPECT_TRUE(s.diagnostic_class.empty()) << s.code;
    }
  }
  EXPECT_EQ(codes.size(), 71u);
  EXPECT_EQ(diagnostic, 44);
  EXPECT_EQ(form, 19);
  EXPECT_EQ(rhythm, 12);
  EXPECT_EQ(classes, (std::set<std::string>{"CD", "HYP", "MI", "NORM", "STTC"}));
  EXPECT_EQ(subclasses.size(), 23u);
}

TEST(ScpStatements, FlagsClassesAndQuotedFields) {
  const auto table = parse_scp_statements(embedded_scp_statements_csv(), "embedded");
  std::map<std::string, ScpStatement> by_code;
  for (const auto& s : table) by_code[s.code] = s;
  // NDT is both diagnostic and form (4 such codes in PTB-XL make 44 + 19 + 12 > 71).
  EXPECT_TRUE(by_code.at("NDT").diagnostic);
  EXPECT_TRUE(by_code.at("NDT").form);
  EXPECT_FALSE(by_code.at("NDT").rhythm);
  EXPECT_EQ(by_code.at("IMI").diagnostic_class, "MI");
  EXPECT_EQ(by_code.at("IMI").diagnostic_subclass, "IMI");
  EXPECT_EQ(by_code.at("ASMI").diagnostic_subclass, "AMI");
  EXPECT_EQ(by_code.at("LAFB").diagnostic_subclass, "LAFB/LPFB");
  EXPECT_TRUE(by_code.at("AFIB").rhythm);
  EXPECT_FALSE(by_code.at("AFIB").diagnostic);
  EXPECT_TRUE(by_code.at("PVC").form);
  // A description with a quoted comma stays one field.
  EXPECT_EQ(by_code.at("BIGU").description,
            "bigeminal pattern (unknown origin, SV or Ventricular)");
  EXPECT_EQ(by_code.at("1AVB").statement_category,
            "Sinus node dysfunction, atrial and AV-conduction defects");
}

TEST(ScpStatements, ReadsFromFile) {
  const auto table = read_scp_statements(testing::ptbxl_fixture_dir() + "/scp_statements.csv");
  EXPECT_EQ(table.size(), 71u);
}

std::string error_of(const std::string& csv) {
  try {
    parse_scp_statements(csv, "bad.csv");
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

TEST(ScpStatements, BadTablesFailWithOneLineNamingFileAndField) {
  const std::string header =
      ",description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass\n";
  auto msg =
      error_of(",description,diagnostic,form,diagnostic_class,diagnostic_subclass\nX,x,1.0,,A,B\n");
  EXPECT_NE(msg.find("bad.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'rhythm'"), std::string::npos) << msg;
  msg = error_of(header + "X,x,yes,,,A,B\n");
  EXPECT_NE(msg.find("'diagnostic'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("X"), std::string::npos) << msg;
  msg = error_of(header + "X,x,1.0,,,A\n");
  EXPECT_NE(msg.find("row 2"), std::string::npos) << msg;
  msg = error_of(header + "X,x,1.0,,,,\n");
  EXPECT_NE(msg.find("diagnostic_class"), std::string::npos) << msg;
  msg = error_of(header + "X,x,,1.0,,,\nX,y,,1.0,,,\n");
  EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
  msg = error_of(header + "X,\"x,,1.0,,,\n");
  EXPECT_NE(msg.find("malformed"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_THROW(read_scp_statements("/nonexistent/scp_statements.csv"), Error);
  // Flags written as integers are accepted too.
  EXPECT_TRUE(parse_scp_statements(header + "X,x,1,0,,A,B\n", "ok.csv").front().diagnostic);
}

}  // namespace
}  // namespace ecg::data
