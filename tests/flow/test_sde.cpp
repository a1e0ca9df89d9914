#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/expect_error.h"
#include "v2a/core/error.h"
#include "v2a/flow/sampler.h"
#include "v2a/flow/sde.h"

namespace v2a::flow {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

using test::expect_error;

torch::Tensor full_t(int64_t b, double t) { return torch::full({b}, t, kF64); }

// Independent evaluation of the reference step in Flow-GRPO's own variables, element by element.
struct Reference {
    double mean, step_std;
};
Reference reference_step(double x, double v_ours, double t, double t_next, double a, double sigma_max) {
    const double sigma = 1.0 - t, sigma_next = 1.0 - t_next, dt = sigma_next - sigma;
    const double v = -v_ours;  // d x / d sigma
    const double std_t = a * std::sqrt(sigma / (1.0 - (sigma == 1.0 ? sigma_max : sigma)));
    const double mean =
        x * (1.0 + std_t * std_t / (2.0 * sigma) * dt) + v * (1.0 + std_t * std_t * (1.0 - sigma) / (2.0 * sigma)) * dt;
    return {mean, std_t * std::sqrt(-dt)};
}
double normal_log_density(double x, double mean, double sd) {
    return -0.5 * std::log(2.0 * M_PI * sd * sd) - (x - mean) * (x - mean) / (2.0 * sd * sd);
}

TEST(SdeStepTest, LogProbMatchesClosedFormGaussianDensity) {
    torch::manual_seed(0);
    const int64_t B = 2, N = 3, C = 2;
    const auto x = torch::randn({B, N, C}, kF64), v = torch::randn({B, N, C}, kF64);
    const auto next = torch::randn({B, N, C}, kF64);
    // Row-wise different times (DDPO shuffles steps per sample).
    const auto t = torch::tensor({0.3, 0.0}, kF64), t_next = torch::tensor({0.4, 0.25}, kF64);
    const double a = 0.7, sigma_max = 0.8;
    SdeStep step({a});
    const auto r = step.log_prob(x, v, t, t_next, sigma_max, next);
    ASSERT_EQ(r.log_prob.sizes(), torch::IntArrayRef({B}));
    auto xa = x.accessor<double, 3>(), va = v.accessor<double, 3>(), na = next.accessor<double, 3>();
    for (int64_t b = 0; b < B; ++b) {
        const double tb = t[b].item<double>(), tnb = t_next[b].item<double>();
        double sum = 0.0;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t c = 0; c < C; ++c) {
                const auto ref = reference_step(xa[b][n][c], va[b][n][c], tb, tnb, a, sigma_max);
                EXPECT_NEAR(r.mean[b][n][c].item<double>(), ref.mean, 1e-12);
                sum += normal_log_density(na[b][n][c], ref.mean, ref.step_std);
            }
        EXPECT_NEAR(r.log_prob[b].item<double>(), sum / (N * C), 1e-12) << "row " << b;
    }
    // sigma == 1 (t = 0) uses sigma_max in the denominator: std_t = a sqrt(1 / (1 - 0.8))
    EXPECT_NEAR(r.std_t[1].item<double>(), a * std::sqrt(1.0 / 0.2), 1e-12);
    EXPECT_NEAR(r.std_t[0].item<double>(), a * std::sqrt(0.7 / 0.3), 1e-12);
    EXPECT_NEAR(r.step_std[0].item<double>(), a * std::sqrt(0.7 / 0.3) * std::sqrt(0.1), 1e-12);
}

TEST(SdeStepTest, SampledNoiseHasTheStepStd) {
    SdeStep step({0.7});
    const int64_t B = 2, N = 20000, C = 1;
    const auto x = torch::randn({B, N, C}, kF64), v = torch::randn({B, N, C}, kF64);
    auto gen = cpu_generator(11);
    const auto r = step.sample(x, v, full_t(B, 0.5), full_t(B, 0.6), 0.9, gen);
    const auto z = (r.next - r.mean) / r.step_std.view({B, 1, 1});
    EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.02);
    EXPECT_NEAR(z.std().item<double>(), 1.0, 0.02);
    // Its stored log-prob equals a re-evaluation at the sampled point.
    const auto again = step.log_prob(x, v, full_t(B, 0.5), full_t(B, 0.6), 0.9, r.next);
    EXPECT_TRUE(torch::allclose(r.log_prob, again.log_prob, 0, 1e-12));
}

