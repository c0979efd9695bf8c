#include "data/formats/leads.h"

#include <cctype>

namespace ecg::data {
namespace {

bool same_ignoring_case(const std::string& a, const char* b) {
  size_t i = 0;
  for (; i < a.size() && b[i] != '\0'; ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return i == a.size() && b[i] == '\0';
}

}  // namespace

int lead_index(const std::string& name) {
  for (int i = 0; i < kNumLeads; ++i) {
    if (same_ignoring_case(name, kLeadOrder[static_cast<size_t>(i)])) return i;
  }
  return -1;
}

std::vector<std::string> lead_names() { return {kLeadOrder.begin(), kLeadOrder.end()}; }

const std::vector<std::string>& ptbxl_header_lead_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const char* lead : kLeadOrder) {
      std::string name(lead);
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.push_back(name);
    }
    return out;
  }();
  return names;
}

}  // namespace ecg::data
