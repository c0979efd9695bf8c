// GradBuckets under 2 ranks: the averaged gradient of a global batch split across ranks equals
// the single-process gradient of the whole batch; k SGD steps match too; small buckets (several
// collectives, launched from autograd hooks) give the same result; frozen parameters are never
// touched; parameters unused in a step do not hang the step; bf16 on the wire gives the fp32
// average rounded to bf16 at half the bytes. Plus broadcast_parameters and the
// cross-rank checksum check.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "comm/mpi_communicator.h"
#include "common/error.h"
#include "trainer/engine/grad_buckets.h"

namespace {

using ecg::engine::GradBuckets;

ecg::comm::MpiCommunicator& comm() {
  static ecg::comm::MpiCommunicator c(120.0);
  return c;
}

struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(8, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 16));
    fc3 = register_module("fc3", torch::nn::Linear(16, 4));
    unused = register_module("unused", torch::nn::Linear(4, 4));
  }
  torch::Tensor forward(torch::Tensor x) {
    return fc3->forward(torch::tanh(fc2->forward(torch::tanh(fc1->forward(x)))));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr}, unused{nullptr};
};
TORCH_MODULE(Net);

Net make_net(uint64_t seed) {
  torch::manual_seed(seed);
  return Net();
}

// The global batch (identical on every rank) and this rank's share of it.
struct Batch {
  torch::Tensor x, y;
};
Batch global_batch(int step, int64_t rows) {
  torch::manual_seed(1000 + step);
  return {torch::randn({rows, 8}), torch::randn({rows, 4})};
}

