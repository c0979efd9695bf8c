// The plain WFDB source of `preprocess`: any folder of WFDB records (format 16, a plain .dat or a
// Challenge-style .mat), listed by its RECORDS file or found by a recursive scan, each at its own
// rate. Without --labels the file is unlabelled: pretraining data. With --labels FILE.csv, a
// team's own labels (docs/datasets.md):
//   record,labels,patient,fold
//   ward3/rec001,AF;LBBB,17,
// - record: path below --input without extension; the CSV defines which records are read, and a
//   record it names that is missing is a bad record (an error, or a counted skip);
// - labels: class names separated by ';' -- one task, named by --labels-task (default `labels`),
//   whose classes are all names used; an empty cell is refused (say `normal` if that is the label);
// - patient (optional): records of one patient share a fold; without it each record is its own;
// - fold (optional, 1..10, all rows or none): kept as given; without it folds are made
//   patient-grouped and stratified on the labels.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "common/error.h"
#include "data/formats/csv_table.h"
#include "data/formats/wfdb.h"
#include "data/record_source.h"

namespace ecg::data {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFolderRecords = size_t{10} << 20;
constexpr size_t kMaxLabelCsvBytes = size_t{1} << 30;

// A record name from RECORDS or the CSV must stay inside the folder.
void check_record_name(const std::string& name, const std::string& where) {
  const fs::path p(name);
  ECG_CHECK(!name.empty() && !p.has_root_path(), "{}: record '{}' must be a path inside --input",
            where, cell_excerpt(name));
  for (const auto& part : p)
    ECG_CHECK(part != "..", "{}: record '{}' has a '..' component", where, cell_excerpt(name));
}

class WfdbFolderSource : public RecordSource {
 public:
  WfdbFolderSource(const PreprocessOptions& o, const std::string& dir, const SkipRecord& skip)
      : dir_(dir) {
    origin_ = std::string("wfdb:") + dir;
    if (o.labels_csv.empty()) {
      const auto names = find_wfdb_records(dir, "--input");
      for (size_t i = 0; i < names.size(); ++i) {
        const auto id = static_cast<int64_t>(i) + 1;
        records_.push_back({id, id, 0, names[i]});
      }
      return;
    }
    read_label_csv(o, skip);
  }

  RawRecord load(size_t i) const override {
    return read_standard_wfdb((fs::path(dir_) / records_[i].name).string(), 0);
  }
  std::string rates() const override { return "their own rates"; }
  int source_rate() const override { return 0; }

  std::vector<TaskLabels> labels(const std::vector<size_t>& kept) const override {
    if (task_.task.empty()) return {};
    return {labels_of_kept(task_, kept)};
  }

