// SNOMED CT diagnoses as the PhysioNet/CinC Challenges label ECGs: every concept id the Challenge
// 2020/2021 data uses, with its abbreviation and name, the 30 codes the 2021 Challenge scores and
// the pairs it scores as one class (e.g. RBBB and CRBBB). The table is compiled in
// (resources/snomed_ct_challenge2021.csv, BSD-2, see its NOTICE). Task labels derived from it:
//   dx     every concept id any record has, one class per code ("164889003")
//   scored the Challenge's 26 scored classes, equivalent codes merged ("AF", "CRBBB|RBBB")
// and tasks of a user's own code lists.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "data/formats/labels.h"

namespace ecg::data {

// SNOMED CT concept ids are 6 to 18 decimal digits (the SCTID rules).
bool is_snomed_concept_id(const std::string& s);

struct SnomedConcept {
  std::string code;  // concept id, e.g. "164889003"
  std::string abbreviation;
  std::string name;
  bool scored = false;                   // scored by the Challenge 2021
  std::vector<std::string> equivalents;  // other codes scored as the same class
};

class SnomedTable {
 public:
  // Columns snomed_code, abbreviation, name, scored (0/1), equivalent_codes ('|'-separated).
  static SnomedTable parse(const std::string& csv_text, const std::string& source);
  // The embedded Challenge 2021 table.
  static const SnomedTable& challenge2021();

  const SnomedConcept* find(const std::string& code) const;
  // The scored class a code counts toward ("AF", "CRBBB|RBBB"); empty when it is not scored.
  std::string scored_class(const std::string& code) const;
  // "atrial fibrillation (SNOMED CT 164889003)" for a scored class or a code.
  std::string describe_scored_class(const std::string& cls) const;
  std::string describe_code(const std::string& code) const;
  // All scored classes, sorted.
  std::vector<std::string> scored_classes() const;
  const std::vector<std::string>& scored_class_codes(const std::string& cls) const;

 private:
  std::map<std::string, SnomedConcept> by_code_;
  std::map<std::string, std::vector<std::string>> scored_class_codes_;  // class -> codes
};

// A task over SNOMED CT codes: each class is a set of codes a record may carry.
struct SnomedTask {
  std::string name;
  std::vector<std::string> classes;                  // class names
  std::vector<std::vector<std::string>> codes;       // per class, the codes that count
  std::vector<std::string> descriptions;             // per class
};

// `dx`: one class per code present in `records`; `scored`: the Challenge's scored classes.
SnomedTask snomed_dx_task(const std::vector<std::vector<std::string>>& records,
                          const SnomedTable& table);
SnomedTask snomed_scored_task(const SnomedTable& table);
// A user's task from "NAME=CODE[|CODE...],CODE..." (codes joined by '|' form one class); codes
// need not be in the table. Errors name `flag`.
SnomedTask parse_snomed_task(const std::string& spec, const SnomedTable& table,
                             const std::string& flag);

// Label matrix of `task` for records given by their code lists (row order kept). Classes no record
// has are kept for the scored task (the Challenge's fixed set) only when `keep_empty_classes`.
TaskLabels derive_snomed_labels(const std::vector<std::vector<std::string>>& records,
                                const SnomedTask& task, bool keep_empty_classes);

const std::string& embedded_snomed_ct_challenge2021_csv();
const std::string& embedded_snomed_ct_challenge2021_notice();

}  // namespace ecg::data
