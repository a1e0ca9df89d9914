// The whole MMAudio-style network: state-dict names/shapes against the reference key list, shapes
// over durations, adaLN-Zero identity at init, conditions preprocessing, gradients, loading,
// overfitting one batch. Timing is in the DISABLED_ benchmark at the end (no timing assertions).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "v2a/core/error.h"
#include "v2a/model/mmaudio.h"

namespace v2a::model {
namespace {

using Shape = std::vector<int64_t>;

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double atol = 1e-5) {
    ASSERT_EQ(a.sizes(), b.sizes());
    const double diff = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
    EXPECT_LE(diff, atol) << "max abs diff " << diff;
}

// MMAudio small_16k state-dict keys and shapes, written from the key list in
// /work/shared/reference/v2a_systems.md section 1.7 (v1 indices) with D = 448, FFN 1280, Dh = 64,
// 4 joint blocks (last one pre_only for clip/text) and 8 fused blocks.
std::map<std::string, Shape> expected_small_16k() {
    const int64_t D = 448, F = 1280, C = 20;
    std::map<std::string, Shape> k;
    auto conv_mlp = [&](const std::string& p, int64_t ks) {
        k[p + ".w1.weight"] = {F, D, ks};
        k[p + ".w2.weight"] = {D, F, ks};
        k[p + ".w3.weight"] = {F, D, ks};
    };
    auto mlp = [&](const std::string& p) {
        k[p + ".w1.weight"] = {F, D};
        k[p + ".w2.weight"] = {D, F};
        k[p + ".w3.weight"] = {F, D};
    };
    k["audio_input_proj.0.weight"] = {D, C, 7};
    k["audio_input_proj.0.bias"] = {D};
    conv_mlp("audio_input_proj.2", 7);
    k["clip_input_proj.0.weight"] = {D, 1024};
    k["clip_input_proj.0.bias"] = {D};
    conv_mlp("clip_input_proj.1", 3);
    k["sync_input_proj.0.weight"] = {D, 768, 7};
    k["sync_input_proj.0.bias"] = {D};
    conv_mlp("sync_input_proj.2", 3);
    k["text_input_proj.0.weight"] = {D, 1024};
    k["text_input_proj.0.bias"] = {D};
    mlp("text_input_proj.1");
    k["clip_cond_proj.weight"] = {D, D};
    k["clip_cond_proj.bias"] = {D};
    k["text_cond_proj.weight"] = {D, D};
    k["text_cond_proj.bias"] = {D};
    mlp("global_cond_mlp");
    k["sync_pos_emb"] = {1, 1, 8, 768};
    k["t_embed.mlp.0.weight"] = {D, 256};
    k["t_embed.mlp.0.bias"] = {D};
    k["t_embed.mlp.2.weight"] = {D, D};
    k["t_embed.mlp.2.bias"] = {D};
    auto block = [&](const std::string& p, bool pre_only, bool text) {
        k[p + ".attn.qkv.weight"] = {3 * D, D};
        k[p + ".attn.qkv.bias"] = {3 * D};
        k[p + ".attn.q_norm.weight"] = {64};
        k[p + ".attn.k_norm.weight"] = {64};
        k[p + ".adaLN_modulation.1.weight"] = {(pre_only ? 2 : 6) * D, D};
        k[p + ".adaLN_modulation.1.bias"] = {(pre_only ? 2 : 6) * D};
        if (pre_only) return;
        k[p + ".linear1.weight"] = text ? Shape{D, D} : Shape{D, D, 3};
        k[p + ".linear1.bias"] = {D};
        if (text) mlp(p + ".ffn");
        else conv_mlp(p + ".ffn", 3);
    };
    for (int i = 0; i < 4; ++i) {
        const std::string p = "joint_blocks." + std::to_string(i);
        block(p + ".latent_block", false, false);
        block(p + ".clip_block", i == 3, false);
        block(p + ".text_block", i == 3, true);
    }
    for (int j = 0; j < 8; ++j) block("fused_blocks." + std::to_string(j), false, false);
    k["final_layer.adaLN_modulation.1.weight"] = {2 * D, D};
    k["final_layer.adaLN_modulation.1.bias"] = {2 * D};
    k["final_layer.conv.weight"] = {C, D, 7};
    k["final_layer.conv.bias"] = {C};
    k["latent_mean"] = {1, 1, C};
    k["latent_std"] = {1, 1, C};
    k["empty_string_feat"] = {77, 1024};
    k["empty_clip_feat"] = {1, 1024};
    k["empty_sync_feat"] = {1, 768};
    return k;
}

struct Inputs {
    torch::Tensor latent, clip, sync, text, t;
};

Inputs random_inputs(const MMAudio& net, int64_t B) {
    const auto& c = net->config();
    return {torch::randn({B, net->latent_seq_len(), c.latent_dim}), torch::randn({B, net->clip_seq_len(), c.clip_dim}),
            torch::randn({B, net->sync_seq_len(), c.sync_dim}), torch::randn({B, c.text_seq_len, c.text_dim}),
            torch::rand({B})};
}

// Gives every zero-initialised tensor small random values, as after some training.
void perturb_zero_init(MMAudio& net, double scale = 0.05) {
    torch::NoGradGuard g;
    for (auto& p : net->parameters())
        if (p.requires_grad() && p.abs().max().item<float>() == 0.0f) p.normal_(0.0, scale);
}

TEST(MMAudioTest, Small16kStateDictEqualsReferenceKeys) {
    torch::manual_seed(0);
    MMAudio net(NetworkConfig::small_16k());
    auto expected = expected_small_16k();
    std::map<std::string, Shape> actual;
    for (const auto& [key, t] : net->state_dict()) actual[key] = t.sizes().vec();
    for (const auto& [key, shape] : expected) {
        auto it = actual.find(key);
        if (it == actual.end()) {
            ADD_FAILURE() << "missing key " << key;
        } else {
            EXPECT_EQ(it->second, shape) << key;
        }
    }
    for (const auto& [key, shape] : actual) EXPECT_TRUE(expected.count(key)) << "unexpected key " << key;
    EXPECT_EQ(actual.size(), expected.size());
    // Reference table: 157.3M parameters.
    const double n = static_cast<double>(net->num_parameters());
    EXPECT_NEAR(n / 157.3e6, 1.0, 0.005) << n;
    // Derived tables exist as buffers (they follow .to()) but are not part of the state dict.
    auto buffers = net->named_buffers();
    for (const auto& key : MMAudioImpl::derived_buffer_keys()) {
        EXPECT_TRUE(buffers.contains(key)) << key;
        EXPECT_EQ(actual.count(key), 0u) << key;
    }
    EXPECT_EQ(net->latent_rot.sizes(), (Shape{1, 250, 32, 2, 2}));
    EXPECT_EQ(net->clip_rot.sizes(), (Shape{1, 64, 32, 2, 2}));
    // Non-trainable like the reference: latent stats and the empty-string feature.
    EXPECT_FALSE(net->latent_mean.requires_grad());
    EXPECT_FALSE(net->empty_string_feat.requires_grad());
    EXPECT_TRUE(net->empty_clip_feat.requires_grad());
}

TEST(MMAudioTest, V2ShiftsClipAndTextProjectionIndices) {
    auto c = NetworkConfig::tiny();
    c.v2 = true;
    MMAudio net(c);
    std::set<std::string> keys;
    for (const auto& [key, t] : net->state_dict()) keys.insert(key);
    EXPECT_TRUE(keys.count("clip_input_proj.2.w1.weight"));
    EXPECT_TRUE(keys.count("text_input_proj.2.w1.weight"));
    EXPECT_FALSE(keys.count("clip_input_proj.1.w1.weight"));
    EXPECT_EQ(net->t_embed->mlp[0]->as<torch::nn::LinearImpl>()->weight.sizes(), (Shape{64, 64}));
}

TEST(MMAudioTest, ForwardShapesAcrossDurations) {
    torch::manual_seed(1);
    MMAudio net(NetworkConfig::tiny());
    torch::NoGradGuard g;
    for (double seconds : {1.0, 2.0, 4.5}) {
        net->update_duration(seconds);
        const auto lengths = net->config().sequence_lengths(seconds);
        EXPECT_EQ(net->latent_seq_len(), lengths.latent);
        auto in = random_inputs(net, 2);
        auto v = net->forward(in.latent, in.clip, in.sync, in.text, in.t);
        EXPECT_EQ(v.sizes(), (Shape{2, lengths.latent, 8})) << seconds;
        EXPECT_EQ(net->latent_rot.size(1), lengths.latent);
        EXPECT_EQ(net->clip_rot.size(1), lengths.clip);
    }
}

TEST(MMAudioTest, WrongInputShapesAreNamed) {
    MMAudio net(NetworkConfig::tiny());
    auto in = random_inputs(net, 1);
    auto expect_data_error = [](const std::function<void()>& f, const std::string& word) {
        try {
            f();
            ADD_FAILURE() << "no throw for " << word;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Data);
            EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
        }
    };
    expect_data_error([&] { net->forward(in.latent, in.clip.narrow(1, 0, 3), in.sync, in.text, in.t); }, "clip");
    expect_data_error([&] { net->forward(in.latent, in.clip, in.sync.narrow(2, 0, 4), in.text, in.t); }, "sync");
    expect_data_error([&] { net->forward(in.latent, in.clip, in.sync, in.text.squeeze(0), in.t); }, "text");
    expect_data_error([&] { net->forward(in.latent.narrow(1, 0, 10), in.clip, in.sync, in.text, in.t); }, "latent");
    expect_data_error([&] { net->forward(in.latent, in.clip, in.sync, in.text, torch::rand({3})); }, "t must");
}

