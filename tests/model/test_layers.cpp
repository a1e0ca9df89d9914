// Building blocks of the MMAudio-style network: config/sequence lengths, SwiGLU MLPs, channel-last
// conv, RMSNorm, RoPE, attention, nearest-exact upsampling, timestep embedding.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/precision.h"
#include "v2a/model/attention.h"
#include "v2a/model/mlp.h"
#include "v2a/model/mmaudio.h"
#include "v2a/model/network_config.h"
#include "v2a/model/rms_norm.h"
#include "v2a/model/rope.h"
#include "v2a/model/timestep_embedder.h"

namespace v2a::model {
namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double atol = 1e-5) {
    ASSERT_EQ(a.sizes(), b.sizes());
    const double diff = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
    EXPECT_LE(diff, atol) << "max abs diff " << diff;
}

TEST(NetworkConfigTest, SequenceLengthsMatchReferenceTable) {
    auto s16 = NetworkConfig::small_16k().sequence_lengths(8.0);
    EXPECT_EQ(s16.latent, 250);
    EXPECT_EQ(s16.clip, 64);
    EXPECT_EQ(s16.sync, 192);  // (200 - 16) // 8 + 1 = 24 segments * 8
    EXPECT_EQ(NetworkConfig::large_44k().sequence_lengths(8.0).latent, 345);  // ceil(344.53)
    auto s4 = NetworkConfig::bench().sequence_lengths(4.0);
    EXPECT_EQ(s4.latent, 125);
    EXPECT_EQ(s4.clip, 32);
    EXPECT_EQ(s4.sync, 88);  // (100 - 16) // 8 + 1 = 11 segments
    EXPECT_THROW(NetworkConfig::tiny().sequence_lengths(0.5), Error);  // shorter than one sync segment
}

TEST(NetworkConfigTest, FfnWidthRule) {
    EXPECT_EQ(NetworkConfig::small_16k().ffn_hidden_dim(), 1280);   // int(2/3 * 1792) = 1194 -> 1280
    EXPECT_EQ(NetworkConfig::medium_44k().ffn_hidden_dim(), 2560);  // int(2/3 * 3584) = 2389 -> 2560
    EXPECT_EQ(NetworkConfig::bench().ffn_hidden_dim(), 768);        // int(2/3 * 1024) = 682 -> 768
    EXPECT_EQ(swiglu_hidden_dim(384), 256);
}

TEST(NetworkConfigTest, PresetsValidateAndUnknownIsNamed) {
    for (const auto& name : NetworkConfig::preset_names()) EXPECT_NO_THROW(NetworkConfig::preset(name).validate());
    try {
        NetworkConfig::preset("huge_99k");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Config);
        EXPECT_NE(std::string(e.what()).find("huge_99k"), std::string::npos);
    }
    auto c = NetworkConfig::tiny();
    c.num_heads = 3;  // 64 % 3 != 0
    EXPECT_THROW(c.validate(), Error);
}

TEST(NetworkConfigTest, JsonRoundTripAndBadFieldsNamed) {
    auto c = NetworkConfig::large_44k_v2();
    c.duration = 5.5;
    auto back = NetworkConfig::from_json(c.to_json());
    EXPECT_EQ(back.to_json(), c.to_json());
    EXPECT_TRUE(back.v2);
    auto j = c.to_json();
    j["num_haeds"] = 3;
    try {
        NetworkConfig::from_json(j);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Config);
        EXPECT_NE(std::string(e.what()).find("num_haeds"), std::string::npos);
    }
    j = c.to_json();
    j["depth"] = "twelve";
    try {
        NetworkConfig::from_json(j);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("depth"), std::string::npos);
    }
}

TEST(MLPTest, SwiGLUFormulaAndNoBias) {
    torch::manual_seed(0);
    MLP mlp(MLPOptions(8, 32));
    EXPECT_EQ(mlp->inner_dim(), 256);
    EXPECT_FALSE(mlp->w1->bias.defined());
    auto x = torch::randn({2, 3, 8});
    auto h = torch::matmul(x, mlp->w1->weight.t());
    auto g = torch::matmul(x, mlp->w3->weight.t());
    auto expected = torch::matmul(h * torch::sigmoid(h) * g, mlp->w2->weight.t());
    expect_close(mlp(x), expected);
}