std::vector<torch::Tensor> trainable(Net& net) {
  std::vector<torch::Tensor> out;
  for (auto& p : net->parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

// One distributed step on this rank's rows; returns after GradBuckets::finish().
void distributed_backward(Net& net, GradBuckets& buckets, const Batch& global) {
  const auto& c = comm();
  const int64_t per_rank = global.x.size(0) / c.size();
  auto x = global.x.narrow(0, c.rank() * per_rank, per_rank);
  auto y = global.y.narrow(0, c.rank() * per_rank, per_rank);
  net->zero_grad();
  torch::mse_loss(net->forward(x), y).backward();
  buckets.finish();
}

void reference_backward(Net& net, const Batch& global) {
  net->zero_grad();
  torch::mse_loss(net->forward(global.x), global.y).backward();
}

// One distributed step against the full-batch reference. fp32 on the wire: equal to 1e-5. bf16:
// each rank's half-mean is rounded to bf16 (relative 2^-9) and their sum again, every value is a
// bf16 value, and half the bytes travel.
void run_gradient_equivalence(size_t bucket_bytes, size_t min_buckets,
                              ecg::engine::GradDType wire = ecg::engine::GradDType::fp32) {
  const bool bf16 = wire == ecg::engine::GradDType::bf16;
  auto& c = comm();
  Net dist = make_net(7), ref = make_net(7);
  GradBuckets buckets(c, trainable(dist), bucket_bytes, wire);
  EXPECT_GE(buckets.num_buckets(), min_buckets);
  const auto batch = global_batch(0, 6 * c.size());
  distributed_backward(dist, buckets, batch);
  reference_backward(ref, batch);
  // fc1..fc3 match the full-batch gradient; `unused` got no gradient anywhere -> zero.
  for (auto* name :
       {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"}) {
    const auto g = dist->named_parameters()[name].grad();
    const auto want = ref->named_parameters()[name].grad();
    EXPECT_EQ(g.scalar_type(), torch::kFloat32) << name;
    const double tol = bf16 ? std::pow(2.0, -6) * want.abs().max().item<double>() + 1e-7 : 1e-5;
    EXPECT_LE((g - want).abs().max().item<double>(), tol) << name;
    if (bf16) EXPECT_TRUE(torch::equal(g, g.to(torch::kBFloat16).to(torch::kFloat32))) << name;
  }
  EXPECT_EQ(dist->unused->weight.grad().abs().sum().item<double>(), 0.0);
  const auto stats = buckets.stats();
  EXPECT_EQ(stats.steps, 1u);
  EXPECT_EQ(stats.bytes, (8 * 32 + 32 + 32 * 16 + 16 + 16 * 4 + 4 + 4 * 4 + 4) * (bf16 ? 2u : 4u));
}

TEST(GradBuckets, OneBucketAveragesToTheFullBatchGradient) {
  run_gradient_equivalence(GradBuckets::kDefaultBucketBytes, 1);
}

TEST(GradBuckets, SmallBucketsGiveTheSameGradient) {
  // 256-byte buckets: {unused.*, fc3.*}, {fc2.*}, {fc1.*} -> 3 collectives, the first two
  // launched from inside backward by the hooks.
  run_gradient_equivalence(256, 3);
}

TEST(GradBuckets, Bf16WireCarriesTheMeanRoundedToBf16AtHalfTheBytes) {
  run_gradient_equivalence(GradBuckets::kDefaultBucketBytes, 1, ecg::engine::GradDType::bf16);
  run_gradient_equivalence(256, 3, ecg::engine::GradDType::bf16);
}

TEST(GradBuckets, BucketsPackInReverseRegistrationOrder) {
  Net net = make_net(1);
  GradBuckets buckets(comm(), trainable(net), 256);
  // Parameters in registration order: fc1.w fc1.b fc2.w fc2.b fc3.w fc3.b unused.w unused.b
  EXPECT_EQ(buckets.bucket_params(0).front(), 7u);  // unused.bias comes first
  size_t last = 8;
  for (size_t b = 0; b < buckets.num_buckets(); ++b) {
    for (size_t p : buckets.bucket_params(b)) {
      EXPECT_LT(p, last);
      last = p;
    }
  }
  EXPECT_EQ(last, 0u);
}

TEST(GradBuckets, KSgdStepsMatchOneRankWithTheGlobalBatch) {
  auto& c = comm();
  for (size_t bucket_bytes : {GradBuckets::kDefaultBucketBytes, size_t{256}}) {
    Net dist = make_net(11), ref = make_net(11);
    // Freeze fc1's bias: never passed to the buckets, never changed.
    dist->fc1->bias.set_requires_grad(false);
    ref->fc1->bias.set_requires_grad(false);
    const auto frozen_before = dist->fc1->bias.clone();
    ecg::engine::broadcast_parameters(c, *dist);
    torch::optim::SGD opt_dist(trainable(dist), torch::optim::SGDOptions(0.1));
    torch::optim::SGD opt_ref(trainable(ref), torch::optim::SGDOptions(0.1));
    GradBuckets buckets(c, trainable(dist), bucket_bytes);
    for (int step = 0; step < 5; ++step) {
      const auto batch = global_batch(step, 4 * c.size());
      distributed_backward(dist, buckets, batch);
      opt_dist.step();
      reference_backward(ref, batch);
      opt_ref.step();
    }
    auto a = dist->named_parameters(), b = ref->named_parameters();
    for (const auto& item : a) {
      const double diff = (item.value() - b[item.key()]).abs().max().item<double>();
      EXPECT_LE(diff, 1e-5) << item.key() << " bucket_bytes=" << bucket_bytes;
    }
    EXPECT_TRUE(torch::equal(dist->fc1->bias, frozen_before));
    EXPECT_FALSE(dist->fc1->bias.grad().defined());
    EXPECT_EQ(buckets.stats().steps, 5u);
    ecg::engine::check_parameters_consistent(c, *dist, "after 5 SGD steps");
  }
}

TEST(GradBuckets, BroadcastAndChecksumNameTheDifferingRank) {
  auto& c = comm();
  Net net = make_net(static_cast<uint64_t>(c.rank()) + 100);  // different init per rank
  if (c.size() > 1) {
    try {
      ecg::engine::check_parameters_consistent(c, *net, "before broadcast");
      ADD_FAILURE() << "differently initialised ranks must be reported";
    } catch (const ecg::Error& e) {
      EXPECT_NE(e.message().find("model parameters differ across ranks before broadcast"),
                std::string::npos)
          << e.message();
      EXPECT_NE(e.message().find("rank 1 has"), std::string::npos) << e.message();
    }
  }
  ecg::engine::broadcast_parameters(c, *net);
  EXPECT_NO_THROW(ecg::engine::check_parameters_consistent(c, *net, "after broadcast"));
  const Net rank0 = make_net(100);
  EXPECT_DOUBLE_EQ(ecg::engine::parameter_checksum(*net),
                   ecg::engine::parameter_checksum(*rank0));
}

}  // namespace