TEST(MMAudioTest, FreshNetworkIsIdentityBlocksAndZeroOutput) {
    torch::manual_seed(2);
    MMAudio net(NetworkConfig::tiny());
    torch::NoGradGuard g;
    auto in = random_inputs(net, 2);
    // adaLN-Zero + zero head: the velocity of a fresh network is exactly zero.
    auto v = net->forward(in.latent, in.clip, in.sync, in.text, in.t);
    EXPECT_EQ(v.abs().max().item<float>(), 0.0f);

    // Every block is the identity at init (gates are zero), whatever its inputs.
    auto cond = net->preprocess_conditions(in.clip, in.sync, in.text);
    auto x = torch::randn({2, net->latent_seq_len(), 64});
    auto gc = torch::randn({2, 1, 64}), ec = torch::randn({2, net->latent_seq_len(), 64});
    auto jo = net->joint_blocks[0]->as<JointBlockImpl>()->forward(x, cond.clip_f, cond.text_f, gc, ec,
                                                                 net->latent_rot, net->clip_rot);
    EXPECT_TRUE(torch::equal(jo.latent, x));
    EXPECT_TRUE(torch::equal(jo.clip, cond.clip_f));
    EXPECT_TRUE(torch::equal(jo.text, cond.text_f));
    EXPECT_TRUE(torch::equal(net->fused_blocks[0]->as<MMDitSingleBlockImpl>()->forward(x, ec, net->latent_rot), x));

    // So with a non-zero head only, the network = final_layer(audio_input_proj(latent), global_c).
    net->final_layer->conv->weight.normal_(0.0, 0.1);
    net->final_layer->adaln_linear()->weight.normal_(0.0, 0.1);
    auto v2 = net->predict_flow(in.latent, in.t, cond);
    auto global_c = net->t_embed(in.t).unsqueeze(1) + net->global_cond_mlp(cond.clip_f_c + cond.text_f_c).unsqueeze(1);
    auto expected = net->final_layer(net->audio_input_proj->forward(in.latent), global_c);
    EXPECT_GT(v2.abs().max().item<float>(), 0.0f);
    expect_close(v2, expected, 1e-5);
}

