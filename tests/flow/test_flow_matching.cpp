#include <gtest/gtest.h>

#include <string>

#include "support/expect_error.h"
#include "v2a/core/error.h"
#include "v2a/flow/flow_matching.h"
#include "v2a/flow/velocity.h"

namespace v2a::flow {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

using test::expect_error;

TEST(FlowMatchingTest, InterpolationAndTargetMatchHandValues) {
    FlowMatching fm;
    // B = 2, N = 1, C = 2
    const auto x0 = torch::tensor({1.0, 2.0, -1.0, 0.5}, kF64).view({2, 1, 2});
    const auto x1 = torch::tensor({3.0, -1.0, 4.0, 0.5}, kF64).view({2, 1, 2});
    const auto t = torch::tensor({0.25, 1.0}, kF64);
    const auto xt = fm.interpolate(x0, x1, t);
    // row 0: 0.75*[1,2] + 0.25*[3,-1] = [1.5, 1.25]; row 1 (t = 1): x1 = [4, 0.5]
    const auto expected = torch::tensor({1.5, 1.25, 4.0, 0.5}, kF64).view({2, 1, 2});
    EXPECT_TRUE(torch::allclose(xt, expected, 0, 1e-15)) << xt;
    const auto target = fm.target(x0, x1);
    EXPECT_TRUE(torch::allclose(target, torch::tensor({2.0, -3.0, 5.0, 0.0}, kF64).view({2, 1, 2}), 0, 1e-15));
    // t = 0 is pure noise
    EXPECT_TRUE(torch::equal(fm.interpolate(x0, x1, torch::zeros({2}, kF64)), x0));
}

TEST(FlowMatchingTest, MinSigmaEntersInterpolationAndTarget) {
    FlowMatching fm(FlowMatchingOptions{0.1, 0.0, 1.0});
    const auto x0 = torch::tensor({2.0}, kF64).view({1, 1, 1});
    const auto x1 = torch::tensor({1.0}, kF64).view({1, 1, 1});
    // (1 - 0.9 * 0.5) * 2 + 0.5 * 1 = 1.6; target 1 - 0.9 * 2 = -0.8
    EXPECT_NEAR(fm.interpolate(x0, x1, torch::tensor({0.5}, kF64)).item<double>(), 1.6, 1e-15);
    EXPECT_NEAR(fm.target(x0, x1).item<double>(), -0.8, 1e-15);
}

TEST(FlowMatchingTest, LogitNormalTimesHaveRightMedianAndSpread) {
    FlowMatching fm;
    auto gen = cpu_generator(123);
    const auto t = fm.sample_t(40000, gen, kF64);
    ASSERT_EQ(t.sizes(), torch::IntArrayRef({40000}));
    EXPECT_TRUE(t.gt(0).all().item<bool>());
    EXPECT_TRUE(t.lt(1).all().item<bool>());
    EXPECT_NEAR(t.median().item<double>(), 0.5, 0.01);
    const auto logit = torch::log(t / (1 - t));
    EXPECT_NEAR(logit.mean().item<double>(), 0.0, 0.02);
    EXPECT_NEAR(logit.std().item<double>(), 1.0, 0.02);

    FlowMatching shifted(FlowMatchingOptions{0.0, 1.0, 0.5});
    auto gen2 = cpu_generator(5);
    const auto t2 = shifted.sample_t(40000, gen2, kF64);
    EXPECT_NEAR(t2.median().item<double>(), 1.0 / (1.0 + std::exp(-1.0)), 0.01);
    EXPECT_NEAR(torch::log(t2 / (1 - t2)).std().item<double>(), 0.5, 0.01);
}

TEST(FlowMatchingTest, PerSampleLossIsMeanOverNonBatchDims) {
    FlowMatching fm;
    const auto x0 = torch::zeros({3, 2, 2}, kF64);
    const auto x1 = torch::ones({3, 2, 2}, kF64);  // target = 1 everywhere
    auto v = torch::ones({3, 2, 2}, kF64);
    v[1] = 3.0;                               // error 4 on each of 4 elements -> 4
    v[2][0][0] = 5.0;                         // error 16 on one element -> 4
    const auto loss = fm.loss(v, x0, x1);
    ASSERT_EQ(loss.sizes(), torch::IntArrayRef({3}));
    EXPECT_TRUE(torch::allclose(loss, torch::tensor({0.0, 4.0, 4.0}, kF64)));
    // float16 inputs are evaluated in fp32
    EXPECT_EQ(per_sample_mse(v.to(torch::kHalf), x1.to(torch::kHalf)).scalar_type(), torch::kFloat);
}

TEST(FlowMatchingTest, DrawIsDeterministicInTheGenerator) {
    FlowMatching fm;
    const auto x1 = torch::randn({4, 6, 3}, kF64);
    auto g1 = cpu_generator(42), g2 = cpu_generator(42), g3 = cpu_generator(43);
    const FlowSample a = fm.draw(x1, g1), b = fm.draw(x1, g2), c = fm.draw(x1, g3);
    EXPECT_TRUE(torch::equal(a.x0, b.x0));
    EXPECT_TRUE(torch::equal(a.t, b.t));
    EXPECT_TRUE(torch::equal(a.x_t, b.x_t));
    EXPECT_FALSE(torch::equal(a.x0, c.x0));
    EXPECT_FALSE(torch::equal(a.t, c.t));
    // Consistent pieces: x_t and target are the formulas of x0, x1, t; t drawn first.
    EXPECT_TRUE(torch::allclose(a.x_t, fm.interpolate(a.x0, x1, a.t)));
    EXPECT_TRUE(torch::allclose(a.target, x1 - a.x0));
    auto g4 = cpu_generator(42);
    EXPECT_TRUE(torch::equal(a.t, fm.sample_t(4, g4, kF64)));
    // A loser built with the winner's noise and time shares both.
    const auto loser = fm.prepare(a.x0, torch::zeros_like(x1), a.t);
    EXPECT_TRUE(torch::allclose(loser.x_t, (1 - a.t.view({4, 1, 1})) * a.x0));
}

TEST(FlowMatchingTest, BadShapesAreUsageErrors) {
    FlowMatching fm;
    const auto a = torch::zeros({2, 3, 4});
    expect_error([&] { fm.interpolate(a, torch::zeros({2, 3, 5}), torch::zeros({2})); }, ErrorKind::Usage, "x0");
    expect_error([&] { fm.interpolate(a, a, torch::zeros({3})); }, ErrorKind::Usage, "t must be [2]");
    expect_error([&] { fm.loss(torch::zeros({2, 3, 3}), a, a); }, ErrorKind::Usage, "prediction");
    expect_error([] { FlowMatching(FlowMatchingOptions{1.0}); }, ErrorKind::Config, "min_sigma");
}

TEST(ConditionDropoutTest, RatesMatchProbabilityAndVideoTogetherOption) {
    const int64_t B = 40000;
    auto gen = cpu_generator(7);
    const auto m = draw_condition_dropout(B, gen, {0.1, true});
    ASSERT_EQ(m.clip.sizes(), torch::IntArrayRef({B}));
    EXPECT_EQ(m.clip.scalar_type(), torch::kBool);
    const auto rate = [](const torch::Tensor& mask) { return mask.to(torch::kDouble).mean().item<double>(); };
    EXPECT_NEAR(rate(m.clip), 0.1, 0.006);
    EXPECT_NEAR(rate(m.text), 0.1, 0.006);
    EXPECT_TRUE(torch::equal(m.clip, m.sync));
    // video and text independent: P(both) = 0.01
    EXPECT_NEAR(rate(m.clip.logical_and(m.text)), 0.01, 0.002);

    auto gen2 = cpu_generator(7);
    const auto ind = draw_condition_dropout(B, gen2, {0.1, false});
    EXPECT_NEAR(rate(ind.clip), 0.1, 0.006);
    EXPECT_NEAR(rate(ind.sync), 0.1, 0.006);
    EXPECT_NEAR(rate(ind.clip.logical_and(ind.sync)), 0.01, 0.002);
    EXPECT_NEAR(rate(ind.sync.logical_and(ind.text)), 0.01, 0.002);

    auto none_gen = cpu_generator(1), all_gen = cpu_generator(1);
    EXPECT_FALSE(draw_condition_dropout(100, none_gen, {0.0, false}).text.any().item<bool>());
    EXPECT_TRUE(draw_condition_dropout(100, all_gen, {1.0, false}).clip.all().item<bool>());
}

TEST(ConditionDropoutTest, DeterministicAndValidated) {
    auto g1 = cpu_generator(99), g2 = cpu_generator(99), g3 = cpu_generator(100);
    const auto a = draw_condition_dropout(256, g1, {0.3, false});
    const auto b = draw_condition_dropout(256, g2, {0.3, false});
    const auto c = draw_condition_dropout(256, g3, {0.3, false});
    EXPECT_TRUE(torch::equal(a.clip, b.clip) && torch::equal(a.sync, b.sync) && torch::equal(a.text, b.text));
    EXPECT_FALSE(torch::equal(a.clip, c.clip));
    auto g = cpu_generator(0);
    expect_error([&] { draw_condition_dropout(4, g, {1.5, true}); }, ErrorKind::Usage, "condition dropout");
}

TEST(ConditionDropoutTest, ApplyReplacesMaskedRowsByEmptyFeatures) {
    const auto feats = torch::arange(12, kF64).view({2, 3, 2});
    const auto empty = torch::tensor({-1.0, -2.0}, kF64).view({1, 2});  // learned [1, D] broadcast over L
    const auto mask = torch::tensor({false, true});
    const auto out = apply_condition_dropout(feats, mask, empty);
    EXPECT_TRUE(torch::equal(out[0], feats[0]));
    EXPECT_TRUE(torch::equal(out[1], empty.expand({3, 2})));
    expect_error([&] { apply_condition_dropout(feats, torch::tensor({true}), empty); }, ErrorKind::Usage, "mask");
}

}  // namespace
}  // namespace v2a::flow