TEST(SdeStepTest, ZeroNoiseLevelIsTheEulerStep) {
    const auto x = torch::randn({3, 4, 2}, kF64), v = torch::randn({3, 4, 2}, kF64);
    SdeStep step({0.0});
    auto gen = cpu_generator(1);
    for (double t : {0.0, 0.4}) {
        const auto r = step.sample(x, v, full_t(3, t), full_t(3, t + 0.2), 0.8, gen);
        EXPECT_TRUE(torch::allclose(r.next, x + 0.2 * v, 0, 1e-12)) << "t " << t;
        EXPECT_FALSE(r.log_prob.defined());
    }
    expect_error([&] { step.log_prob(x, v, full_t(3, 0.1), full_t(3, 0.2), 0.8, x); }, ErrorKind::Usage,
                 "noise_level");
}

TEST(SdeStepTest, DriftKeepsTheGaussianMarginalOfAPointMass) {
    // Data = point mass at mu: x_t ~ N(t mu, (1 - t)^2) and the exact velocity is (mu - x) / (1 - t).
    // The SDE (with its score correction) keeps that marginal up to discretisation error; a wrong
    // sign in the correction gives std 2.9 instead of 0.5 here. The step is affine in x, so the
    // exact discrete moments are propagated alongside with the scalar reference above.
    const double mu = 2.0, a = 0.7;
    const int64_t M = 20000;
    auto gen = cpu_generator(3);
    auto x = torch::randn({M, 1, 1}, gen, kF64);
    SdeStep step({a});
    const auto grid = time_grid(40);
    const double sigma_max = 1.0 - grid[1];
    double m = 0.0, var = 1.0;
    for (int i = 0; i < 20; ++i) {
        const double t = grid[i], tn = grid[i + 1];
        const auto v = (mu - x) / (1.0 - t);
        x = step.sample(x, v, full_t(M, t), full_t(M, tn), sigma_max, gen).next;
        const auto f0 = reference_step(0.0, mu / (1.0 - t), t, tn, a, sigma_max);
        const auto f1 = reference_step(1.0, (mu - 1.0) / (1.0 - t), t, tn, a, sigma_max);
        const double alpha = f1.mean - f0.mean;
        m = alpha * m + f0.mean;
        var = alpha * alpha * var + f0.step_std * f0.step_std;
    }
    EXPECT_NEAR(m, 0.5 * mu, 1e-12);
    EXPECT_NEAR(std::sqrt(var), 0.5, 0.03);  // the marginal, up to the Euler-Maruyama bias
    EXPECT_NEAR(x.mean().item<double>(), m, 0.01);
    EXPECT_NEAR(x.std().item<double>(), std::sqrt(var), 0.01);
}

TEST(SdeStepTest, GaussianKlClosedFormAndAgainstLogDensities) {
    const auto a = torch::full({2, 3, 2}, 1.0, kF64), b = torch::full({2, 3, 2}, 0.4, kF64);
    const auto sd = torch::tensor({0.5, 2.0}, kF64);
    const auto kl = gaussian_mean_kl(a, b, sd);
    // 0.36 / (2 * 0.25) = 0.72; 0.36 / 8 = 0.045
    EXPECT_TRUE(torch::allclose(kl, torch::tensor({0.72, 0.045}, kF64), 0, 1e-14));
    EXPECT_TRUE(torch::allclose(gaussian_mean_kl(a, a, sd), torch::zeros({2}, kF64)));

    // With step_std it is the per-element KL of the two step densities: evaluated at x' = mean_a,
    // log p_a - log p_b = (mean_a - mean_b)^2 / (2 step_std^2) exactly.
    SdeStep step({0.7});
    const auto x = torch::randn({2, 3, 2}, kF64);
    const auto va = torch::randn({2, 3, 2}, kF64), vb = torch::randn({2, 3, 2}, kF64);
    const auto t = full_t(2, 0.2), tn = full_t(2, 0.3);
    const auto ra = step.moments(x, va, t, tn, 0.9);
    const auto pa = step.log_prob(x, va, t, tn, 0.9, ra.mean), pb = step.log_prob(x, vb, t, tn, 0.9, ra.mean);
    const auto rb = step.moments(x, vb, t, tn, 0.9);
    EXPECT_TRUE(torch::allclose(pa.log_prob - pb.log_prob, gaussian_mean_kl(ra.mean, rb.mean, ra.step_std), 0, 1e-12));
    expect_error([&] { gaussian_mean_kl(a, b, torch::ones({3}, kF64)); }, ErrorKind::Usage, "Gaussian KL");
}

