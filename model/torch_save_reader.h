// A reader for files written by Python's torch.save: a zip container (read with the bounds of
// model/untrusted_zip.h) holding a pickle, data.pkl (run by the closed VM of
// model/torch_save_pickle.h), and one data/<key> record per storage.
//
// Every failure, whatever code raised it, is one ecg::Error line naming the file.
#pragma once

#include <string>

#include "model/torch_save_pickle.h"

namespace ecg::model {

// Reads the whole object stored by torch.save at `path`. Tensors are CPU tensors whatever the
// device they were saved from (cuda:N storages load to the CPU). Throws ecg::Error naming the
// file on anything unreadable or not allowed.
PickleValue read_torch_save(const std::string& path);
// The same over the bytes of such a file (fuzzing); `origin` names them in errors.
PickleValue read_torch_save_bytes(const std::string& bytes, const std::string& origin);

}  // namespace ecg::model