TEST(MLPTest, ConvMLPMixesNeighboursAndKeepsLength) {
    torch::manual_seed(1);
    ConvMLP mlp(ConvMLPOptions(4, 16, 3));
    EXPECT_EQ(mlp->w1->weight.sizes(), (std::vector<int64_t>{256, 4, 3}));
    auto x = torch::zeros({1, 9, 4});
    x[0][4] = torch::randn({4});
    auto y = mlp(x);
    EXPECT_EQ(y.sizes(), x.sizes());
    // Kernel 3 twice (w1/w3 then w2): an impulse at t = 4 reaches t = 2..6 only.
    auto energy = y.abs().sum(-1)[0];
    EXPECT_EQ(energy[0].item<float>(), 0.0f);
    EXPECT_EQ(energy[1].item<float>(), 0.0f);
    EXPECT_GT(energy[2].item<float>(), 0.0f);
    EXPECT_GT(energy[6].item<float>(), 0.0f);
    EXPECT_EQ(energy[7].item<float>(), 0.0f);
}

TEST(ChannelLastConv1dTest, EqualsConv1dOnTransposedInput) {
    torch::manual_seed(2);
    ChannelLastConv1d conv(ChannelLastConv1dOptions(5, 7, 7));
    auto x = torch::randn({2, 11, 5});
    auto expected = torch::conv1d(x.transpose(1, 2), conv->weight, conv->bias, 1, 3).transpose(1, 2);
    expect_close(conv(x), expected);
    EXPECT_EQ(conv->named_parameters(false).size(), 2u);  // "weight", "bias" directly
    EXPECT_TRUE(conv->named_parameters(false).contains("weight"));
}

TEST(ChannelLastConv1dTest, Bf16PathIsTheSameConvolutionAndFollowsWeightUpdates) {
    // Under bf16 autocast the layer runs as im2col + GEMM with a cached weight (D16): the same
    // convolution within bf16 rounding, gradients still flow, and an in-place weight update is seen.
    torch::manual_seed(3);
    ChannelLastConv1d conv(ChannelLastConv1dOptions(6, 4, 3));
    auto x = torch::randn({2, 9, 6});
    // The fp32 reference outside autocast (autocast's own cast cache would keep the old weight).
    auto reference = [&] { return torch::conv1d(x.transpose(1, 2), conv->weight, conv->bias, 1, 1).transpose(1, 2); };
    auto in_bf16 = [&] {
        const AutocastScope bf16(Precision::Bf16);
        return conv(x).to(torch::kFloat);
    };
    {
        torch::NoGradGuard no_grad;
        const auto before = reference(), y = in_bf16();
        EXPECT_EQ(y.sizes(), before.sizes());
        EXPECT_LT((y - before).abs().max().item<float>(), 0.02f * before.abs().max().item<float>());
        conv->weight.mul_(-2.0);  // as an optimizer step would, in place
        const auto after = reference();
        EXPECT_LT((in_bf16() - after).abs().max().item<float>(), 0.02f * after.abs().max().item<float>());
    }
    // A sequence shorter than the kernel (the final block's k = 7 on a 2-token clip) is zero-padded the same.
    ChannelLastConv1d wide(ChannelLastConv1dOptions(6, 4, 7));
    const auto short_x = torch::randn({1, 2, 6});
    const auto short_ref = torch::conv1d(short_x.transpose(1, 2), wide->weight, wide->bias, 1, 3).transpose(1, 2);
    {
        torch::NoGradGuard no_grad;
        const AutocastScope bf16(Precision::Bf16);
        EXPECT_LT((wide(short_x).to(torch::kFloat) - short_ref).abs().max().item<float>(),
                  0.02f * short_ref.abs().max().item<float>());
    }
    in_bf16().sum().backward();
    ASSERT_TRUE(conv->weight.grad().defined());
    EXPECT_GT(conv->weight.grad().abs().sum().item<float>(), 0.0f);
}

TEST(RMSNormTest, HandComputed) {
    RMSNorm norm(RMSNormOptions(2));
    {
        torch::NoGradGuard g;
        norm->weight.copy_(torch::tensor({1.0f, 2.0f}));
    }
    auto x = torch::tensor({{3.0f, 4.0f}});  // rms = sqrt(12.5)
    const float r = std::sqrt(12.5f);
    expect_close(norm(x), torch::tensor({{3.0f / r, 8.0f / r}}));
}