TEST(SdeStepTest, BadTimesAreUsageErrors) {
    SdeStep step;
    const auto x = torch::zeros({2, 3, 1}, kF64);
    auto gen = cpu_generator(0);
    expect_error([&] { step.sample(x, x, full_t(2, 0.5), full_t(2, 0.5), 0.9, gen); }, ErrorKind::Usage, "t_next");
    expect_error([&] { step.sample(x, x, full_t(2, 1.0), full_t(2, 1.0), 0.9, gen); }, ErrorKind::Usage, "t_next");
    expect_error([&] { step.sample(x, x, full_t(3, 0.1), full_t(3, 0.2), 0.9, gen); }, ErrorKind::Usage, "[2]");
    expect_error([&] { step.sample(x, torch::zeros({2, 3, 2}, kF64), full_t(2, 0.1), full_t(2, 0.2), 0.9, gen); },
                 ErrorKind::Usage, "velocity");
    expect_error([&] { step.sample(x, x, full_t(2, 0.1), full_t(2, 0.2), 1.0, gen); }, ErrorKind::Usage, "sigma_max");
}

// A small "policy": v = w * tanh(x) + t, with separate unconditional behaviour for CFG.
struct ParamField : VelocityField {
    torch::Tensor w;
    explicit ParamField(double value) : w(torch::full({1}, value, kF64).requires_grad_(true)) {}
    torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) override {
        auto v = w * torch::tanh(x) + t.view({-1, 1, 1});
        if (layout.guidance == Guidance::CondThenUncond) {
            auto scale = torch::ones({x.size(0), 1, 1}, kF64);
            scale.narrow(0, layout.batch, layout.batch).fill_(0.25);
            v = v * scale;
        }
        return v;
    }
};

TEST(SdeSamplerTest, TrajectoryRecordsEveryTransitionAndRecomputesItsLogProb) {
    ParamField field(0.8);
    SdeSampler sampler({6, 2.0, 0.7});
    auto gen = cpu_generator(5);
    SdeTrajectory traj;
    {
        torch::NoGradGuard no_grad;
        traj = sampler.sample(field, 3, 4, 2, gen, kF64);
    }
    ASSERT_EQ(traj.latents.sizes(), torch::IntArrayRef({3, 7, 4, 2}));
    ASSERT_EQ(traj.log_probs.sizes(), torch::IntArrayRef({3, 6}));
    ASSERT_EQ(traj.timesteps.sizes(), torch::IntArrayRef({3, 7}));
    EXPECT_EQ(traj.steps(), 6);
    EXPECT_NEAR(traj.sigma_max, 1.0 - 1.0 / 6.0, 1e-15);
    EXPECT_DOUBLE_EQ(traj.timesteps[2][6].item<double>(), 1.0);
    auto g0 = cpu_generator(5);
    EXPECT_TRUE(torch::equal(traj.latents.select(1, 0), torch::randn({3, 4, 2}, g0, kF64)));
    EXPECT_TRUE(torch::equal(traj.final_sample(), traj.latents.select(1, 6)));

    for (int64_t i = 0; i < traj.steps(); ++i) {
        const auto tr = traj.transition(i);
        const auto r = sampler.recompute(field, tr);  // same policy -> PPO ratio 1
        EXPECT_TRUE(torch::allclose(r.log_prob, tr.log_prob, 0, 1e-10)) << "step " << i;
    }
    // A changed policy changes the log-prob, and the gradient reaches its parameter.
    ParamField other(0.5);
    const auto r = sampler.recompute(other, traj.transition(2));
    EXPECT_FALSE(torch::allclose(r.log_prob, traj.log_probs.select(1, 2)));
    r.log_prob.sum().backward();
    ASSERT_TRUE(other.w.grad().defined());
    EXPECT_GT(other.w.grad().abs().item<double>(), 0.0);
    expect_error([&] { traj.transition(6); }, ErrorKind::Usage, "out of range");
}

TEST(SdeSamplerTest, DeterministicUnderSeedAndZeroNoiseEqualsEuler) {
    ParamField field(0.8);
    torch::NoGradGuard no_grad;
    SdeSampler sampler({5, 3.0, 0.7});
    auto g1 = cpu_generator(9), g2 = cpu_generator(9), g3 = cpu_generator(10);
    const auto a = sampler.sample(field, 2, 3, 2, g1, kF64), b = sampler.sample(field, 2, 3, 2, g2, kF64);
    const auto c = sampler.sample(field, 2, 3, 2, g3, kF64);
    EXPECT_TRUE(torch::equal(a.latents, b.latents));
    EXPECT_TRUE(torch::equal(a.log_probs, b.log_probs));
    EXPECT_FALSE(torch::allclose(a.final_sample(), c.final_sample()));

    SdeSampler ode({5, 3.0, 0.0});
    EulerSampler euler({5, 3.0, OdeMethod::Euler});
    auto g4 = cpu_generator(9), g5 = cpu_generator(9);
    const auto s = ode.sample(field, 2, 3, 2, g4, kF64);
    EXPECT_FALSE(s.log_probs.defined());
    EXPECT_TRUE(torch::allclose(s.final_sample(), euler.sample(field, 2, 3, 2, g5, kF64), 0, 1e-12));
}

}  // namespace
}  // namespace v2a::flow
