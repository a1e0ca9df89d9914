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

TEST(FlowDpoTest, DiagnosticsLabelSmoothingAndTheMeanOutsideTheLogSigmoid) {
    const auto tw = torch::tensor({1.0, 0.5}, kF64), rw = torch::tensor({0.8, 0.5}, kF64);
    const auto tl = torch::tensor({0.6, 0.7}, kF64), rl = torch::tensor({0.9, 0.4}, kF64);
    const auto d = flow_dpo_loss(tw, rw, tl, rl, 2.0);  // z = {-0.5, 0.3} (hand values above)
    auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    EXPECT_NEAR(d.gradient_factor.item<double>(), 0.5 * (sig(0.5) + sig(-0.3)), 1e-14);
    EXPECT_DOUBLE_EQ(d.negative_share.item<double>(), 0.5);
    EXPECT_NEAR(d.raw_margin.item<double>(), 0.5 * (0.5 + 0.3), 1e-14);  // beta-free |w_diff - l_diff|
    // The mean over pairs is taken of per-pair losses, not inside the softplus.
    EXPECT_GT(std::abs(d.loss.item<double>() - std::log1p(std::exp(0.1))), 1e-3);

    // cDPO: (1 - eps) softplus(-z) + eps softplus(z).
    const double eps = 0.25;
    const double row0 = 0.75 * std::log1p(std::exp(0.5)) + 0.25 * std::log1p(std::exp(-0.5));
    const double row1 = 0.75 * std::log1p(std::exp(-0.3)) + 0.25 * std::log1p(std::exp(0.3));
    EXPECT_NEAR(flow_dpo_loss(tw, rw, tl, rl, 2.0, {}, eps).loss.item<double>(), 0.5 * (row0 + row1), 1e-14);
    // A smoothed loss is smallest at a finite margin: its gradient in z vanishes at z* = logit(1 - eps).
    const double z_star = std::log((1 - eps) / eps);
    const auto e = torch::tensor({-z_star}, kF64).requires_grad_(true);  // beta 2: z = -(e_w - 0) + 0 = z*
    flow_dpo_loss(e, torch::zeros({1}, kF64), torch::zeros({1}, kF64), torch::zeros({1}, kF64), 2.0, {}, eps)
        .loss.backward();
    EXPECT_NEAR(e.grad().item<double>(), 0.0, 1e-12);
}

TEST(SdpoTest, LoserScaleMatchesHandValues) {
    auto v = [](std::vector<double> x) { return torch::tensor(x, kF64).reshape({1, 2}); };
    const auto zero = v({0, 0});
    // g_w = (1, 0), g_l = (1, 1): dot 1, |g_w|^2 1 -> (1 - 0.9) * 1 / 1 = 0.1.
    EXPECT_NEAR(sdpo_loser_scale(v({1, 0}), zero, v({1, 1}), zero, 0.9).item<double>(), 0.1, 1e-12);
    // g_w = (2, 0), g_l = (1, 0): 0.1 * 4 / 2 = 0.2; targets are subtracted.
    EXPECT_NEAR(sdpo_loser_scale(v({3, 1}), v({1, 1}), v({1, 0}), zero, 0.9).item<double>(), 0.2, 1e-12);
    // Opposite directions (dot <= 0): the loser's gradient helps the winner, scale 1.
    EXPECT_DOUBLE_EQ(sdpo_loser_scale(v({1, 0}), zero, v({-1, 0}), zero, 0.9).item<double>(), 1.0);
    // Clamped to 1 when the winner is safe anyway: mu 0, g_w = (1, 0), g_l = (0.5, 0) -> 2 -> 1.
    EXPECT_DOUBLE_EQ(sdpo_loser_scale(v({1, 0}), zero, v({0.5, 0}), zero, 0.0).item<double>(), 1.0);
    test::expect_error([&] { sdpo_loser_scale(zero, zero, zero, zero, 1.5); }, ErrorKind::Usage, "mu");
    test::expect_error([&] { sdpo_loser_scale(zero, zero, torch::zeros({1, 3}, kF64), zero, 0.5); }, ErrorKind::Usage,
                       "one shape");
}