TEST(MMAudioTest, PreprocessedConditionsReusedAndEmptyConditions) {
    torch::manual_seed(3);
    MMAudio net(NetworkConfig::tiny());
    perturb_zero_init(net);
    torch::NoGradGuard g;
    auto in = random_inputs(net, 3);
    auto cond = net->preprocess_conditions(in.clip, in.sync, in.text);
    EXPECT_EQ(cond.sync_f.sizes(), (Shape{3, net->latent_seq_len(), 64}));
    expect_close(net->forward(in.latent, in.clip, in.sync, in.text, in.t), net->predict_flow(in.latent, in.t, cond));

    auto empty = net->get_empty_conditions(3);
    EXPECT_EQ(empty.clip_f.size(0), 3);
    auto explicit_empty = net->preprocess_conditions(net->get_empty_clip_sequence(3), net->get_empty_sync_sequence(3),
                                                     net->get_empty_string_sequence(3));
    expect_close(net->predict_flow(in.latent, in.t, empty), net->predict_flow(in.latent, in.t, explicit_empty));
    // Conditioning matters once weights are non-zero.
    EXPECT_GT((net->predict_flow(in.latent, in.t, empty) - net->predict_flow(in.latent, in.t, cond)).abs().max().item<float>(),
              1e-4);
    // A scalar t broadcasts over the batch.
    expect_close(net->predict_flow(in.latent, torch::tensor(0.25f), cond),
                 net->predict_flow(in.latent, torch::full({3}, 0.25f), cond));
}

