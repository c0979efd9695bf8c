// The MPI communicator under 2 real ranks: reductions of known buffers (sum/max/min over
// f32/f64/i64/i32/u8; bf16 sums rounded in float32), the ring all-reduce ecgdist selects, many concurrent async requests, broadcast, all-gather, barrier, scalar
// reduce, and the timeout path (a rank that does not join -> the waiting rank's error names the
// collective; MPI stays usable afterwards). The NCCL checks skip without a CUDA device.
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <numeric>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "common/error.h"

#if __has_include(<cuda_runtime.h>)
#include <cuda_runtime.h>
#define ECG_TEST_HAVE_CUDA 1
#endif

namespace {

using namespace ecg::comm;

MpiCommunicator& comm() {
  static MpiCommunicator c(60.0);
  return c;
}

template <typename T>
void check_sum_and_max(DType type) {
  auto& c = comm();
  const int r = c.rank(), n = c.size();
  const size_t count = 1001;
  std::vector<T> sum(count), mx(count), mn(count);
  for (size_t i = 0; i < count; ++i) {
    sum[i] = static_cast<T>(i % 50 + 10 * r);  // small: no u8 overflow
    mx[i] = static_cast<T>((i % 7) * (r + 1));
    mn[i] = mx[i];
  }
  c.all_reduce(sum.data(), count, type, ReduceOp::sum, "test sum");
  c.all_reduce(mx.data(), count, type, ReduceOp::max, "test max");
  c.all_reduce(mn.data(), count, type, ReduceOp::min, "test min");
  for (size_t i = 0; i < count; ++i) {
    T want_sum = 0;
    for (int k = 0; k < n; ++k) want_sum += static_cast<T>(i % 50 + 10 * k);
    ASSERT_EQ(sum[i], want_sum) << "element " << i << " of " << dtype_name(type);
    ASSERT_EQ(mx[i], static_cast<T>((i % 7) * n)) << "element " << i;
    ASSERT_EQ(mn[i], static_cast<T>(i % 7)) << "element " << i;
  }
}

TEST(MpiCommunicator, RanksAndBackend) {
  auto& c = comm();
  int world = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  EXPECT_EQ(c.size(), world);
  EXPECT_EQ(c.rank(), rank);
  // mpirun -np 2 on one machine: both ranks are node-local.
  EXPECT_EQ(c.local_size(), world);
  EXPECT_EQ(c.local_rank(), rank);
  EXPECT_EQ(c.backend(), "mpi");
  EXPECT_EQ(c.device(), Device::cpu);
  EXPECT_EQ(c.thread_level(), MPI_THREAD_MULTIPLE);
}

TEST(MpiCommunicator, AllReduceKnownBuffers) {
  check_sum_and_max<float>(DType::f32);
  check_sum_and_max<double>(DType::f64);
  check_sum_and_max<int64_t>(DType::i64);
  check_sum_and_max<int32_t>(DType::i32);
  check_sum_and_max<uint8_t>(DType::u8);
}

TEST(MpiCommunicator, LargeFloatSumIsExact) {
  auto& c = comm();
  std::vector<float> v(3 << 20);  // 12 MB: exercises the large-message algorithm
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i % 1000) + c.rank());
  c.all_reduce(v.data(), v.size(), DType::f32, ReduceOp::sum, "test large");
  for (size_t i = 0; i < v.size(); i += 4099) {
    ASSERT_EQ(v[i], 2.0f * (i % 1000) + 1.0f) << i;  // ranks 0 and 1
  }
}

