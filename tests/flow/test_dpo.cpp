#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/expect_error.h"
#include "v2a/core/error.h"
#include "v2a/flow/dpo.h"

namespace v2a::flow {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

using test::expect_error;

TEST(FlowDpoTest, MatchesHandComputedValues) {
    const auto tw = torch::tensor({1.0, 0.5}, kF64), rw = torch::tensor({0.8, 0.5}, kF64);
    const auto tl = torch::tensor({0.6, 0.7}, kF64), rl = torch::tensor({0.9, 0.4}, kF64);
    const auto d = flow_dpo_loss(tw, rw, tl, rl, 2.0);
    // z = -(2/2) [(tw - rw) - (tl - rl)]: row 0 -(0.2 + 0.3) = -0.5; row 1 -(0 - 0.3) = 0.3
    EXPECT_TRUE(torch::allclose(d.z, torch::tensor({-0.5, 0.3}, kF64), 0, 1e-15));
    const double expected = 0.5 * (std::log1p(std::exp(0.5)) + std::log1p(std::exp(-0.3)));
    EXPECT_NEAR(d.loss.item<double>(), expected, 1e-14);
    EXPECT_DOUBLE_EQ(d.accuracy.item<double>(), 0.5);
    EXPECT_NEAR(d.reward_margin.item<double>(), -0.1, 1e-15);
    EXPECT_NEAR(d.chosen_reward.item<double>(), -0.1, 1e-15);   // mean(-0.2, 0)
    EXPECT_NEAR(d.rejected_reward.item<double>(), 0.0, 1e-15);  // mean(0.3, -0.3)
    EXPECT_NEAR(d.model_w_err.item<double>(), 0.75, 1e-15);
    EXPECT_NEAR(d.ref_w_err.item<double>(), 0.65, 1e-15);
    EXPECT_NEAR(d.model_l_err.item<double>(), 0.65, 1e-15);
    EXPECT_NEAR(d.ref_l_err.item<double>(), 0.65, 1e-15);

    // Per-pair weights multiply each pair's loss.
    const auto w = torch::tensor({2.0, 0.0}, kF64);
    EXPECT_NEAR(flow_dpo_loss(tw, rw, tl, rl, 2.0, w).loss.item<double>(), std::log1p(std::exp(0.5)), 1e-14);
}

TEST(FlowDpoTest, PolicyEqualToReferenceGivesLog2) {
    const auto e_w = torch::tensor({0.3, 1.7, 0.01}, kF64), e_l = torch::tensor({2.0, 0.2, 0.5}, kF64);
    const auto d = flow_dpo_loss(e_w, e_w, e_l, e_l, 100.0);
    EXPECT_TRUE(torch::equal(d.z, torch::zeros({3}, kF64)));
    EXPECT_NEAR(d.loss.item<double>(), std::log(2.0), 1e-15);
    EXPECT_DOUBLE_EQ(d.accuracy.item<double>(), 0.0);  // z > 0 is strict
}

TEST(FlowDpoTest, GradientMatchesFiniteDifferencesAndReferenceIsConstant) {
    torch::manual_seed(3);
    const double beta = 50.0;
    const auto tw = (torch::rand({4}, kF64) * 0.1).requires_grad_(true);
    const auto tl = (torch::rand({4}, kF64) * 0.1).requires_grad_(true);
    const auto rw = (torch::rand({4}, kF64) * 0.1).requires_grad_(true);
    const auto rl = (torch::rand({4}, kF64) * 0.1);
    flow_dpo_loss(tw, rw, tl, rl, beta).loss.backward();
    EXPECT_FALSE(rw.grad().defined());  // reference errors are detached

    auto loss_at = [&](const torch::Tensor& w, const torch::Tensor& l) {
        return flow_dpo_loss(w, rw.detach(), l, rl, beta).loss.item<double>();
    };
    const double h = 1e-6;
    for (int64_t i = 0; i < 4; ++i) {
        auto wp = tw.detach().clone(), wm = tw.detach().clone();
        wp[i] += h;
        wm[i] -= h;
        const double gw = (loss_at(wp, tl.detach()) - loss_at(wm, tl.detach())) / (2 * h);
        EXPECT_NEAR(tw.grad()[i].item<double>(), gw, 1e-7) << "winner " << i;
        auto lp = tl.detach().clone(), lm = tl.detach().clone();
        lp[i] += h;
        lm[i] -= h;
        const double gl = (loss_at(tw.detach(), lp) - loss_at(tw.detach(), lm)) / (2 * h);
        EXPECT_NEAR(tl.grad()[i].item<double>(), gl, 1e-7) << "loser " << i;
        // Lowering the winner's error lowers the loss; lowering the loser's raises it.
        EXPECT_GT(tw.grad()[i].item<double>(), 0.0);
        EXPECT_LT(tl.grad()[i].item<double>(), 0.0);
    }
}

TEST(FlowDpoTest, BadInputsAreUsageErrors) {
    const auto a = torch::zeros({3}, kF64);
    expect_error([&] { flow_dpo_loss(a, a, torch::zeros({2}, kF64), a, 1.0); }, ErrorKind::Usage, "Flow-DPO");
    expect_error([&] { flow_dpo_loss(a, a, a, a, 0.0); }, ErrorKind::Usage, "beta");
    expect_error([&] { flow_dpo_loss(a, a, a, a, 1.0, torch::ones({2}, kF64)); }, ErrorKind::Usage, "weights");
    expect_error([&] { flow_dpo_loss(torch::zeros({3, 1}, kF64), a, a, a, 1.0); }, ErrorKind::Usage, "[B]");
}

}  // namespace
}  // namespace v2a::flow