TEST(MMAudioTest, GradientReachesEveryTrainableParameter) {
    torch::manual_seed(4);
    MMAudio net(NetworkConfig::tiny());
    perturb_zero_init(net);  // at exact init the zero gates block the gradient to attention/FFN weights
    auto in = random_inputs(net, 2);
    auto target = torch::randn_like(in.latent);
    auto loss = (net->forward(in.latent, in.clip, in.sync, in.text, in.t) - target).pow(2).mean();
    // The null-condition parameters only see gradient when the empty conditions are used (CFG dropout).
    auto empty = net->get_empty_conditions(2);
    loss = loss + (net->predict_flow(in.latent, in.t, empty) - target).pow(2).mean();
    loss.backward();
    // In the last (pre_only) joint block clip/text only supply keys and values: their queries are
    // computed (as in the reference, whose checkpoints contain these weights) but unused, so the
    // query norms get no gradient. Everything else must.
    const std::string last = "joint_blocks." + std::to_string(net->config().joint_depth() - 1);
    const std::set<std::string> dead = {last + ".clip_block.attn.q_norm.weight",
                                        last + ".text_block.attn.q_norm.weight"};
    for (const auto& item : net->named_parameters()) {
        const auto& key = item.key();
        const auto& p = item.value();
        if (!p.requires_grad()) {
            EXPECT_FALSE(p.grad().defined()) << key;
            continue;
        }
        ASSERT_TRUE(p.grad().defined()) << key;
        if (dead.count(key)) {
            EXPECT_EQ(p.grad().abs().max().item<float>(), 0.0f) << key;
        } else {
            EXPECT_GT(p.grad().abs().max().item<float>(), 0.0f) << key;
        }
    }
}

