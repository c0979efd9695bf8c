// `ecgdist preprocess` end to end on small PTB-XL-shaped directories: layout, ids, folds, labels
// (cross-checked with h5py + Python's csv/ast), signals, lead reordering, every bad input's
// one-line error with no output left behind, --skip-bad-records, and `ecgdist inspect`.
#include "data/preprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.h"
#include "data/dataset_info.h"
#include "data/hdf5_layout.h"
#include "data/formats/scp_statements.h"
#include "tests/data/ptbxl_fixture.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::FixtureRecord;
using ecg::testing::TempDir;

std::vector<std::string> real_codes() {
  std::vector<std::string> out;
  for (const auto& s :
       ecg::data::read_scp_statements(ecg::testing::ptbxl_fixture_dir() + "/scp_statements.csv")) {
    out.push_back(s.code);
  }
  return out;
}

// 71 records, record i carrying code i (likelihood 100) and code 7i+3 mod 71 (likelihood 0, which
// still counts), plus one record without any code. Patients 1000+id, except pairs sharing a fold.
std::vector<FixtureRecord> all_codes_records() {
  const auto codes = real_codes();
  std::vector<FixtureRecord> recs;
  for (size_t i = 0; i < codes.size(); ++i) {
    const int64_t id = static_cast<int64_t>(i) + 1;
    const int fold = static_cast<int>(i % 10) + 1;
    const int64_t patient = i >= 10 && i < 20 ? 1000 + id - 10 : 1000 + id;  // same fold as id-10
    const std::string& second = codes[(7 * i + 3) % codes.size()];
    const std::string extra = second == codes[i] ? "" : ", '" + second + "': 0.0";
    recs.push_back({id, patient, fold, "{'" + codes[i] + "': 100.0" + extra + "}"});
  }
  recs.push_back({static_cast<int64_t>(codes.size()) + 1, 5000, 10, "{}"});
  return recs;
}

class PreprocessRoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ecg::testing::write_ptbxl_fixture(*dir_ / "ptbxl", all_codes_records());
    out_ = *dir_ / "out.h5";
    result_ = new ecg::testing::CommandResult(
        ecg::testing::run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + out_ +
                                  " --sampling-rate 100 --target-rate 250 --threads 2"));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  static TempDir* dir_;
  static std::string out_;
  static ecg::testing::CommandResult* result_;
};
TempDir* PreprocessRoundTrip::dir_ = nullptr;
std::string PreprocessRoundTrip::out_;
ecg::testing::CommandResult* PreprocessRoundTrip::result_ = nullptr;

TEST_F(PreprocessRoundTrip, LayoutIdsAndFolds) {
  ASSERT_EQ(result_->exit_code, 0) << result_->output;
  const auto info = ecg::data::read_dataset_info(out_);
  EXPECT_EQ(info.n_records, 72);
  EXPECT_EQ(info.n_samples, 2500);
  EXPECT_EQ(info.sampling_rate, 250);
  EXPECT_EQ(info.leads, std::vector<std::string>(ecg::data::layout::kLeadOrder.begin(),
                                                 ecg::data::layout::kLeadOrder.end()));
  EXPECT_EQ(info.source, *dir_ / "ptbxl");
  EXPECT_EQ(info.manifest.source_rate, 100);
  EXPECT_EQ(info.manifest.target_rate, 250);
  EXPECT_TRUE(info.manifest.filter);
  EXPECT_EQ(info.manifest.normalization, "record");
  const auto recs = all_codes_records();
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(info.ecg_id[i], recs[i].ecg_id);
    EXPECT_EQ(info.patient_id[i], recs[i].patient_id);
    EXPECT_EQ(info.fold[i], recs[i].fold);
  }
  EXPECT_EQ(ecg::data::describe_mismatch(ecg::data::read_manifest(out_), info.manifest), "");
  // No temp file left beside the output.
  for (const auto& e : fs::directory_iterator(dir_->path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);
  }
}

TEST_F(PreprocessRoundTrip, LabelCountsOfAllCodes) {
  ASSERT_EQ(result_->exit_code, 0) << result_->output;
  const std::map<std::string, size_t> want = {{"all", 71},           {"diagnostic", 44},
                                              {"subdiagnostic", 23}, {"superdiagnostic", 5},
                                              {"form", 19},          {"rhythm", 12}};
  for (const auto& task : ecg::data::layout::kTasks) {
    const auto m = ecg::data::read_labels(out_, task);
    EXPECT_EQ(m.classes.size(), want.at(task)) << task;
    EXPECT_EQ(m.n_records, 72);
    EXPECT_GE(m.records_without_label(), 1);  // the record without codes
  }
  EXPECT_EQ(ecg::data::read_labels(out_, "all").records_without_label(), 1);
  EXPECT_THROW(ecg::data::read_labels(out_, "nope"), ecg::Error);
}