TEST(RopeTest, RotatesAdjacentPairsByPositionTimesFrequency) {
    auto rot = compute_rope_rotations(4, 4);  // freqs: 1, 10000^(-1/2) = 0.01
    EXPECT_EQ(rot.sizes(), (std::vector<int64_t>{1, 4, 2, 2, 2}));
    auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 1, 1, 4}).expand({1, 1, 4, 4}).contiguous();
    auto y = apply_rope(x, rot);
    for (int p = 0; p < 4; ++p) {
        // pair 0: (1, 0) rotated by p -> (cos p, sin p); pair 1: (0, 1) rotated by 0.01 p -> (-sin, cos)
        EXPECT_NEAR(y[0][0][p][0].item<float>(), std::cos(p), 1e-6);
        EXPECT_NEAR(y[0][0][p][1].item<float>(), std::sin(p), 1e-6);
        EXPECT_NEAR(y[0][0][p][2].item<float>(), -std::sin(0.01 * p), 1e-6);
        EXPECT_NEAR(y[0][0][p][3].item<float>(), std::cos(0.01 * p), 1e-6);
    }
}

TEST(RopeTest, DotProductDependsOnlyOnPositionDifference) {
    torch::manual_seed(3);
    const int64_t L = 40, Dh = 64;
    auto rot = compute_rope_rotations(L, Dh);
    auto q = torch::randn({Dh}), k = torch::randn({Dh});
    auto qr = apply_rope(q.view({1, 1, 1, Dh}).expand({1, 1, L, Dh}).contiguous(), rot)[0][0];  // [L, Dh]
    auto kr = apply_rope(k.view({1, 1, 1, Dh}).expand({1, 1, L, Dh}).contiguous(), rot)[0][0];
    auto dots = torch::matmul(qr, kr.t());  // [m, n] = q_m . k_n
    for (int64_t shift : {1, 5, 17}) {
        for (int64_t m = 0; m + shift < L; m += 7) {
            for (int64_t n = 0; n + shift < L; n += 5) {
                EXPECT_NEAR(dots[m][n].item<float>(), dots[m + shift][n + shift].item<float>(), 2e-4);
            }
        }
    }
    // Rotation preserves the norm, and differs from the unrotated dot product.
    expect_close(qr.norm(2, -1), q.norm().expand({L}), 1e-4);
    EXPECT_GT(std::abs(dots[0][3].item<float>() - dots[0][0].item<float>()), 1e-3);
}

TEST(RopeTest, ClipPositionsLandOnAudioPositionsOfTheSameTime) {
    auto c = NetworkConfig::tiny();
    c.duration = 8.0;  // 16 kHz: N = 250 latent tokens, Nc = 64 clip frames
    MMAudio net(c);
    ASSERT_EQ(net->latent_seq_len(), 250);
    ASSERT_EQ(net->clip_seq_len(), 64);
    // Clip frame j is at j / 8 s = audio token j * 250 / 64; j = 32 -> token 125 (both at 4 s).
    expect_close(net->clip_rot[0][32], net->latent_rot[0][125], 1e-4);
    expect_close(net->clip_rot[0][0], net->latent_rot[0][0], 0.0);
    // Fractional positions: angle = (j * N / Nc) * freq_i.
    const int j = 9;
    const double pos = j * 250.0 / 64.0;
    for (int i : {0, 1, 7, 31}) {
        const double freq = std::pow(10000.0, -2.0 * i / 64.0);
        EXPECT_NEAR(net->clip_rot[0][j][i][0][0].item<float>(), std::cos(pos * freq), 2e-5);
        EXPECT_NEAR(net->clip_rot[0][j][i][1][0].item<float>(), std::sin(pos * freq), 2e-5);
    }
}

