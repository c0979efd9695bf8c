// Hostile checkpoint files (issue #15): checkpoints are downloaded from the internet, so every
// forged file must end in ONE ecg::Error line naming the file and the field or limit it broke --
// no crash, no LibTorch backtrace, and no more memory than the file's own size. The files are
// built byte by byte here and with Python's zipfile module.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/checkpoint.h"
#include "model/state_dict.h"
#include "model/torch_save_reader.h"
#include "tests/test_util.h"

namespace ecg::model {
namespace {

using ecg::testing::run_ecgdist;
using ecg::testing::run_python;
using ecg::testing::TempDir;

// Python helpers: tsave() writes a torch.save-shaped zip from a pickle and storage records;
// tensor_pkl() is the pickle of {key: Tensor} with the given view over a FloatStorage.
const char* kPythonHelpers = R"PY(
import struct, zipfile
def tsave(path, pkl, records={}, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('archive/data.pkl', pkl)
        for k, v in records.items():
            z.writestr('archive/data/' + k, v, compress_type=method)
def q(x): return b'\x8a\x08' + struct.pack('<q', x)
def tup(xs): return b'(' + b''.join(q(x) for x in xs) + b't'
def s(x): return b'X' + struct.pack('<I', len(x)) + x.encode()
def tensor_pkl(size, stride, offset=0, numel=4, key='w'):
    return (b'\x80\x02}(' + s(key) + b'ctorch._utils\n_rebuild_tensor_v2\n(' +
            b'(' + s('storage') + b'ctorch\nFloatStorage\n' + s('0') + s('cpu') + q(numel) + b'tQ' +
            q(offset) + tup(size) + tup(stride) + b'\x89ccollections\nOrderedDict\n)RtRu.')
)PY";

void python_ok(const std::string& code) {
  auto r = run_python(std::string(kPythonHelpers) + code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ecg::Error& e) {
    return e.message();
  }
  return "<no error>";
}

// One line, naming the file and each of `parts`.
void expect_one_line_error(const std::string& msg, const std::string& file,
                           const std::vector<std::string>& parts) {
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
}

// A pickle from a literal that holds NUL bytes.
template <size_t N>
std::string bytes(const char (&text)[N]) {
  return std::string(text, N - 1);
}

at::Tensor no_storage(const std::string&, c10::ScalarType, int64_t) { return at::Tensor(); }

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(TorchSaveHostile, MillionDeepNestingIsRefusedWithoutCrashing) {
  const int n = 1000000;
  // EMPTY_LIST x n, then APPEND x (n - 1): each list goes into the one below it.
  std::string lists = "\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  auto msg = error_of([&] { unpickle(lists, "deep.pkl", no_storage); });
  expect_one_line_error(msg, "deep.pkl", {"nest deeper than the limit of 1000"});
  // MARK x n, then TUPLE x n: tuples inside tuples.
  std::string tuples = "\x80\x02" + std::string(n, '(') + std::string(n, 't') + ".";
  msg = error_of([&] { unpickle(tuples, "deep.pkl", no_storage); });
  expect_one_line_error(msg, "deep.pkl", {"nest deeper than the limit of 1000"});
  // Up to the limit is fine (Python's recursion limit keeps torch.save below it).
  std::string ok = "\x80\x02" + std::string(kMaxPickleDepth, ']') +
                   std::string(kMaxPickleDepth - 1, 'a') + ".";
  EXPECT_TRUE(unpickle(ok, "ok.pkl", no_storage).is(PickleValue::Kind::list));

  TempDir dir;
  python_ok("tsave('" + dir / "deep.pth" + "', b'\\x80\\x02' + b']' * 1000000 + b'a' * 999999 + b'.')\n");
  msg = error_of([&] { read_torch_save(dir / "deep.pth"); });
  expect_one_line_error(msg, dir / "deep.pth", {"limit of 1000"});
}

TEST(TorchSaveHostile, CyclesAndLateMutationAreRefused) {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: a list inside itself.
  auto msg = error_of([&] { unpickle(bytes("\x80\x02]q\x00h\x00" "a."), "cycle.pkl", no_storage); });
  expect_one_line_error(msg, "cycle.pkl", {"recursive structures are not supported"});
  // A = [], B = [A], then A.append(B): A changes after it was stored in B.
  msg = error_of([&] {
    unpickle(bytes("\x80\x02]q\x00]q\x01h\x00" "a0h\x00h\x01" "a."), "late.pkl", no_storage);
  });
  expect_one_line_error(msg, "late.pkl", {"after storing it in another container"});
}

TEST(TorchSaveHostile, PickleMemoryIsBoundedByItsSize) {
  // A 1 MB string, then DUP a million times: copies would need a terabyte.
  std::string big(1 << 20, 'x');
  std::string pkl = "\x80\x02X";
  for (int k = 0; k < 4; ++k) pkl += static_cast<char>((big.size() >> (8 * k)) & 0xff);
  pkl += big + std::string(1000000, '2') + ".";
  const long before = peak_rss_kib();
  auto msg = error_of([&] { unpickle(pkl, "dup.pkl", no_storage); });
  expect_one_line_error(msg, "dup.pkl", {"bytes of values", "per byte"});
  EXPECT_LT(peak_rss_kib() - before, 512 * 1024) << "KiB";
}

TEST(TorchSaveHostile, CompressedRecordsAreRefusedBeforeInflating) {
  TempDir dir;
  // 256 MiB of zeros deflate to ~250 KB; the pickle declares exactly that storage.
  python_ok("with zipfile.ZipFile('" + dir / "bomb.pth" +
            "', 'w', compression=zipfile.ZIP_DEFLATED) as z:\n"
            "    z.writestr('archive/data.pkl', tensor_pkl([1 << 26], [1], numel=1 << 26),\n"
            "               compress_type=zipfile.ZIP_STORED)\n"
            "    with z.open('archive/data/0', 'w') as f:\n"
            "        for _ in range(256): f.write(bytes(1 << 20))\n");
  const long before = peak_rss_kib();
  auto msg = error_of([&] { read_torch_save(dir / "bomb.pth"); });
  expect_one_line_error(msg, dir / "bomb.pth", {"'archive/data/0' is compressed"});
  msg = error_of([&] { load_any_checkpoint(dir / "bomb.pth"); });
  expect_one_line_error(msg, dir / "bomb.pth", {"'archive/data/0' is compressed"});
  // Our format (TorchScript) may deflate small code records, never one that declares 256 MiB.
  msg = error_of([&] { load_checkpoint(dir / "bomb.pth"); });
  expect_one_line_error(msg, dir / "bomb.pth",
                        {"compressed zip record 'archive/data/0' declares 268435456 bytes"});
  EXPECT_LT(peak_rss_kib() - before, 64 * 1024) << "KiB";
}

TEST(TorchSaveHostile, DeclaredStorageBytesMustFitInTheFile) {
  TempDir dir;
  // A 16-byte record, but the pickle claims 2^40 floats (4 TiB); and 2^62 floats (overflow).
  python_ok("tsave('" + dir / "huge.pth" + "', tensor_pkl([4], [1], numel=1 << 40), {'0': bytes(16)})\n" +
            "tsave('" + dir / "wrap.pth" + "', tensor_pkl([4], [1], numel=1 << 62), {'0': bytes(16)})\n" +
            "tsave('" + dir / "short.pth" + "', tensor_pkl([4], [1], numel=8), {'0': bytes(16) + bytes(400)})\n" +
            "tsave('" + dir / "absent.pth" + "', tensor_pkl([4], [1], numel=4), {})\n");
  auto msg = error_of([&] { read_torch_save(dir / "huge.pth"); });
  expect_one_line_error(msg, dir / "huge.pth", {"storage 'data/0'", "file can hold"});
  msg = error_of([&] { read_torch_save(dir / "wrap.pth"); });
  expect_one_line_error(msg, dir / "wrap.pth", {"storage 'data/0'"});
  msg = error_of([&] { read_torch_save(dir / "absent.pth"); });
  expect_one_line_error(msg, dir / "absent.pth", {"missing storage record 'data/0'"});
  // A record larger than needed is read up to what the pickle declares (as torch.load does).
  auto ok = read_torch_save(dir / "short.pth");
  EXPECT_EQ(ok.find("w")->tensor.numel(), 4);
}

TEST(TorchSaveHostile, ForgedSizesStridesAndOffsetsNameTheTensorAndField) {
  TempDir dir;
  struct Case {
    std::string name, args;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"ok", "[2, 2], [2, 1]", {}},
      {"huge_dim", "[2, 1 << 62], [1, 1]", {"tensor 'w'", "size[1]", "overflows 64 bits"}},
      {"square", "[1 << 32, 1 << 32], [0, 0]", {"tensor 'w'", "element count overflows"}},
      {"bytes", "[1 << 31, 1 << 31], [0, 0]", {"tensor 'w'", "overflow 64-bit byte counts"}},
      {"neg_size", "[-1], [1]", {"tensor 'w'", "size[0] = -1 is negative"}},
      {"neg_stride", "[2], [-1]", {"tensor 'w'", "stride[0] = -1 is negative"}},
      {"neg_offset", "[2], [1], offset=-3", {"tensor 'w'", "storage_offset -3 is negative"}},
      {"past_end", "[2], [1], offset=3", {"tensor 'w'", "reaches element 4", "4-element storage"}},
      {"empty_past", "[0], [1], offset=9", {"tensor 'w'", "storage_offset 9 is beyond"}},
      {"stride_far", "[2, 2], [1, 1 << 62], offset=0", {"tensor 'w'", "reaches element"}},
      {"rank", "[1] * 65, [1] * 65", {"tensor 'w'", "65 dimensions", "limit of 64"}},
      {"ranks_differ", "[2, 2], [1]", {"tensor 'w'", "size has 2 dimensions, stride 1"}},
  };
  std::string code;
  for (const auto& c : cases) {
    code += "tsave('" + dir / (c.name + ".pth") + "', tensor_pkl(" + c.args +
            "), {'0': struct.pack('<4f', 1, 2, 3, 4)})\n";
  }
  python_ok(code);
  for (const auto& c : cases) {
    const std::string path = dir / (c.name + ".pth");
    if (c.expect.empty()) {
      auto v = read_torch_save(path);
      EXPECT_TRUE(torch::equal(v.find("w")->tensor, torch::tensor({{1.f, 2.f}, {3.f, 4.f}})));
      continue;
    }
    const std::string msg = error_of([&] { read_torch_save(path); });
    SCOPED_TRACE(c.name);
    expect_one_line_error(msg, path, c.expect);
    EXPECT_EQ(msg.find("Exception raised"), std::string::npos) << msg;
  }
}

TEST(TorchSaveHostile, StorageMustBeAStorageAndDeclaredOnce) {
  TempDir dir;
  // A rebuilt tensor passed where a storage belongs (as_strided would then address the storage
  // below it, not the view the checks saw); and one key declared with two element counts.
  python_ok(
      "inner = b'ctorch._utils\\n_rebuild_tensor_v2\\n((' + s('storage') + b'ctorch\\nFloatStorage\\n' + "
      "s('0') + s('cpu') + q(4) + b'tQ' + q(0) + tup([4]) + tup([1]) + b'\\x89ccollections\\nOrderedDict\\n)RtR'\n"
      "pkl = (b'\\x80\\x02}(' + s('w') + b'ctorch._utils\\n_rebuild_tensor_v2\\n(' + inner + q(0) + "
      "tup([8]) + tup([1]) + b'\\x89ccollections\\nOrderedDict\\n)RtRu.')\n"
      "tsave('" + dir / "view.pth" + "', pkl, {'0': bytes(16)})\n"
      "a = tensor_pkl([1], [1], numel=1, key='a')[:-2]\n"
      "b = tensor_pkl([4], [1], numel=4, key='b')[4:]\n"
      "tsave('" + dir / "twice.pth" + "', a + b, {'0': bytes(16)})\n");
  auto msg = error_of([&] { read_torch_save(dir / "view.pth"); });
  expect_one_line_error(msg, dir / "view.pth", {"malformed _rebuild_tensor_v2 arguments"});
  msg = error_of([&] { read_torch_save(dir / "twice.pth"); });
  expect_one_line_error(msg, dir / "twice.pth", {"tensor 'b'", "storage '0' is declared again"});
}

TEST(TorchSaveHostile, ForeignErrorsBecomeOneLineNamingTheFile) {
  TempDir dir;
  // Our own checkpoint format with a corrupt constants.pkl: LibTorch's loader throws.
  save_checkpoint(dir / "good.ckpt", nlohmann::json::object(), {{"w", torch::ones({2})}}, nullptr);
  ASSERT_TRUE(is_ecgdist_checkpoint(dir / "good.ckpt"));
  EXPECT_EQ(load_any_checkpoint(dir / "good.ckpt").state.count("w"), 1u);
  python_ok(
      "src = zipfile.ZipFile('" + dir / "good.ckpt" + "')\n" +
      "with zipfile.ZipFile('" + dir / "bad.ckpt" + "', 'w') as z:\n"
      "    for i in src.infolist():\n"
      "        data = src.read(i)\n"
      "        if i.filename.endswith('constants.pkl'): data = b'\\x80\\x02\\xff\\xfe garbage'\n"
      "        z.writestr(i.filename, data)\n"
      "open('" + dir / "notzip.ckpt" + "', 'wb').write(b'PK\\x03\\x04 not really a zip')\n");
  for (const std::string name : {"bad.ckpt", "notzip.ckpt"}) {
    SCOPED_TRACE(name);
    for (const auto& load : std::vector<std::function<void()>>{
             [&] { load_any_checkpoint(dir / name); }, [&] { load_checkpoint(dir / name); }}) {
      const std::string msg = error_of(load);
      expect_one_line_error(msg, dir / name, {});
      EXPECT_EQ(msg.find("Exception raised"), std::string::npos) << msg;
      EXPECT_NE(msg, "<no error>");
    }
  }
}

TEST(TorchSaveHostile, CommandLineExitsWithOneLineNamingTheFile) {
  TempDir dir;
  python_ok("tsave('" + dir / "deep.pth" + "', b'\\x80\\x02' + b']' * 1000000 + b'a' * 999999 + b'.')\n" +
            "tsave('" + dir / "wide.pth" + "', tensor_pkl([2, 1 << 62], [1, 1]), {'0': bytes(16)})\n");
  for (const std::string name : {"deep.pth", "wide.pth"}) {
    auto r = run_ecgdist("export --checkpoint " + dir / name + " --out " + dir / "out.pt");
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.exit_code, 139) << r.output;
    EXPECT_NE(r.output.find(dir / name), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Exception raised"), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

}  // namespace
}  // namespace ecg::model
