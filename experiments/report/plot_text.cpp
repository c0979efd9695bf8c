#include "experiments/report/plot_text.h"

#include <fmt/format.h>

#include <cstdint>
#include <map>

#include "common/error.h"
#include "common/fnv1a.h"

namespace ecg::report {
namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool is_stem_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Stable across runs and machines, so a report made again keeps its file names.
uint64_t fnv1a_of(const std::string& text) {
  Fnv1a64 h;
  h.bytes(text);
  return h.value();
}

constexpr size_t kMaxPlainStem = 48;
constexpr size_t kMaxMangledPrefix = 40;

}  // namespace

std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (is_control(static_cast<unsigned char>(c))) c = '?';
  return out;
}

std::string gnuplot_literal(const std::string& text) {
  // Both found by report_inputs_fuzz against gnuplot 5.4: not '' for a quote, because a literal
  // that opens with three quotes is read as an empty string followed by garbage; and not "'",
  // because gnuplot's macro expander then loses track of quoting and expands @name in the rest
  // of the line. A quote is the octal escape "\047", joined by string concatenation: the
  // double-quoted piece holds neither a quote nor a backquote.
  std::string out = "'";
  for (char c : printable(text))
    out += c == '\'' ? std::string("'.\"\\047\".'") : std::string(1, c);
  return out + "'";
}

std::string gnuplot_tic_label(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '%' ? std::string("%%") : std::string(1, c);
  return gnuplot_literal(escaped);
}

std::string file_stem(const std::string& text) {
  bool plain = !text.empty() && text.size() <= kMaxPlainStem && text.front() != '-';
  for (char c : text) plain = plain && is_stem_char(c);
  if (plain) return text;
  std::string prefix;
  for (char c : text) {
    if (prefix.size() == kMaxMangledPrefix) break;
    prefix += is_stem_char(c) && !(prefix.empty() && c == '-') ? c : '_';
  }
  return fmt::format("{}{}{:08x}", prefix, prefix.empty() ? "x" : "-",
                     static_cast<uint32_t>(fnv1a_of(text) >> 32));
}

void check_distinct_stems(const std::vector<std::string>& texts, const std::string& what) {
  std::map<std::string, std::string> seen;
  for (const std::string& t : texts) {
    const auto [it, inserted] = seen.emplace(file_stem(t), t);
    ECG_CHECK(inserted || it->second == t,
              "report: {} '{}' and '{}' would share the file name stem '{}'", what,
              printable(it->second), printable(t), it->first);
  }
}

}  // namespace ecg::report