TEST(AttentionTest, EqualsNaiveSoftmaxAttention) {
    torch::manual_seed(4);
    const int64_t B = 2, H = 3, N = 5, M = 7, Dh = 4;
    auto q = torch::randn({B, H, N, Dh}), k = torch::randn({B, H, M, Dh}), v = torch::randn({B, H, M, Dh});
    auto out = attention(q, k, v);  // [B, N, H * Dh]
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{B, N, H * Dh}));
    auto qa = q.to(torch::kDouble), ka = k.to(torch::kDouble), va = v.to(torch::kDouble);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t n = 0; n < N; ++n) {
                std::vector<double> w(M);
                double mx = -1e300, sum = 0.0;
                for (int64_t m = 0; m < M; ++m) {
                    w[m] = (qa[b][h][n] * ka[b][h][m]).sum().item<double>() / std::sqrt(double(Dh));
                    mx = std::max(mx, w[m]);
                }
                for (auto& x : w) sum += (x = std::exp(x - mx));
                for (int64_t d = 0; d < Dh; ++d) {
                    double acc = 0.0;
                    for (int64_t m = 0; m < M; ++m) acc += w[m] / sum * va[b][h][m][d].item<double>();
                    EXPECT_NEAR(out[b][n][h * Dh + d].item<float>(), acc, 1e-5);
                }
            }
}

TEST(AttentionTest, QkvChannelsAreSplitHeadDimThenQKV) {
    // MMAudio splits qkv output as (h d j), j = q/k/v innermost: channel (h * Dh + d) * 3 + j.
    SelfAttention attn(SelfAttentionOptions(4, 2));  // Dh = 2
    {
        torch::NoGradGuard g;
        attn->qkv->weight.zero_();
        attn->qkv->bias.copy_(torch::arange(12, torch::kFloat32));
    }
    auto p = attn->pre_attention(torch::zeros({1, 1, 4}), torch::Tensor());
    // v (no norm): head 0 = channels 2, 5; head 1 = channels 8, 11
    expect_close(p.v.flatten(), torch::tensor({2.0f, 5.0f, 8.0f, 11.0f}));
    // k = RMSNorm of channels (1, 4) and (7, 10)
    auto rms = [](float a, float b) { return std::sqrt((a * a + b * b) / 2.0f); };
    expect_close(p.k.flatten(), torch::tensor({1 / rms(1, 4), 4 / rms(1, 4), 7 / rms(7, 10), 10 / rms(7, 10)}), 1e-5);
}

TEST(InterpolateTest, NearestExactMatchesTorch) {
    torch::manual_seed(5);
    for (auto [in, out] : std::vector<std::pair<int64_t, int64_t>>{{192, 250}, {88, 125}, {8, 3}, {24, 32}}) {
        auto x = torch::randn({2, in, 3});
        namespace F = torch::nn::functional;
        auto ref = F::interpolate(x.transpose(1, 2), F::InterpolateFuncOptions()
                                                         .size(std::vector<int64_t>{out})
                                                         .mode(torch::kNearestExact))
                       .transpose(1, 2);
        expect_close(interpolate_nearest_exact(x, out), ref, 0.0);
    }
}

TEST(TimestepEmbedderTest, CosSinFrequencies) {
    TimestepEmbedder te(TimestepEmbedderOptions(64, 256, 10000.0));
    auto e = te->timestep_embedding(torch::tensor({0.0f, 0.5f}));
    ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, 256}));
    expect_close(e[0].slice(0, 0, 128), torch::ones({128}), 0.0);   // cos(0)
    expect_close(e[0].slice(0, 128, 256), torch::zeros({128}), 0.0);  // sin(0)
    const double f1 = std::pow(10000.0, -2.0 / 256.0);
    EXPECT_NEAR(e[1][0].item<float>(), std::cos(0.5), 1e-6);
    EXPECT_NEAR(e[1][1].item<float>(), std::cos(0.5 * f1), 1e-6);
    EXPECT_NEAR(e[1][129].item<float>(), std::sin(0.5 * f1), 1e-6);
    // v2: frequency size = hidden, max_period 1 -> frequencies scaled by 10000.
    TimestepEmbedder te2(TimestepEmbedderOptions(64, 64, 1.0));
    EXPECT_NEAR(te2->freqs[1].item<float>(), 10000.0 * std::pow(10000.0, -2.0 / 64.0), 1e-2);
    EXPECT_EQ(te(torch::tensor({0.3f, 0.7f})).sizes(), (std::vector<int64_t>{2, 64}));
}

}  // namespace
}  // namespace v2a::model