 private:
  void read_label_csv(const PreprocessOptions& o, const SkipRecord& skip) {
    const std::string& csv = o.labels_csv;
    const CsvRows rows = parse_csv(read_text_file_bounded(csv, kMaxLabelCsvBytes, "label CSV"), csv);
    ECG_CHECK(!rows.empty(), "{}: empty file, expected a header row record,labels[,patient][,fold]",
              csv);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < rows[0].size(); ++i) col.emplace(rows[0][i], i);
    auto find = [&](const char* name) {
      const auto it = col.find(name);
      return it == col.end() ? std::string::npos : it->second;
    };
    const size_t c_record = find("record"), c_labels = find("labels"), c_patient = find("patient"),
                 c_fold = find("fold");
    ECG_CHECK(c_record != std::string::npos && c_labels != std::string::npos,
              "{}: needs the columns record and labels (and optionally patient, fold)", csv);
    std::vector<std::set<std::string>> sets;
    std::set<std::string> seen, classes;
    size_t with_fold = 0;
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() == 1 && row[0].empty()) continue;
      const std::string where = fmt::format("{}: row {}", csv, r + 1);
      ECG_CHECK(row.size() == rows[0].size(), "{} has {} fields, the header {}", where, row.size(),
                rows[0].size());
      const std::string& name = row[c_record];
      check_record_name(name, where);
      ECG_CHECK(seen.insert(name).second, "{}: record {} is listed twice", where, cell_excerpt(name));
      ECG_CHECK(records_.size() < kMaxFolderRecords, "{}: more than {} records", csv, kMaxFolderRecords);
      std::set<std::string> labels;
      for (const auto& l : split_fields(row[c_labels], ';')) {
        ECG_CHECK(!l.empty(), "{}: field labels '{}' has an empty class name (labels are "
                              "';'-separated names; an unlabelled record needs a name such as "
                              "'normal')",
                  where, cell_excerpt(row[c_labels]));
        labels.insert(l);
      }
      const auto id = static_cast<int64_t>(r);
      ListedRecord rec{id, id, 0, name};
      if (c_patient != std::string::npos && !row[c_patient].empty()) {
        size_t used = 0;
        long long p = -1;
        try {
          p = std::stoll(row[c_patient], &used);
        } catch (const std::exception&) {
          used = 0;
        }
        ECG_CHECK(used == row[c_patient].size() && p >= 0,
                  "{}: field patient '{}' is not a non-negative integer", where,
                  cell_excerpt(row[c_patient]));
        rec.patient = p;
      }
      if (c_fold != std::string::npos && !row[c_fold].empty()) {
        const std::string& f = row[c_fold];
        ECG_CHECK(f.size() <= 2 && std::all_of(f.begin(), f.end(), ::isdigit) && std::stoi(f) >= 1 &&
                      std::stoi(f) <= 10,
                  "{}: field fold '{}' is not 1..10", where, cell_excerpt(f));
        rec.fold = std::stoi(f);
        ++with_fold;
      }
      if (!fs::exists(fs::path(dir_) / (name + ".hea"))) {
        skip(fmt::format("{}: field record names {}, which has no header {}", where,
                         cell_excerpt(name), (fs::path(dir_) / (name + ".hea")).string()));
        continue;
      }
      records_.push_back(rec);
      classes.insert(labels.begin(), labels.end());
      sets.push_back(std::move(labels));
    }
    ECG_CHECK(with_fold == 0 || with_fold == rows.size() - 1,
              "{}: field fold is given for {} of {} rows; give it for all or none", csv, with_fold,
              rows.size() - 1);
    // The task names an HDF5 dataset under /labels and a run's folders: a plain name only.
    ECG_CHECK(!o.labels_task.empty() && o.labels_task.size() <= 64 &&
                  std::all_of(o.labels_task.begin(), o.labels_task.end(),
                              [](unsigned char ch) { return std::isalnum(ch) || ch == '_' || ch == '-'; }),
              "--labels-task '{}': a task name holds letters, digits, '_' and '-' only",
              cell_excerpt(o.labels_task));
    task_.task = o.labels_task;
    task_.classes.assign(classes.begin(), classes.end());
    const size_t c = classes.size();
    task_.matrix.assign(records_.size() * c, 0);
    for (size_t r = 0; r < records_.size(); ++r)
      for (size_t k = 0; k < c; ++k) task_.matrix[r * c + k] = sets[r].count(task_.classes[k]) ? 1 : 0;
    labels_stratify_ = 0;
  }

  std::string dir_;
  TaskLabels task_;
};

}  // namespace

std::vector<std::string> find_wfdb_records(const std::string& root, const std::string& flag) {
  std::vector<std::string> out;
  const fs::path index = fs::path(root) / "RECORDS";
  if (fs::is_regular_file(index)) {
    const std::string text = read_text_file_bounded(index.string(), kMaxLabelCsvBytes, "RECORDS index");
    for (const auto& raw : split_fields(text, '\n')) {
      std::string line = raw;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      while (!line.empty() && line.back() == '/') line.pop_back();
      check_record_name(line, index.string());
      out.push_back(line);
      ECG_CHECK(out.size() <= kMaxFolderRecords, "{}: more than {} records", index.string(), kMaxFolderRecords);
    }
  } else {
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    ECG_CHECK(!ec, "{} {}: cannot list: {}", flag, root, ec.message());
    for (; it != end; it.increment(ec)) {
      ECG_CHECK(!ec, "{} {}: cannot list: {}", flag, root, ec.message());
      const fs::path& p = it->path();
      if (p.extension() != ".hea" || !it->is_regular_file(ec)) continue;
      const std::string rel = fs::relative(p, root).generic_string();
      out.push_back(rel.substr(0, rel.size() - 4));
      ECG_CHECK(out.size() <= kMaxFolderRecords, "{} {}: more than {} headers", flag, root, kMaxFolderRecords);
    }
  }
  std::sort(out.begin(), out.end());
  ECG_CHECK(!out.empty(), "{} {}: no WFDB records (no RECORDS index, no *.hea below it)", flag, root);
  return out;
}

std::unique_ptr<RecordSource> list_wfdb_folder(const PreprocessOptions& o, const std::string& dir,
                                               const SkipRecord& skip) {
  return std::make_unique<WfdbFolderSource>(o, dir, skip);
}

}  // namespace ecg::data