TEST_F(PreprocessRoundTrip, LabelsAndSignalsMatchPythonOracle) {
  ASSERT_EQ(result_->exit_code, 0) << result_->output;
  const std::string dir = *dir_ / "ptbxl";
  const auto py = ecg::testing::run_python(R"PY(
import ast, csv, h5py, numpy as np
d = ')PY" + dir + R"PY('
f = h5py.File(')PY" + out_ + R"PY(', 'r')
db = sorted(csv.DictReader(open(d + '/ptbxl_database.csv')), key=lambda r: int(r['ecg_id']))
st = list(csv.reader(open(d + '/scp_statements.csv')))
table = {r[0]: dict(zip(st[0], r)) for r in st[1:]}
assert list(f['ecg_id'][:]) == [int(r['ecg_id']) for r in db]
assert list(f['fold'][:]) == [int(r['strat_fold']) for r in db]
assert f['fold'].dtype == np.int8 and f['ecg_id'].dtype == np.int64
for task in ['all', 'diagnostic', 'subdiagnostic', 'superdiagnostic', 'form', 'rhythm']:
    per = []
    for r in db:
        s = set()
        for c in ast.literal_eval(r['scp_codes']):
            t = table[c]; diag = t['diagnostic'] == '1.0'
            if task == 'all': s.add(c)
            elif task == 'diagnostic' and diag: s.add(c)
            elif task == 'subdiagnostic' and diag: s.add(t['diagnostic_subclass'])
            elif task == 'superdiagnostic' and diag: s.add(t['diagnostic_class'])
            elif task == 'form' and t['form'] == '1.0': s.add(c)
            elif task == 'rhythm' and t['rhythm'] == '1.0': s.add(c)
        per.append(s)
    classes = sorted(set().union(*per))
    ds = f['labels/' + task]
    got = [x.decode() if isinstance(x, bytes) else x for x in ds.attrs['classes']]
    assert got == classes, (task, got, classes)
    want = np.array([[c in s for c in classes] for s in per], dtype=np.uint8)
    assert ds.dtype == np.uint8 and (ds[:] == want).all(), task
sig = f['signals']
assert sig.dtype == np.float32 and sig.shape == (72, 12, 2500) and sig.chunks == (1, 12, 2500)
x = sig[:]
assert np.isfinite(x).all()
m = x.reshape(72, -1)
assert np.abs(m.mean(axis=1)).max() < 1e-4, m.mean(axis=1)
assert np.abs(m.std(axis=1) - 1).max() < 1e-3
# Leads keep PTB-XL's order and relations: the 7 Hz component of every lead survives the filter.
spec = np.abs(np.fft.rfft(x[0, 0]))
assert abs(np.argmax(spec) / 10.0 - 7.0) < 0.2 or abs(np.argmax(spec) / 10.0 - 1.11) < 0.2
print('OK')
)PY");
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("OK"), std::string::npos) << py.output;
}

TEST_F(PreprocessRoundTrip, InspectPrintsLayoutFoldsAndLabels) {
  ASSERT_EQ(result_->exit_code, 0) << result_->output;
  const auto r = ecg::testing::run_ecgdist("inspect " + out_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* s :
       {"72 records", "/signals", "float32 [72, 12, 2500]", "chunks [1, 12, 2500]", "/ecg_id",
        "int64", "/fold", "int8", "/labels/diagnostic", "uint8 [72, 44]", "@preprocessing",
        "\"target_rate\": 250", "@leads", "fold 1: 8", "fold 10: 8", "superdiagnostic: 5 classes",
        "NORM=", "rhythm: 12 classes", "records without any label"}) {
    EXPECT_NE(r.output.find(s), std::string::npos) << "missing '" << s << "' in:\n" << r.output;
  }
}