uint16_t to_bf16_exact(float f) {  // only for values bf16 holds exactly
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  EXPECT_EQ(bits & 0xffffu, 0u) << f << " is not a bf16 value";
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

TEST(MpiCommunicator, Bf16SumIsFormedInFloat32AndRoundedToNearestEven) {
  auto& c = comm();
  ASSERT_EQ(c.size(), 2);
  // 3 M elements (6 MB): several ring segments; small halves sum exactly in bf16.
  std::vector<uint16_t> v(3 << 20);
  for (size_t i = 0; i < v.size(); ++i) v[i] = to_bf16_exact(0.5f * (i % 200) + c.rank());
  c.all_reduce(v.data(), v.size(), DType::bf16, ReduceOp::sum, "test bf16");
  for (size_t i = 0; i < v.size(); i += 4099) {
    ASSERT_EQ(from_bf16(v[i]), static_cast<float>(i % 200) + 1.0f) << i;
  }
  // Ties: 1 + 3*2^-8 lies halfway between bf16 1+2^-7 (odd mantissa) and 1+2^-6 (even), and
  // 1 + 2^-8 halfway between 1 (even) and 1+2^-7; past a power of two, 255 + 1.5 = 256.5 where
  // bf16's spacing is 2.
  std::vector<uint16_t> ties = c.rank() == 0
                                   ? std::vector<uint16_t>{to_bf16_exact(1.0f), to_bf16_exact(1.0f),
                                                           to_bf16_exact(255.0f)}
                                   : std::vector<uint16_t>{to_bf16_exact(3.0f / 256),
                                                           to_bf16_exact(1.0f / 256),
                                                           to_bf16_exact(1.5f)};
  c.all_reduce(ties.data(), ties.size(), DType::bf16, ReduceOp::sum, "test bf16 ties");
  EXPECT_EQ(from_bf16(ties[0]), 1.0f + 1.0f / 64);
  EXPECT_EQ(from_bf16(ties[1]), 1.0f);
  EXPECT_EQ(from_bf16(ties[2]), 256.0f);  // 256.5 -> spacing 2 above 256: rounds to 256
  EXPECT_THROW(c.all_reduce(ties.data(), ties.size(), DType::bf16, ReduceOp::max, "bf16 max"),
               ecg::Error);
}

TEST(MpiCommunicator, RingAllReduceIsTheDefaultAndSmallCountsWork) {
  // set_mpi_defaults() (called by the test main before MPI_Init, as by ecgdist) selects libnbc's
  // ring unless the environment chose otherwise; the ring splits a buffer into one segment per
  // rank, so a single element (segments of 0 and 1) must work too.
  const char* algorithm = std::getenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm");
  ASSERT_NE(algorithm, nullptr);
  EXPECT_STREQ(algorithm, "1");
  auto& c = comm();
  for (size_t count : {size_t{1}, size_t{2}, size_t{3}, size_t{17}}) {
    std::vector<double> v(count, 1.5 + c.rank());
    c.all_reduce(v.data(), count, DType::f64, ReduceOp::sum, "test small ring");
    for (double x : v) ASSERT_EQ(x, 4.0) << count;  // 1.5 + 2.5
  }
}

TEST(MpiCommunicator, ManyConcurrentAsyncRequests) {
  auto& c = comm();
  constexpr int kRequests = 40;
  std::vector<std::vector<double>> buffers(kRequests);
  std::vector<std::unique_ptr<Request>> requests;
  for (int k = 0; k < kRequests; ++k) {
    buffers[k].assign(1 + 997 * k, k + c.rank() * 0.5);
    requests.push_back(c.all_reduce_async(buffers[k].data(), buffers[k].size(), DType::f64,
                                          ReduceOp::sum, "test bucket " + std::to_string(k)));
    // Drive progress like the backward hooks do.
    for (auto& r : requests) r->test();
  }
  for (int k = 0; k < kRequests; ++k) {
    requests[k]->wait();
    EXPECT_TRUE(requests[k]->test());
    const double want = 2.0 * k + 0.5;  // k + 0 + k + 0.5
    EXPECT_EQ(buffers[k].front(), want) << k;
    EXPECT_EQ(buffers[k].back(), want) << k;
  }
}

TEST(MpiCommunicator, BroadcastAllGatherBarrierScalar) {
  auto& c = comm();
  std::vector<char> text(64, 0);
  if (c.rank() == 1) std::snprintf(text.data(), text.size(), "from rank one");
  c.broadcast_host(text.data(), text.size(), 1, "test broadcast");
  EXPECT_STREQ(text.data(), "from rank one");

  struct Slot {
    int32_t rank;
    double value;
  };
  Slot mine{c.rank(), 1.25 * c.rank()};
  std::vector<Slot> all(c.size());
  c.all_gather_host(&mine, all.data(), sizeof(Slot), "test all-gather");
  for (int r = 0; r < c.size(); ++r) {
    EXPECT_EQ(all[r].rank, r);
    EXPECT_EQ(all[r].value, 1.25 * r);
  }

  c.barrier("test barrier");
  EXPECT_EQ(c.all_reduce_scalar(c.rank() + 1.0, ReduceOp::sum, "test scalar sum"), 3.0);
  EXPECT_EQ(c.all_reduce_scalar(c.rank() + 1.0, ReduceOp::max, "test scalar max"), 2.0);
  EXPECT_EQ(c.all_reduce_scalar(c.rank() + 1.0, ReduceOp::min, "test scalar min"), 1.0);
}

TEST(MpiCommunicator, BadArgumentsAreOneLineErrors) {
  auto& c = comm();
  char b = 0;
  try {
    c.broadcast_host(&b, 1, 5, "bad root");
    FAIL() << "no error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("broadcast 'bad root': root 5 outside 0..1"), std::string::npos)
        << e.message();
  }
  EXPECT_THROW(c.set_timeout(-1), ecg::Error);
  EXPECT_THROW(make_communicator("gloo", 1), ecg::Error);
}

TEST(MpiCommunicator, TimeoutNamesTheCollectiveAndMpiStaysUsable) {
  auto& c = comm();
  c.set_timeout(0.5);
  double x = c.rank() + 1.0;
  std::unique_ptr<Request> pending;
  if (c.rank() == 0) {
    pending = c.all_reduce_async(&x, 1, DType::f64, ReduceOp::sum, "grad bucket 3");
    const auto start = std::chrono::steady_clock::now();
    try {
      pending->wait();
      ADD_FAILURE() << "rank 1 has not joined yet, wait() must time out";
    } catch (const ecg::Error& e) {
      EXPECT_NE(e.message().find("rank 0: 'grad bucket 3' did not complete within --timeout 0.5s"),
                std::string::npos)
          << e.message();
    }
    // Bounded by the timeout, not by rank 1's arrival (generous bound: noisy machine).
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  }
  // Rank 1 joins late, after rank 0 gave up: tell it when, over plain MPI.
  int go = 0;
  MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
  c.set_timeout(60.0);
  if (c.rank() == 1) {
    pending = c.all_reduce_async(&x, 1, DType::f64, ReduceOp::sum, "grad bucket 3");
  }
  pending->wait();  // rank 0 retries the same request, rank 1 completes its own
  EXPECT_EQ(x, 3.0);
  c.barrier("after timeout test");
}

TEST(MpiCommunicator, BarrierTimesOutWhenAPeerIsLate) {
  auto& c = comm();
  if (c.rank() == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  } else {
    c.set_timeout(0.3);
    try {
      c.barrier("checkpoint barrier");
      ADD_FAILURE() << "barrier should time out";
    } catch (const ecg::Error& e) {
      EXPECT_NE(e.message().find("rank 0: 'checkpoint barrier' did not complete"),
                std::string::npos)
          << e.message();
    }
    c.set_timeout(60.0);
  }
  // The abandoned Ibarrier on rank 0 is still pending; rank 1's barrier completes it. Then both
  // are in step again.
  if (c.rank() == 1) c.barrier("checkpoint barrier");
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(c.all_reduce_scalar(1.0, ReduceOp::sum, "after barrier timeout"), 2.0);
}

TEST(NcclCommunicator, AllReduceOnDeviceOrSkip) {
  std::string why;
  if (!nccl_backend_built() || !cuda_device_visible(&why)) {
    GTEST_SKIP() << "NCCL backend unavailable: " << why;
  }
#ifdef ECG_TEST_HAVE_CUDA
  auto c = make_communicator("nccl", 60.0);
  ASSERT_EQ(c->backend(), "nccl");
  ASSERT_EQ(c->device(), Device::cuda);
  const size_t count = 1 << 20;
  std::vector<float> host(count, 1.0f + c->rank());
  float* dev = nullptr;
  ASSERT_EQ(cudaMalloc(&dev, count * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dev, host.data(), count * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  auto req = c->all_reduce_async(dev, count, DType::f32, ReduceOp::sum, "nccl test");
  req->wait();
  ASSERT_EQ(cudaMemcpy(host.data(), dev, count * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  cudaFree(dev);
  const float want = c->size() == 2 ? 3.0f : 1.0f;
  EXPECT_EQ(host.front(), want);
  EXPECT_EQ(host.back(), want);
  EXPECT_EQ(c->all_reduce_scalar(1.0, ReduceOp::sum, "nccl host scalar"), c->size());
#else
  GTEST_SKIP() << "test built without cuda_runtime.h";
#endif
}

}  // namespace