TEST(SdpoTest, ScaledStepStillLowersTheWinnersErrorByMuOfItsOwnStep) {
    torch::manual_seed(5);
    const double mu = 0.9;
    for (int trial = 0; trial < 20; ++trial) {
        const auto gw = torch::randn({4, 6}, kF64), gl = gw * 2.0 + 0.5 * torch::randn({4, 6}, kF64);
        const auto zero = torch::zeros({4, 6}, kF64);
        const auto lambda = sdpo_loser_scale(gw, zero, gl, zero, mu);
        // Output-space step -g_w + lambda g_l: first-order change of the winner's error is g_w . step.
        const auto change = (gw * (-gw + lambda.unsqueeze(1) * gl)).sum(1);
        const auto bound = -mu * gw.pow(2).sum(1);
        EXPECT_TRUE((change <= bound + 1e-9).all().item<bool>()) << "trial " << trial;
        EXPECT_TRUE((lambda >= 0).all().item<bool>() && (lambda <= 1).all().item<bool>());
    }
}

TEST(SdpoTest, ScaleGradientKeepsTheValueAndScalesTheGradient) {
    const auto x = torch::tensor({1.0, -2.0}, kF64).requires_grad_(true);
    const auto e = x * x;
    const auto scaled = scale_gradient(e, torch::tensor({0.5, 2.0}, kF64));
    EXPECT_TRUE(torch::equal(scaled.detach(), e.detach()));
    scaled.sum().backward();
    EXPECT_TRUE(torch::allclose(x.grad(), torch::tensor({0.5 * 2.0, 2.0 * -4.0}, kF64)));
}

TEST(AutoBetaTest, BetaPutsTheTypicalMarginAtTheTargetGradientFactor) {
    AutoBeta a;
    a.target_factor = 0.2;
    a.decay = 0.5;
    a.min_beta = 1.0;
    a.max_beta = 1e6;
    EXPECT_DOUBLE_EQ(a.beta(), 1e6);  // no margin seen yet (policy = reference)
    a.update(0.0);                    // a zero margin (policy = reference) does not seed the EMA
    EXPECT_DOUBLE_EQ(a.beta(), 1e6);
    EXPECT_EQ(a.updates, 0);
    a.update(0.01);
    EXPECT_NEAR(a.beta(), 2.0 * std::log(4.0) / 0.01, 1e-9);
    // At that beta a pair with the typical margin has z = beta m / 2 and sigma(-z) = 0.2.
    const double z = a.beta() * 0.01 / 2.0;
    EXPECT_NEAR(1.0 / (1.0 + std::exp(z)), 0.2, 1e-12);
    a.update(0.03);  // EMA 0.5 * 0.01 + 0.5 * 0.03 = 0.02
    EXPECT_NEAR(a.beta(), 2.0 * std::log(4.0) / 0.02, 1e-9);
    a.min_beta = 200.0;
    EXPECT_DOUBLE_EQ(a.beta(), 200.0);
    AutoBeta bad;
    bad.target_factor = 0.6;
    test::expect_error([&] { bad.validate(); }, ErrorKind::Usage, "target gradient factor");
    bad = AutoBeta{};
    bad.min_beta = 0.0;
    test::expect_error([&] { bad.validate(); }, ErrorKind::Usage, "min beta");
}

TEST(FlowDpoTest, BadInputsAreUsageErrors) {
    const auto a = torch::zeros({3}, kF64);
    expect_error([&] { flow_dpo_loss(a, a, torch::zeros({2}, kF64), a, 1.0); }, ErrorKind::Usage, "Flow-DPO");
    expect_error([&] { flow_dpo_loss(a, a, a, a, 0.0); }, ErrorKind::Usage, "beta");
    expect_error([&] { flow_dpo_loss(a, a, a, a, 1.0, torch::ones({2}, kF64)); }, ErrorKind::Usage, "weights");
    expect_error([&] { flow_dpo_loss(torch::zeros({3, 1}, kF64), a, a, a, 1.0); }, ErrorKind::Usage, "[B]");
    expect_error([&] { flow_dpo_loss(a, a, a, a, 1.0, {}, 0.5); }, ErrorKind::Usage, "label smoothing");
}

}  // namespace
}  // namespace v2a::flow