// A 3-record directory for the failure cases; record 3 stores its leads in another order.
std::string small_fixture(const TempDir& dir, int64_t patient3 = 3) {
  const std::string d = dir / "ptbxl";
  ecg::testing::write_ptbxl_fixture(d, {{1, 1, 1, "{'NORM': 100.0, 'SR': 0.0}"},
                                        {2, 2, 2, "{'IMI': 50.0, 'AFIB': 0.0}"},
                                        {3, patient3, 3, "{'LVOLT': 0.0}"}});
  // Record 3: record 1's signals with AVR/AVL swapped and V1 moved last, names following the data.
  auto adc = ecg::testing::fixture_adc(1, 1000, 100.0);
  auto names = ecg::testing::ptbxl_lead_names();
  std::swap(adc[3], adc[4]);
  std::swap(names[3], names[4]);
  std::rotate(adc.begin() + 6, adc.begin() + 7, adc.end());
  std::rotate(names.begin() + 6, names.begin() + 7, names.end());
  names[0] = "i";  // case-insensitive matching
  ecg::data::write_wfdb_record(d + "/" + ecg::testing::record_rel_path(3), 100.0, names, adc);
  return d;
}

TEST(Preprocess, PermutedLeadsAreReordered) {
  TempDir dir;
  const auto d = small_fixture(dir);
  const auto r = ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + dir / "o.h5" +
                                           " --sampling-rate 100 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto py =
      ecg::testing::run_python("import h5py, numpy as np\nx = h5py.File('" + dir / "o.h5" +
                               "')['signals'][:]\nprint(float(np.abs(x[0] - x[2]).max()), "
                               "float(np.abs(x[0] - x[1]).max()))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  double same = 1, different = 0;
  std::istringstream(py.output) >> same >> different;
  EXPECT_LT(same, 1e-5);
  EXPECT_GT(different, 0.01);
}

struct BadCase {
  std::string name;
  std::function<void(const std::string& dir)> damage;
  std::vector<std::string> fragments;  // expected in the one-line error
};

void edit(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = ecg::testing::read_text_file(path);
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  text.replace(at, from.size(), to);
  ecg::testing::write_text_file(path, text);
}

std::vector<BadCase> bad_cases() {
  const std::string rec2 = "records100/00000/00002_lr";
  return {
      {"checksum",
       [=](const std::string& d) {
         std::fstream f(d + "/" + rec2 + ".dat", std::ios::in | std::ios::out | std::ios::binary);
         f.seekp(1001);
         f.put('\x7f');
       },
       {rec2 + ".dat", "checksum mismatch"}},
      {"initial value",
       [=](const std::string& d) {
         // Signal line of lead I: "file 16 gain 16 0 <initial value> <checksum> 0 I"; add 1.
         const std::string hea = d + "/" + rec2 + ".hea";
         std::string text = ecg::testing::read_text_file(hea);
         const size_t line = text.find('\n') + 1;
         size_t at = line;
         for (int field = 0; field < 5; ++field) at = text.find(' ', at) + 1;
         const size_t end = text.find(' ', at);
         const int init = std::stoi(text.substr(at, end - at));
         text.replace(at, end - at, std::to_string(init + 1));
         ecg::testing::write_text_file(hea, text);
       },
       {rec2 + ".dat", "initial value mismatch"}},
      {"truncated",
       [=](const std::string& d) { fs::resize_file(d + "/" + rec2 + ".dat", 100); },
       {rec2 + ".dat", "truncated"}},
      {"missing dat",
       [=](const std::string& d) { fs::remove(d + "/" + rec2 + ".dat"); },
       {"missing WFDB record file", rec2 + ".dat"}},
      {"missing hea",
       [=](const std::string& d) { fs::remove(d + "/" + rec2 + ".hea"); },
       {"missing WFDB record file", rec2 + ".hea"}},
      {"missing column",
       [](const std::string& d) { edit(d + "/ptbxl_database.csv", "strat_fold", "fold"); },
       {"ptbxl_database.csv", "missing column 'strat_fold'"}},
      {"unknown code",
       [](const std::string& d) { edit(d + "/ptbxl_database.csv", "'IMI'", "'XMI'"); },
       {"ptbxl_database.csv", "ecg_id 2", "unknown SCP code 'XMI'"}},
      {"non-finite",
       [=](const std::string& d) {
         edit(d + "/" + rec2 + ".hea", " 1000.0(0)/mV", " 1e-320(0)/mV");
       },
       {rec2 + ".dat", "non-finite sample"}},
      {"bad lead name",
       [=](const std::string& d) { edit(d + "/" + rec2 + ".hea", " V5\n", " V7\n"); },
       {rec2 + ".hea", "'V7' is unknown"}},
      {"repeated lead",
       [=](const std::string& d) { edit(d + "/" + rec2 + ".hea", " V5\n", " V6\n"); },
       {rec2 + ".hea", "'V6' is repeated"}},
  };
}

TEST(Preprocess, EachBadInputFailsWithOneLineAndNoOutput) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const auto d = small_fixture(dir);
    c.damage(d);
    const std::string out = dir / "out.h5";
    const auto r = ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + out +
                                             " --sampling-rate 100 --threads 2");
    EXPECT_NE(r.exit_code, 0) << r.output;
    for (const auto& f : c.fragments) {
      EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in: " << r.output;
    }
    EXPECT_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(dir.path())) {
      EXPECT_EQ(e.path().filename().string().find("out.h5"), std::string::npos) << e.path();
    }
  }
}

