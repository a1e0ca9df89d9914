#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_error.h"
#include "v2a/core/error.h"
#include "v2a/flow/sampler.h"
#include "v2a/flow/velocity.h"

namespace v2a::flow {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

using test::expect_error;

TEST(TimeGridTest, LinspaceFromNoiseToData) {
    const auto grid = time_grid(4);
    ASSERT_EQ(grid.size(), 5u);
    EXPECT_DOUBLE_EQ(grid[0], 0.0);
    EXPECT_DOUBLE_EQ(grid[1], 0.25);
    EXPECT_DOUBLE_EQ(grid[4], 1.0);
    expect_error([] { time_grid(0); }, ErrorKind::Usage, "steps");
}

TEST(EulerSamplerTest, ConstantFieldLandsExactlyOnTarget) {
    const auto x0 = torch::tensor({0.5, -1.0, 2.0, 0.0, 3.0, -2.5}, kF64).view({2, 1, 3});
    const auto x1 = torch::tensor({1.0, 1.0, -1.0, 4.0, 0.0, 0.5}, kF64).view({2, 1, 3});
    FunctionVelocityField field([&](const torch::Tensor& x, const torch::Tensor&, const BatchLayout&) {
        return (x1 - x0).clone();
    });
    for (auto method : {OdeMethod::Euler, OdeMethod::Midpoint, OdeMethod::Heun}) {
        EulerSampler sampler({25, 1.0, method});
        const auto out = sampler.integrate(field, x0);
        EXPECT_TRUE(torch::allclose(out, x1, 0, 1e-12)) << static_cast<int>(method) << "\n" << out;
    }
}

TEST(EulerSamplerTest, StraightPathFieldLandsOnItsTarget) {
    // v = (x_target - x) / (1 - t) is the velocity of the straight path through x toward x_target.
    const auto target = torch::tensor({1.0, -2.0, 0.25, 7.0}, kF64).view({1, 2, 2});
    FunctionVelocityField field([&](const torch::Tensor& x, const torch::Tensor& t, const BatchLayout&) {
        return (target - x) / (1.0 - t.view({-1, 1, 1}));
    });
    EulerSampler sampler({7, 1.0, OdeMethod::Euler});
    const auto start = torch::tensor({3.0, 3.0, -3.0, 0.0}, kF64).view({1, 2, 2});
    EXPECT_TRUE(torch::allclose(sampler.integrate(field, start), target, 0, 1e-12));
}

TEST(EulerSamplerTest, SecondOrderMethodsAreExactOnLinearInTimeField) {
    // v = 2 t d -> x(1) = x0 + d. Euler gives x0 + d * (S - 1) / S (the left Riemann sum of 2t).
    const auto d = torch::tensor({1.0, -3.0}, kF64).view({1, 1, 2});
    FunctionVelocityField field([&](const torch::Tensor& x, const torch::Tensor& t, const BatchLayout&) {
        return 2.0 * t.view({-1, 1, 1}) * d.expand_as(x);
    });
    const auto x0 = torch::zeros({1, 1, 2}, kF64);
    const int S = 5;
    EXPECT_TRUE(torch::allclose(EulerSampler({S, 1.0, OdeMethod::Euler}).integrate(field, x0), d * (S - 1.0) / S,
                                0, 1e-12));
    EXPECT_TRUE(torch::allclose(EulerSampler({S, 1.0, OdeMethod::Heun}).integrate(field, x0), d, 0, 1e-12));
    EXPECT_TRUE(torch::allclose(EulerSampler({S, 1.0, OdeMethod::Midpoint}).integrate(field, x0), d, 0, 1e-12));
}

// A fake network: conditional rows return `cond`, unconditional rows `uncond`; records every call.
struct RecordingField : VelocityField {
    double cond = 2.0, uncond = 1.0;
    std::vector<BatchLayout> layouts;
    std::vector<int64_t> rows;
    std::vector<torch::Tensor> inputs;
    torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) override {
        layouts.push_back(layout);
        rows.push_back(x.size(0));
        inputs.push_back(x.clone());
        EXPECT_EQ(t.size(0), x.size(0));
        auto v = torch::empty_like(x);
        switch (layout.guidance) {
            case Guidance::Conditional: v.fill_(cond); break;
            case Guidance::Unconditional: v.fill_(uncond); break;
            case Guidance::CondThenUncond:
                v.narrow(0, 0, layout.batch).fill_(cond);
                v.narrow(0, layout.batch, layout.batch).fill_(uncond);
                break;
        }
        return v;
    }
};

