// SyncDPO rule-based negatives: each edit does what it says, stays in shape, and the bands go
// from coarse to subtle.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "v2a/flow/velocity.h"
#include "v2a/pairs/rule_based.h"

namespace v2a::pairs {
namespace {

// Token i holds the value i in every channel: edits are readable as index maps.
torch::Tensor ramp(int64_t n = 40, int64_t c = 3) {
    return torch::arange(n, torch::kFloat).unsqueeze(1).expand({n, c}).contiguous();
}

TEST(RuleBasedTest, ReverseShiftAndReplaceAreExact) {
    auto rng = flow::cpu_generator(0);
    auto x = ramp();
    auto r = distort(x, Distortion::Reverse, 1, 10.0, {}, rng);
    EXPECT_FLOAT_EQ(r[0][0].item<float>(), 39.0f);
    // 0.5 s at 10 tokens/s = 5 tokens, circular, either direction.
    auto s = distort(x, Distortion::Shift, 0.5, 10.0, {}, rng);
    const float first = s[0][0].item<float>();
    EXPECT_TRUE(first == 35.0f || first == 5.0f) << first;
    auto other = torch::ones({40, 3});
    EXPECT_TRUE(distort(x, Distortion::Replace, 1, 10.0, other, rng).equal(other));
}

TEST(RuleBasedTest, ShuffleAndSwapPermuteTokensWithoutLosingAny) {
    auto rng = flow::cpu_generator(1);
    auto x = ramp();
    for (auto kind : {Distortion::Shuffle, Distortion::Swap}) {
        auto y = distort(x, kind, kind == Distortion::Shuffle ? 4 : 0.5, 10.0, {}, rng);
        EXPECT_EQ(y.sizes(), x.sizes());
        EXPECT_FALSE(y.equal(x)) << distortion_name(kind);
        EXPECT_TRUE(std::get<0>(y.select(1, 0).sort()).equal(x.select(1, 0))) << distortion_name(kind);
    }
}

TEST(RuleBasedTest, StretchAndLocalShiftMoveContentInTime) {
    auto rng = flow::cpu_generator(2);
    auto x = ramp();
    auto y = distort(x, Distortion::Stretch, 0.25, 10.0, {}, rng);
    EXPECT_EQ(y.sizes(), x.sizes());
    // Token 20 reads position 20 / 1.25 = 16 or 20 * 1.25 = 25.
    const float v = y[20][0].item<float>();
    EXPECT_TRUE(std::abs(v - 16.0f) < 1e-4 || std::abs(v - 25.0f) < 1e-4) << v;
    auto l = distort(x, Distortion::LocalShift, 0.3, 10.0, {}, rng);
    EXPECT_EQ((l != x).any(1).sum().item<int64_t>() > 0, true);
    EXPECT_LE((l != x).any(1).sum().item<int64_t>(), 10);   // only the moved quarter changes
}

TEST(RuleBasedTest, BandsGoFromCoarseToSubtle) {
    auto rng = flow::cpu_generator(3);
    auto x = ramp(125), other = torch::zeros({125, 3});
    NegativeCurriculum c;
    c.stages = 3;
    double coarse_shift = 1e9, subtle_shift = 0;
    for (int i = 0; i < 200; ++i) {
        auto a = sample_negative(x, 0, other, c, rng);
        EXPECT_TRUE(a.kind == Distortion::Replace || a.kind == Distortion::Reverse || a.kind == Distortion::Shuffle ||
                    a.kind == Distortion::Shift);
        if (a.kind == Distortion::Shift) coarse_shift = std::min(coarse_shift, a.amount);
        auto b = sample_negative(x, 2, other, c, rng);
        EXPECT_TRUE(b.kind == Distortion::Shift || b.kind == Distortion::LocalShift || b.kind == Distortion::Stretch);
        if (b.kind == Distortion::Shift) subtle_shift = std::max(subtle_shift, b.amount);
        EXPECT_EQ(b.latent.sizes(), x.sizes());
    }
    EXPECT_GE(coarse_shift, 0.5);
    EXPECT_LE(subtle_shift, 0.16);
    EXPECT_EQ(negative_stage(0, 90, 3), 0);
    EXPECT_EQ(negative_stage(30, 90, 3), 1);
    EXPECT_EQ(negative_stage(89, 90, 3), 2);
}

TEST(RuleBasedTest, BadInputsAreUsageErrors) {
    auto rng = flow::cpu_generator(4);
    test::expect_error([&] { distort(torch::zeros({2, 3}), Distortion::Reverse, 1, 10, {}, rng); }, ErrorKind::Usage,
                       "[N >= 4, C]");
    test::expect_error([&] { distort(ramp(), Distortion::Replace, 1, 10, {}, rng); }, ErrorKind::Usage,
                       "another latent");
    test::expect_error([&] { sample_negative(ramp(), 3, {}, {}, rng); }, ErrorKind::Usage, "stage 3");
}

}  // namespace
}  // namespace v2a::pairs
