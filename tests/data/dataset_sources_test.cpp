// The other sources of `preprocess` end to end, each from its `synth --format` twin: CODE-15%
// (HDF5 parts with filler rows + exams.csv; padding removed, the length rule, the six labels),
// a plain WFDB folder (RECORDS index; unlabelled, or labelled by a CSV of one's own with patients),
// and several sources merged into one pretraining file with each record's origin. Stored signals
// are checked against an independent numpy/h5py reading of the source files; each bad input is a
// one-line error naming the file and field, or a counted skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "data/dataset_info.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ecg::testing::run_ecgdist;
using ecg::testing::TempDir;

class OtherSources : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (const char* format : {"code15", "wfdb", "challenge"}) {
      auto r = run_ecgdist(std::string("synth --format ") + format + " --records 40 --seed 3 --out " +
                           *dir_ / format);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* OtherSources::dir_ = nullptr;

TEST_F(OtherSources, Code15PaddingLengthRuleLabelsAndAnIndependentReading) {
  const std::string in = *dir_ / "code15";
  // Every 10th synthetic exam is 7 s, as in CODE-15%: refused by the 10 s default, naming it.
  auto r = run_ecgdist("preprocess --source code15 --input " + in + " --out " + *dir_ / "c15.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("exams_part0.hdf5 row 9 (exam_id 1063): 2800 samples, shorter than 10 s at 400 Hz"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(*dir_ / "c15.h5"));
  r = run_ecgdist("preprocess --source code15 --skip-bad-records --input " + in + " --out " + *dir_ / "c15.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 36 records"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 skipped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("filler rows"), std::string::npos) << r.output;

  const std::string raw = *dir_ / "c15raw.h5";
  r = run_ecgdist("preprocess --source code15 --duration 7 --target-rate 400 --no-filter --normalize none "
                  "--input " + in + " --out " + raw);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = ecg::data::read_dataset_info(raw);
  EXPECT_EQ(info.n_records, 40);
  EXPECT_EQ(info.n_samples, 2800);
  EXPECT_EQ(info.tasks, std::vector<std::string>{"abnormalities"});
  EXPECT_EQ(info.ecg_id[0], 1000);
  // numpy + h5py: strip the all-zero time steps at both ends of each tracing, first 7 s, leads as
  // stored; labels from exams.csv with the csv module; patients kept.
  auto py = ecg::testing::run_python(
      "import numpy as np, h5py, csv, glob\n"
      "root = '" + in + "'\n"
      "rows = {int(r['exam_id']): r for r in csv.DictReader(open(root + '/exams.csv'))}\n"
      "h = h5py.File('" + raw + "', 'r'); ids = list(h['ecg_id'][:])\n"
      "lab = h['labels/abnormalities']; cls = [c.decode() if isinstance(c, bytes) else c for c in lab.attrs['classes']]\n"
      "n = 0\n"
      "for part in sorted(glob.glob(root + '/exams_part*.hdf5')):\n"
      "    p = h5py.File(part, 'r')\n"
      "    for e, x in zip(p['exam_id'][:], p['tracings']):\n"
      "        if e == 0: continue\n"
      "        nz = np.where(np.any(x != 0, axis=1))[0]\n"
      "        x = x[nz[0]:nz[-1] + 1][:2800].T\n"
      "        row = ids.index(e)\n"
      "        err = np.abs(h['signals'][row] - x).max(); assert err < 1e-6, (e, err)\n"
      "        want = [rows[e][c] == 'True' for c in cls]; assert list(lab[row] == 1) == want, e\n"
      "        assert h['patient_id'][row] == int(rows[e]['patient_id'])\n"
      "        n += 1\n"
      "print('checked', n)\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("checked 40"), std::string::npos) << py.output;

  // An exam without its exams.csv row; a bad boolean.
  const fs::path bad = *dir_ / "code15-bad";
  fs::copy(in, bad, fs::copy_options::recursive);
  std::string csv = ecg::testing::read_text_file((bad / "exams.csv").string());
  const auto line = csv.find("\n1007,");
  ASSERT_NE(line, std::string::npos);
  csv.erase(line + 1, csv.find('\n', line + 1) - line);
  ecg::testing::write_text_file((bad / "exams.csv").string(), csv);
  r = run_ecgdist("preprocess --source code15 --duration 7 --input " + bad.string() + " --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("exams_part0.hdf5 row 1 (exam_id 1007): no row for this exam_id in " +
                          (bad / "exams.csv").string()),
            std::string::npos)
      << r.output;
  ecg::testing::write_text_file((bad / "exams.csv").string(),
                                "exam_id,age,is_male,nn_predicted_age,1dAVb,RBBB,LBBB,SB,ST,AF,patient_id,death,"
                                "timey,normal_ecg,trace_file\n1000,50,True,50,maybe,False,False,False,False,"
                                "False,1,,,True,exams_part0.hdf5\n");
  r = run_ecgdist("preprocess --source code15 --input " + bad.string() + " --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("exams.csv: row 2 1dAVb: 'maybe' is not True or False"), std::string::npos)
      << r.output;
}

TEST_F(OtherSources, WfdbFolderUnlabelledOrWithALabelCsvOfOnesOwn) {
  const std::string in = *dir_ / "wfdb";
  const std::string unlabelled = *dir_ / "w.h5";
  auto r = run_ecgdist("preprocess --source wfdb --input " + in + " --out " + unlabelled);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto info = ecg::data::read_dataset_info(unlabelled);
  EXPECT_EQ(info.n_records, 40);
  EXPECT_TRUE(info.tasks.empty());
  EXPECT_EQ(info.record_name[0], "ward1/rec00001");  // RECORDS order, sorted
  // numpy reads each .dat itself (int16 interleaved, gain from the header): the stored signal is
  // the first 10 s in mV when nothing is filtered, resampled or normalised.
  const std::string raw = *dir_ / "wraw.h5";
  r = run_ecgdist("preprocess --source wfdb --input " + in + " --target-rate 500 --no-filter --normalize none --out " + raw);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto py = ecg::testing::run_python(
      "import numpy as np, h5py\n"
      "root = '" + in + "'\n"
      "h = h5py.File('" + raw + "', 'r'); names = [n.decode() if isinstance(n, bytes) else n for n in h['record_name'][:]]\n"
      "assert names == sorted(open(root + '/RECORDS').read().split()), names[:3]\n"
      "for row, name in enumerate(names):\n"
      "    lines = open(root + '/' + name + '.hea').read().splitlines()\n"
      "    n = int(lines[0].split()[3]); gain = float(lines[1].split()[2].split('(')[0])\n"
      "    x = np.fromfile(root + '/' + name + '.dat', dtype='<i2').reshape(n, 12).T / gain\n"
      "    err = np.abs(h['signals'][row] - x[:, :5000]).max(); assert err < 1e-6, (name, err)\n"
      "print('checked', len(names))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("checked 40"), std::string::npos) << py.output;

  const std::string labelled = *dir_ / "wl.h5";
  r = run_ecgdist("preprocess --source wfdb --input " + in + " --labels " + in + "/labels.csv --labels-task diagnosis "
                  "--out " + labelled);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  info = ecg::data::read_dataset_info(labelled);
  EXPECT_EQ(info.tasks, std::vector<std::string>{"diagnosis"});
  const auto labels = ecg::data::read_labels(labelled, "diagnosis");
  EXPECT_NE(std::find(labels.classes.begin(), labels.classes.end(), "NORM"), labels.classes.end());
  EXPECT_EQ(labels.records_without_label(), 0);
  // The CSV's patients: all records of a patient in one fold.
  std::map<int64_t, std::set<int>> folds;
  for (size_t i = 0; i < info.fold.size(); ++i) folds[info.patient_id[i]].insert(info.fold[i]);
  for (const auto& [p, f] : folds) EXPECT_EQ(f.size(), 1u) << "patient " << p;
  EXPECT_LT(folds.size(), 40u);  // synthetic patients own 1-4 records

  // A CSV naming a record that is not there; an empty label cell.
  ecg::testing::write_text_file(*dir_ / "bad.csv", "record,labels\nward1/rec00001,NORM\nward9/gone,AFIB\n");
  r = run_ecgdist("preprocess --source wfdb --input " + in + " --labels " + *dir_ / "bad.csv --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("bad.csv: row 3: field record names ward9/gone, which has no header"), std::string::npos)
      << r.output;
  r = run_ecgdist("preprocess --source wfdb --skip-bad-records --input " + in + " --labels " + *dir_ / "bad.csv --out " +
                  *dir_ / "x.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 1 records"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 skipped"), std::string::npos) << r.output;
  ecg::testing::write_text_file(*dir_ / "empty.csv", "record,labels\nward1/rec00001,\n");
  r = run_ecgdist("preprocess --source wfdb --input " + in + " --labels " + *dir_ / "empty.csv --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("empty.csv: row 2: field labels '' has an empty class name"), std::string::npos)
      << r.output;
  // The task names an HDF5 dataset and run folders: a plain name only.
  r = run_ecgdist("preprocess --source wfdb --input " + in + " --labels " + in + "/labels.csv --labels-task 'a/b' --out " +
                  *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--labels-task 'a/b': a task name holds letters, digits, '_' and '-' only"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(ecg::data::read_dataset_info(*dir_ / "x.h5").n_records, 1);  // the earlier file, untouched
  // A record of another lead set: an auxiliary channel where V6 should be.
  const std::string aux_dir = *dir_ / "aux";
  fs::create_directories(aux_dir + "/ward1");
  fs::copy_file(in + "/ward1/rec00001.dat", aux_dir + "/ward1/rec00001.dat");
  std::string hea = ecg::testing::read_text_file(in + "/ward1/rec00001.hea");
  hea.replace(hea.rfind(" V6"), 3, " AUX");
  ecg::testing::write_text_file(aux_dir + "/ward1/rec00001.hea", hea);
  r = run_ecgdist("preprocess --source wfdb --input " + aux_dir + " --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("rec00001.hea: lead names [I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,AUX] are not the 12 "
                          "standard leads"),
            std::string::npos)
      << r.output;
}

TEST_F(OtherSources, MergedSourcesKeepEachRecordsOriginAndHoldNoTasks) {
  const std::string merged = *dir_ / "merged.h5";
  auto r = run_ecgdist("preprocess --skip-bad-records --merge challenge=" + *dir_ / "challenge" + " --merge code15=" +
                       *dir_ / "code15" + " --merge wfdb=" + *dir_ / "wfdb" + " --out " + merged);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = ecg::data::read_dataset_info(merged);
  EXPECT_EQ(info.n_records, 40 + 36 + 40);
  EXPECT_TRUE(info.tasks.empty());
  EXPECT_EQ(info.manifest.source_rate, 0);
  ASSERT_EQ(info.origin.size(), 116u);
  std::map<std::string, int> per_origin;
  for (const auto& o : info.origin) ++per_origin[o.substr(0, o.find(':'))];
  EXPECT_EQ(per_origin["challenge"], 40);
  EXPECT_EQ(per_origin["code15"], 36);
  EXPECT_EQ(per_origin["wfdb"], 40);
  std::set<int64_t> ids(info.ecg_id.begin(), info.ecg_id.end());
  EXPECT_EQ(ids.size(), 116u);
  std::set<int8_t> folds(info.fold.begin(), info.fold.end());
  EXPECT_EQ(folds.size(), 10u);

  r = run_ecgdist("preprocess --merge challenge=" + *dir_ / "challenge" + " --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--merge needs two or more sources"), std::string::npos) << r.output;
  r = run_ecgdist("preprocess --merge nope=" + *dir_ / "challenge" + " --merge wfdb=x --out " + *dir_ / "x.h5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--merge 'nope="), std::string::npos) << r.output;
}

}  // namespace
