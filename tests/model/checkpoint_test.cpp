// Checkpoint I/O against PyTorch itself: torch.save files written by python3-torch load into the
// C++ model and give the published encoder's logits; strict loading names every problem; our
// writer's files load with torch.load; `ecgdist export` round-trips and carries the checkpoint's
// metadata.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/error.h"
#include "model/checkpoint.h"
#include "model/model_export.h"
#include "model/state_dict.h"
#include "tests/test_util.h"

namespace ecg::model {
namespace {

using ecg::testing::run_ecgdist;
using ecg::testing::run_python;
using ecg::testing::TempDir;

std::string python_prelude() {
  return "import sys, collections, torch\nsys.path.insert(0, '" + ecg::testing::test_source_dir() +
         "/model')\nfrom st_mem_reference import st_mem_vit\ntorch.set_num_threads(1)\n";
}

// Runs Python and fails the test (with its output) on a non-zero exit.
void python_ok(const std::string& code) {
  auto r = run_python(python_prelude() + code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

at::Tensor tensor_at(const PickleValue& root, const std::string& key) {
  const PickleValue* v = root.find(key);
  EXPECT_TRUE(v != nullptr && v->is(PickleValue::Kind::tensor)) << key;
  return v ? v->tensor : at::Tensor();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ecg::Error& e) {
    return e.message();
  }
  return "<no error>";
}

TEST(Checkpoint, PythonSavedStMemGivesTheSameLogits) {
  TempDir dir;
  // Random (non-default) weights everywhere, saved the way ST-MEM saves encoder.pth.
  python_ok(
      "torch.manual_seed(0)\n"
      "m = st_mem_vit('tiny', num_classes=5).eval()\n"
      "with torch.no_grad():\n"
      "  for p in m.parameters(): p.add_(0.05 * torch.randn_like(p))\n"
      "torch.save({'model': m.state_dict(), 'epoch': 7, 'lr': 1e-3, 'tag': 'x', "
      "'flags': [True, None]}, '" +
      dir / "enc.pth" +
      "')\n"
      "x = torch.randn(3, 12, 2250)\n"
      "xs = torch.randn(2, 3, 2250)\n"
      "with torch.no_grad():\n"
      "  y = m(x)\n"
      "  ys = m(xs, lead_indices=[6, 0, 3])\n"  // leads V1, I, aVR
      "torch.save({'x': x, 'y': y, 'xs': xs, 'ys': ys}, '" +
      dir / "io.pt" + "')\n");
  StateDict sd = read_torch_save_state_dict(dir / "enc.pth");
  EXPECT_EQ(sd.size(), 6u + 2u + 12u + 4u * 12u + 2u + 2u);
  StMemConfig c = infer_config(sd, "enc.pth");
  EXPECT_EQ(c.size, "tiny");
  EXPECT_EQ(c.num_classes, 5);
  StMem m(c);
  load_state_dict(m, sd);
  m->eval();
  auto io = read_torch_save(dir / "io.pt");
  torch::NoGradGuard no_grad;
  auto y = m->forward(tensor_at(io, "x"));
  EXPECT_LT((y - tensor_at(io, "y")).abs().max().item<double>(), 1e-4);

  c.leads = {"V1", "I", "aVR"};
  StMem sub(c);
  load_state_dict(sub, sd);
  sub->eval();
  auto ys = sub->forward(tensor_at(io, "xs"));
  EXPECT_LT((ys - tensor_at(io, "ys")).abs().max().item<double>(), 1e-4);
}

TEST(Checkpoint, DdpPrefixAndStateDictKeyAreHandled) {
  TempDir dir;
  python_ok(
      "m = st_mem_vit('tiny', num_classes=2)\n"
      "sd = collections.OrderedDict(('module.' + k, v) for k, v in m.state_dict().items())\n"
      "torch.save({'state_dict': sd, 'optimizer': {'lr': 0.1}}, '" +
      dir / "ddp.pt" +
      "')\n"
      "torch.save(m.state_dict(), '" +
      dir / "plain.pt" +
      "')\n"
      "torch.save({'weights': [1, 2]}, '" +
      dir / "other.pt" + "')\n");
  StateDict ddp = read_torch_save_state_dict(dir / "ddp.pt");
  StateDict plain = read_torch_save_state_dict(dir / "plain.pt");
  ASSERT_EQ(ddp.size(), plain.size());
  for (const auto& [k, v] : plain) {
    ASSERT_EQ(ddp.count(k), 1u) << k;
    EXPECT_TRUE(torch::equal(ddp[k], v)) << k;
  }
  auto msg = error_of([&] { read_torch_save_state_dict(dir / "other.pt"); });
  EXPECT_NE(msg.find("no state dict found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("other.pt"), std::string::npos) << msg;
}

TEST(Checkpoint, StrictLoadingNamesEveryProblem) {
  StMemConfig c = StMemConfig::preset("tiny");
  c.num_classes = 4;
  StMem src(c);
  StateDict sd;
  for (auto& [k, v] : model_state_dict(src)) sd[k] = v.clone();

  StMem dst(c);
  StateDict broken = sd;
  broken.erase("block2.ff.fn.net.3.bias");
  broken["block9.attn.fn.to_qkv.weight"] = torch::zeros({3});
  broken["norm.weight"] = torch::zeros({191});
  auto before = dst->named_parameters()["pos_embedding"].clone();
  auto msg = error_of([&] { load_state_dict(dst, broken); });
  EXPECT_NE(msg.find("1 missing keys: block2.ff.fn.net.3.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected keys: block9.attn.fn.to_qkv.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("norm.weight (checkpoint [191] vs model [192])"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(before, dst->named_parameters()["pos_embedding"]));

  // A pre-trained encoder without head: an error by default, fine when allowed.
  StateDict encoder = sd;
  encoder.erase("head.weight");
  encoder.erase("head.bias");
  msg = error_of([&] { load_state_dict(dst, encoder); });
  EXPECT_NE(msg.find("2 missing keys: head.weight, head.bias"), std::string::npos) << msg;
  load_state_dict(dst, encoder, LoadOptions{true});
  EXPECT_TRUE(torch::equal(dst->named_parameters()["pos_embedding"], sd["pos_embedding"]));
  // Another task's head: skipped (with a warning) only when allowed.
  StMemConfig c9 = c;
  c9.num_classes = 9;
  StMem other(c9);
  EXPECT_THROW(load_state_dict(other, sd), ecg::Error);
  load_state_dict(other, sd, LoadOptions{true});
  EXPECT_EQ(other->head()->weight.size(0), 9);
  EXPECT_TRUE(torch::equal(other->named_parameters()["block3.ff.fn.net.0.weight"],
                           sd["block3.ff.fn.net.0.weight"]));
}

TEST(Checkpoint, WriterOutputLoadsInPythonAndGivesTheSameLogits) {
  TempDir dir;
  torch::manual_seed(3);
  StMemConfig c = StMemConfig::preset("tiny");
  c.num_classes = 3;
  StMem m(c);
  m->eval();
  auto x = torch::randn({2, 12, 2250});
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = m->forward(x);
  }
  write_torch_save(dir / "model.pt", model_state_dict(m));
  // Odd dtypes, a non-contiguous view, a 0-d tensor and a big int64 survive too.
  write_torch_save(dir / "io.pt", {{"x", x},
                                   {"y", y},
                                   {"t", torch::arange(12, torch::kDouble).view({3, 4}).t()},
                                   {"h", torch::ones({2}, torch::kHalf)},
                                   {"s", torch::scalar_tensor(int64_t{1} << 40, torch::kLong)},
                                   {"b", torch::tensor({true, false})}});
  python_ok("sd = torch.load('" + dir / "model.pt" +
            "')\n"
            "assert isinstance(sd, collections.OrderedDict), type(sd)\n"
            "m = st_mem_vit('tiny', num_classes=3).eval()\n"
            "m.load_state_dict(sd, strict=True)\n"
            "io = torch.load('" +
            dir / "io.pt" +
            "')\n"
            "with torch.no_grad():\n"
            "  d = (m(io['x']) - io['y']).abs().max().item()\n"
            "assert d < 1e-4, d\n"
            "assert torch.equal(io['t'], torch.arange(12, dtype=torch.float64).view(3, 4).t())\n"
            "assert io['h'].dtype == torch.float16 and io['h'].sum().item() == 2\n"
            "assert io['s'].dim() == 0 and io['s'].item() == 1 << 40\n"
            "assert io['b'].tolist() == [True, False]\n");
  // And our reader reads our writer.
  auto back = read_torch_save(dir / "io.pt");
  EXPECT_TRUE(
      torch::equal(tensor_at(back, "t"), torch::arange(12, torch::kDouble).view({3, 4}).t()));
  EXPECT_EQ(tensor_at(back, "s").item<int64_t>(), int64_t{1} << 40);
}

TEST(Checkpoint, ReaderRejectsForeignGlobalsAndBadFiles) {
  TempDir dir;
  python_ok(
      "import os\n"
      "torch.save({'model': {'w': torch.ones(2)}, 'args': os.getcwd}, '" +
      dir / "evil.pt" +
      "')\n"
      "torch.save({'w': torch.ones(2)}, '" +
      dir / "legacy.pt" + "', _use_new_zipfile_serialization=False)\n");
  auto msg = error_of([&] { read_torch_save(dir / "evil.pt"); });
  EXPECT_NE(msg.find("refusing pickle global"), std::string::npos) << msg;
  EXPECT_NE(msg.find("evil.pt"), std::string::npos) << msg;
  msg = error_of([&] { read_torch_save(dir / "legacy.pt"); });
  EXPECT_NE(msg.find("not a zip-format torch.save file"), std::string::npos) << msg;
  msg = error_of([&] { read_torch_save(dir / "absent.pt"); });
  EXPECT_NE(msg.find("cannot open checkpoint"), std::string::npos) << msg;
  // Unknown opcode in a pickle stream.
  msg = error_of([&] {
    unpickle(std::string("\x80\x02\xff.", 4), "blob",
             [](const std::string&, c10::ScalarType, int64_t) { return at::Tensor(); });
  });
  EXPECT_NE(msg.find("unsupported pickle opcode 0xff"), std::string::npos) << msg;
}

TEST(Checkpoint, ExportCommandRoundTrips) {
  TempDir dir;
  python_ok(
      "torch.manual_seed(1)\n"
      "m = st_mem_vit('tiny', num_classes=4)\n"
      "sd = collections.OrderedDict(('module.' + k, v) for k, v in m.state_dict().items())\n"
      "torch.save({'model': sd, 'epoch': 1}, '" +
      dir / "in.pth" +
      "')\n"
      "sd.pop('module.norm.bias')\n"
      "torch.save({'model': sd}, '" +
      dir / "broken.pth" + "')\n");
  auto r = run_ecgdist("export --checkpoint " + dir / "in.pth" + " --out " + dir / "out.pt" +
                       " --config-out " + dir / "arch.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  python_ok(
      "import json\n"
      "a = torch.load('" +
      dir / "in.pth" +
      "')['model']\n"
      "b = torch.load('" +
      dir / "out.pt" +
      "')\n"
      "assert sorted(k[7:] for k in a) == sorted(b), (list(a)[:3], list(b)[:3])\n"
      "assert all(torch.equal(a['module.' + k], v) for k, v in b.items())\n"
      "cfg = json.load(open('" +
      dir / "arch.json" +
      "'))\n"
      "assert cfg['size'] == 'tiny' and cfg['num_classes'] == 4, cfg\n");
  r = run_ecgdist("export --checkpoint " + dir / "broken.pth" + " --out " + dir / "bad.pt");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing keys: norm.bias"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.pt"));
}

// An export keeps what evaluate / predict check a model against (model config, task, classes,
// preprocessing, options) as an extra zip record; torch.load still reads the file.
TEST(Checkpoint, ExportCarriesTheCheckpointsMetadataThatTorchLoadIgnores) {
  TempDir dir;
  torch::manual_seed(5);
  StMemConfig c = StMemConfig::preset("tiny");
  c.num_classes = 3;
  StMem m(c);
  const nlohmann::json meta = {{"model_config", c},
                               {"task", "superdiagnostic"},
                               {"classes", {"CD", "MI", "NORM"}},
                               {"preprocessing", {{"source_rate", 100}, {"normalization", "zscore"}}},
                               {"options", {{"crop_length", 750}, {"profile", "default"}}},
                               {"kind", "best"},
                               {"task_state", {{"history", nlohmann::json::array()}}}};
  save_checkpoint(dir / "best.ckpt", meta, model_state_dict(m), nullptr);
  const ExportSummary exported = export_state_dict(dir / "best.ckpt", dir / "model.pt");
  EXPECT_TRUE(exported.metadata);
  const LoadedCheckpoint back = load_any_checkpoint(dir / "model.pt");
  for (const char* key : {"model_config", "task", "classes", "preprocessing", "options"}) {
    EXPECT_EQ(back.meta.at(key), meta.at(key)) << key;
  }
  EXPECT_EQ(back.meta.at("source_kind"), "best");
  EXPECT_FALSE(back.meta.contains("task_state"));  // training state is no part of a model
  EXPECT_EQ(back.state.size(), model_state_dict(m).size());
  // An export of the export keeps it; a file without the record has none.
  export_state_dict(dir / "model.pt", dir / "again.pt");
  EXPECT_EQ(read_export_meta(dir / "again.pt").at("preprocessing"), meta.at("preprocessing"));
  write_torch_save(dir / "foreign.pt", model_state_dict(m));
  EXPECT_TRUE(load_any_checkpoint(dir / "foreign.pt").meta.is_null());
  EXPECT_FALSE(export_state_dict(dir / "foreign.pt", dir / "foreign_export.pt").metadata);
  EXPECT_TRUE(read_export_meta(dir / "foreign_export.pt").is_null());
  // A record that is not our metadata is an error naming the file and the record.
  write_torch_save(dir / "bad.pt", model_state_dict(m), {{kExportMetaRecord, "{\"format\": \"other\"}"}});
  try {
    load_any_checkpoint(dir / "bad.pt");
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find(dir / "bad.pt"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find(kExportMetaRecord), std::string::npos) << e.message();
  }
  EXPECT_THROW(write_torch_save(dir / "shadow.pt", model_state_dict(m), {{"data.pkl", "x"}}), ecg::Error);
  python_ok("sd = torch.load('" + dir / "model.pt" +
            "', weights_only=True)\n"
            "m = st_mem_vit('tiny', num_classes=3)\n"
            "m.load_state_dict(sd, strict=True)\n");
}

}  // namespace
}  // namespace ecg::model
