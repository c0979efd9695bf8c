// The 12 standard ECG leads in PTB-XL's (and ST-MEM's) order -- the one definition of the lead
// order, used by the HDF5 layout, preprocessing, the prefetcher's lead selection and the
// model's lead embeddings (embedding k belongs to lead k).
#pragma once

#include <array>
#include <string>
#include <vector>

namespace ecg::data {

inline constexpr int kNumLeads = 12;
inline constexpr std::array<const char*, kNumLeads> kLeadOrder = {
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

// Index of `name` in kLeadOrder, -1 when it is not a standard lead. Case-insensitive: PTB-XL's
// headers write "AVR", "AVL", "AVF".
int lead_index(const std::string& name);

std::vector<std::string> lead_names();  // kLeadOrder as strings

// kLeadOrder as PTB-XL's .hea files spell it (upper case: AVR, AVL, AVF), what the synthetic
// PTB-XL writes and the tests' hand-made records use.
const std::vector<std::string>& ptbxl_header_lead_names();

}  // namespace ecg::data