TEST(MMAudioTest, StateDictRoundTripAndLoadErrors) {
    torch::manual_seed(5);
    MMAudio a(NetworkConfig::tiny());
    perturb_zero_init(a);
    a->set_latent_stats(torch::linspace(-1, 1, 8), torch::linspace(0.5, 2, 8));
    torch::manual_seed(6);
    MMAudio b(NetworkConfig::tiny());
    std::map<std::string, torch::Tensor> sd;
    for (const auto& [key, t] : a->state_dict()) sd[key] = t.detach().clone();
    sd["latent_rot"] = torch::zeros({1});  // derived buffers in a checkpoint are ignored
    sd["t_embed.freqs"] = torch::zeros({1});
    b->load_state_dict(sd, true, "ckpt.safetensors");
    torch::NoGradGuard g;
    auto in = random_inputs(a, 2);
    expect_close(a->forward(in.latent, in.clip, in.sync, in.text, in.t),
                 b->forward(in.latent, in.clip, in.sync, in.text, in.t), 0.0);
    EXPECT_EQ(b->t_embed->freqs.numel(), 128);  // recomputed, not overwritten

    auto expect_model_error = [&](std::map<std::string, torch::Tensor> bad, const std::string& word, bool strict) {
        try {
            b->load_state_dict(bad, strict, "ckpt.safetensors");
            ADD_FAILURE() << "no throw for " << word;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Model);
            EXPECT_NE(std::string(e.what()).find("ckpt.safetensors"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
        }
    };
    auto missing = sd;
    missing.erase("final_layer.conv.bias");
    expect_model_error(missing, "final_layer.conv.bias", true);
    EXPECT_NO_THROW(b->load_state_dict(missing, /*strict=*/false, "ckpt.safetensors"));
    auto extra = sd;
    extra["joint_blocks.9.latent_block.attn.qkv.weight"] = torch::zeros({1});
    expect_model_error(extra, "joint_blocks.9", true);
    auto wrong = sd;
    wrong["sync_pos_emb"] = torch::zeros({1, 1, 8, 5});
    expect_model_error(wrong, "sync_pos_emb", false);  // shape mismatch throws even when not strict
}

TEST(MMAudioTest, NormalizeRoundTripAndNaNUntilSet) {
    MMAudio net(NetworkConfig::tiny());
    auto x = torch::randn({2, 5, 8});
    EXPECT_TRUE(net->normalize(x).isnan().all().item<bool>());
    net->set_latent_stats(torch::arange(8, torch::kFloat32), torch::full({8}, 2.0f));
    auto n = net->normalize(x);
    expect_close(n, (x - torch::arange(8, torch::kFloat32)) / 2.0);
    expect_close(net->unnormalize(n), x);
    EXPECT_THROW(net->set_latent_stats(torch::zeros({8}), torch::zeros({8})), Error);
    EXPECT_THROW(net->set_latent_stats(torch::zeros({7}), torch::ones({7})), Error);
}

TEST(MMAudioTest, TinyModelOverfitsOneBatch) {
    torch::manual_seed(7);
    // Tiny ops: one intra-op thread avoids OpenMP barrier overhead (restored at the end).
    const int threads_before = torch::get_num_threads();
    torch::set_num_threads(1);
    auto config = NetworkConfig::tiny();
    config.duration = 1.0;  // 32 latent tokens keep the 60 steps short
    MMAudio net(config);
    auto in = random_inputs(net, 2);
    auto x1 = torch::randn_like(in.latent);  // "data"
    auto x0 = torch::randn_like(in.latent);  // noise
    auto t = in.t.view({-1, 1, 1});
    auto xt = (1 - t) * x0 + t * x1;
    auto target = x1 - x0;  // flow-matching velocity
    torch::optim::Adam opt(net->trainable_parameters(), torch::optim::AdamOptions(3e-3));
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 60; ++step) {
        opt.zero_grad();
        auto loss = (net->forward(xt, in.clip, in.sync, in.text, in.t) - target).pow(2).mean();
        loss.backward();
        opt.step();
        if (step == 0) first = loss.item<double>();
        last = loss.item<double>();
    }
    torch::set_num_threads(threads_before);
    EXPECT_LT(last, 0.3 * first) << "first " << first << " last " << last;
}

// Forward time of the `bench` preset (4 s @ 16 kHz -> 125 latent tokens). Run with
//   build/tests/test_model --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_BenchForward*'
TEST(MMAudioTest, DISABLED_BenchForwardTime) {
    torch::manual_seed(8);
    auto config = NetworkConfig::bench();
    MMAudio net(config);
    perturb_zero_init(net);
    net->eval();
    std::printf("bench: %lld parameters (%lld trainable), latent %lld clip %lld sync %lld text %lld tokens\n",
                static_cast<long long>(net->num_parameters()), static_cast<long long>(net->num_parameters(true)),
                static_cast<long long>(net->latent_seq_len()), static_cast<long long>(net->clip_seq_len()),
                static_cast<long long>(net->sync_seq_len()), static_cast<long long>(config.text_seq_len));
    const int threads_before = torch::get_num_threads();
    for (int threads : {1, 2})
    for (int64_t B : {1, 8}) {
        torch::set_num_threads(threads);
        auto in = random_inputs(net, B);
        torch::InferenceMode guard;
        auto cond = net->preprocess_conditions(in.clip, in.sync, in.text);
        for (int i = 0; i < 2; ++i) net->predict_flow(in.latent, in.t, cond);  // warm-up
        const int reps = 10;
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) net->predict_flow(in.latent, in.t, cond);
        auto t1 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) net->forward(in.latent, in.clip, in.sync, in.text, in.t);
        auto t2 = std::chrono::steady_clock::now();
        const double flow_ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / reps;
        const double full_ms = std::chrono::duration<double, std::milli>(t2 - t1).count() / reps;
        std::printf("bench: threads %d batch %lld: predict_flow %.1f ms, full forward %.1f ms\n", threads,
                    static_cast<long long>(B), flow_ms, full_ms);
    }
    torch::set_num_threads(threads_before);
}

}  // namespace
}  // namespace v2a::model