TEST(GuidanceTest, CfgFormulaWithOneBatchedCall) {
    RecordingField field;
    const auto x = torch::randn({3, 4, 2}, kF64);
    const auto v = guided_velocity(field, x, 0.3, 4.5);
    // 4.5 * 2 + (1 - 4.5) * 1 = 5.5
    EXPECT_TRUE(torch::allclose(v, torch::full({3, 4, 2}, 5.5, kF64)));
    ASSERT_EQ(field.rows.size(), 1u);
    EXPECT_EQ(field.rows[0], 6);
    EXPECT_EQ(field.layouts[0].guidance, Guidance::CondThenUncond);
    EXPECT_EQ(field.layouts[0].batch, 3);
    EXPECT_TRUE(torch::equal(field.inputs[0].narrow(0, 0, 3), x));
    EXPECT_TRUE(torch::equal(field.inputs[0].narrow(0, 3, 3), x));

    // s <= 1: only the conditional pass with B rows.
    for (double s : {1.0, 0.5}) {
        RecordingField f;
        EXPECT_TRUE(torch::allclose(guided_velocity(f, x, 0.3, s), torch::full({3, 4, 2}, 2.0, kF64)));
        ASSERT_EQ(f.rows.size(), 1u);
        EXPECT_EQ(f.rows[0], 3);
        EXPECT_EQ(f.layouts[0].guidance, Guidance::Conditional);
    }
}

TEST(EulerSamplerTest, OneBatchedForwardPerStepWithCfg) {
    RecordingField field;
    field.cond = 1.0;
    field.uncond = -1.0;
    EulerSampler sampler({8, 3.0, OdeMethod::Euler});
    std::vector<double> ts;
    const auto out = sampler.integrate(field, torch::zeros({2, 5, 3}, kF64),
                                       [&](const StepInfo& info) {
                                           EXPECT_EQ(info.step, static_cast<int>(ts.size()));
                                           EXPECT_EQ(info.steps, 8);
                                           ts.push_back(info.t_next);
                                       });
    // guided v = 3 * 1 + (1 - 3) * (-1) = 5 for all t -> x(1) = 5
    EXPECT_TRUE(torch::allclose(out, torch::full({2, 5, 3}, 5.0, kF64), 0, 1e-12));
    ASSERT_EQ(field.rows.size(), 8u);
    EXPECT_EQ(sampler.calls_per_run(), 8);
    for (auto r : field.rows) EXPECT_EQ(r, 4);
    ASSERT_EQ(ts.size(), 8u);
    EXPECT_DOUBLE_EQ(ts.front(), 0.125);
    EXPECT_DOUBLE_EQ(ts.back(), 1.0);
}

TEST(EulerSamplerTest, SameSeedSameOutputDifferentSeedDifferent) {
    FunctionVelocityField field([](const torch::Tensor& x, const torch::Tensor& t, const BatchLayout& layout) {
        auto v = torch::tanh(x) - t.view({-1, 1, 1});
        if (layout.guidance == Guidance::CondThenUncond) v.narrow(0, layout.batch, layout.batch).mul_(0.5);
        return v;
    });
    EulerSampler sampler({6, 4.5});
    auto g1 = cpu_generator(42), g2 = cpu_generator(42), g3 = cpu_generator(43);
    const auto a = sampler.sample(field, 2, 10, 4, g1);
    const auto b = sampler.sample(field, 2, 10, 4, g2);
    const auto c = sampler.sample(field, 2, 10, 4, g3);
    EXPECT_EQ(a.sizes(), torch::IntArrayRef({2, 10, 4}));
    EXPECT_EQ(a.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::allclose(a, c));
    // The initial noise is randn [B, N, C] from the generator: with a zero field the output is it.
    FunctionVelocityField zero([](const torch::Tensor& x, const torch::Tensor&, const BatchLayout&) {
        return torch::zeros_like(x);
    });
    auto g4 = cpu_generator(42), g5 = cpu_generator(42);
    EXPECT_TRUE(torch::equal(sampler.sample(zero, 2, 10, 4, g4), torch::randn({2, 10, 4}, g5)));
}

TEST(EulerSamplerTest, ReducedPrecisionLatentsGetFp32Times) {
    std::vector<torch::ScalarType> time_dtypes;
    FunctionVelocityField field([&](const torch::Tensor& x, const torch::Tensor& t, const BatchLayout&) {
        time_dtypes.push_back(t.scalar_type());
        return torch::ones_like(x);
    });
    auto gen = cpu_generator(1);
    const auto out = EulerSampler({3, 2.0}).sample(field, 1, 2, 2, gen, torch::kBFloat16);
    EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(time_dtypes.size(), 3u);
    for (auto d : time_dtypes) EXPECT_EQ(d, torch::kFloat);
}

TEST(EulerSamplerTest, BadInputsAreNamedErrors) {
    FunctionVelocityField wrong([](const torch::Tensor& x, const torch::Tensor&, const BatchLayout&) {
        return torch::zeros({1, 1, 1});
    });
    EulerSampler sampler({2, 1.0});
    expect_error([&] { sampler.integrate(wrong, torch::zeros({2, 3, 4})); }, ErrorKind::Model, "velocity field");
    expect_error([&] { sampler.integrate(wrong, torch::zeros({2, 3})); }, ErrorKind::Usage, "[B, N, C]");
    expect_error([] { EulerSampler({0, 4.5}); }, ErrorKind::Config, "steps");
}

}  // namespace
}  // namespace v2a::flow