TEST(Preprocess, SkipBadRecordsCountsThem) {
  for (const auto& c : bad_cases()) {
    if (c.name == "missing column") continue;  // not a per-record problem: always fatal
    SCOPED_TRACE(c.name);
    TempDir dir;
    const auto d = small_fixture(dir);
    c.damage(d);
    const std::string out = dir / "out.h5";
    const auto r = ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + out +
                                             " --sampling-rate 100 --threads 1 --skip-bad-records");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("1 skipped"), std::string::npos) << r.output;
    const auto info = ecg::data::read_dataset_info(out);
    EXPECT_EQ(info.n_records, 2);
    EXPECT_EQ(info.ecg_id, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(ecg::data::read_labels(out, "all").n_records, 2);
  }
}

TEST(Preprocess, PatientInTwoFoldsWarnsAndOptionsAreRecorded) {
  TempDir dir;
  const auto d = small_fixture(dir, /*patient3=*/1);  // patient 1: folds 1 and 3
  const std::string out = dir / "o.h5";
  const auto r = ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + out +
                                           " --sampling-rate 100 --target-rate 100 --no-filter "
                                           "--normalize none");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("patient 1 has records in several folds (1,3)"), std::string::npos)
      << r.output;
  const auto m = ecg::data::read_manifest(out);
  EXPECT_FALSE(m.filter);
  EXPECT_EQ(m.normalization, "none");
  EXPECT_EQ(m.n_samples, 1000);
  // Unfiltered, unnormalised, same rate: the stored values are the WFDB values in mV.
  const auto rec = ecg::data::read_wfdb_record(d + "/" + ecg::testing::record_rel_path(1));
  const auto py = ecg::testing::run_python("import h5py\nx = h5py.File('" + out +
                                           "')['signals']\nprint(repr(float(x[0, 5, 17])))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_FLOAT_EQ(std::stof(py.output), rec.samples[5][17]);
  // Bad flag values are refused by the CLI.
  EXPECT_NE(ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + out +
                                      " --sampling-rate 250")
                .exit_code,
            0);
}

TEST(Preprocess, NormalizeRecordHandlesConstantRecord) {
  std::vector<float> flat(24, 2.5f);
  ecg::data::normalize_record(flat);
  for (float v : flat) EXPECT_EQ(v, 0.0f);
  std::vector<float> x = {1, 2, 3, 4};
  ecg::data::normalize_record(x);
  EXPECT_NEAR(x[0], -1.3416408f, 1e-5);
}

}  // namespace

namespace {

TEST(Preprocess, TaskWithoutAnyClassIsAnEmptyMatrix) {
  TempDir dir;
  const std::string d = dir / "ptbxl";
  ecg::testing::write_ptbxl_fixture(d, {{1, 1, 1, "{'NORM': 100.0}"}, {2, 2, 9, "{'NORM': 80.0}"}});
  const std::string out = dir / "o.h5";
  const auto r = ecg::testing::run_ecgdist("preprocess --ptbxl " + d + " --out " + out +
                                           " --sampling-rate 100 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto form = ecg::data::read_labels(out, "form");
  EXPECT_TRUE(form.classes.empty());
  EXPECT_EQ(form.n_records, 2);
  EXPECT_EQ(form.records_without_label(), 2);
  EXPECT_EQ(ecg::data::read_labels(out, "superdiagnostic").classes,
            std::vector<std::string>{"NORM"});
  const auto inspect = ecg::testing::run_ecgdist("inspect " + out);
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("form: 0 classes, 2 records without any label"), std::string::npos)
      << inspect.output;
}

}  // namespace
