// Generation speed and training throughput of the V2A generator (issue 3).
//
//   bench_generate [--preset bench] [--duration 4] [--threads 1,2] [--batches 1,8] [--steps 25] [--cfg 4.5]
//                  [--train-batch 8] [--train-steps 6] [--repeats 2] [--dtypes fp32,bf16] [--out result.json]
//                  [--profile PREFIX]   (one more sampler run per setting under LibTorch's profiler:
//                                        PREFIX_<dtype>_t<threads>_b<batch>.trace, Chrome trace format;
//                                        bench/profile_ops.py ranks its operators by self time)
//
// Generation: frames + captions -> Euler sampler with CFG (conditional and unconditional passes in one
// batched forward) -> VAE decode -> Griffin-Lim (32 iterations). Real-time factor = wall seconds /
// seconds of audio produced (below 1 = faster than real time), reported for the whole pipeline and
// for the sampler alone. Training: one SFT update = encoders + flow loss + backward + AdamW, as
// `v2a train` does it, in clips/s. Weights are random: speed does not depend on their values.
// bf16 = CPU autocast (core/precision.h) around the forward passes; the JSON also gives the velocity's
// max relative deviation from fp32 on one batch (max |v_bf16 - v_fp32| / max |v_fp32|).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/precision.h"
#include "v2a/core/threads.h"
#include "v2a/flow/pipeline.h"

using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<int> parse_list(const std::string& text) {
    std::vector<int> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
    return out;
}

/// Random 25 fps frames [B, T, H, W, 3] uint8 for a clip of `duration` seconds.
torch::Tensor random_frames(int64_t batch, double duration, int size) {
    const int64_t t = int64_t(duration * 25.0 + 0.5);
    return torch::randint(0, 256, {batch, t, size, size, 3}, torch::kUInt8);
}

}  // namespace

int main(int argc, char** argv) {
    std::string preset = "bench", threads_arg = "1,2", batches_arg = "1,8", dtypes_arg = "fp32", model, out;
    double clip_seconds = 4.0;
    int steps = 25, train_batch = 8, train_steps = 6, repeats = 2;
    double cfg = 4.5;
    CLI::App app{"generation RTF and training throughput of the V2A generator"};
    app.add_option("--preset", preset, "network preset")->capture_default_str();
    app.add_option("--duration", clip_seconds, "clip length in seconds (random weights; MMAudio's papers: 8)")
        ->capture_default_str();
    app.add_option("--threads", threads_arg, "comma-separated intra-op thread counts")->capture_default_str();
    app.add_option("--batches", batches_arg, "comma-separated generation batch sizes")->capture_default_str();
    app.add_option("--steps", steps, "Euler steps")->capture_default_str();
    app.add_option("--cfg", cfg, "CFG strength")->capture_default_str();
    app.add_option("--train-batch", train_batch, "clips per training update")->capture_default_str();
    app.add_option("--train-steps", train_steps, "timed training updates")->capture_default_str();
    app.add_option("--repeats", repeats, "timed generations per setting (best is kept)")->capture_default_str();
    app.add_option("--dtypes", dtypes_arg, "comma-separated compute precisions: fp32, bf16")->capture_default_str();
    app.add_option("--model", model, "a trained generator checkpoint instead of random weights (its preset wins)");
    app.add_option("--out", out, "write the JSON result here");
    std::string profile;
    app.add_option("--profile", profile, "trace one more sampler run per setting to PREFIX_<dtype>_t<threads>_b<batch>.trace");
    CLI11_PARSE(app, argc, argv);
    try {
        torch::manual_seed(0);
        v2a::flow::V2AGenerator generator = model.empty()
            ? v2a::flow::V2AGenerator(v2a::flow::GeneratorConfig::preset(preset, clip_seconds, 64))
            : v2a::flow::load_generator(model);
        if (model.empty()) {
            // MMAudio's zero-initialised layers (final block, adaLN gates) make a fresh network's velocity
            // exactly 0, so nothing could be compared: give them small random values (speed is the same).
            torch::NoGradGuard no_grad;
            for (auto& p : generator->parameters())
                if (p.numel() > 1 && p.abs().max().item<double>() == 0.0) p.normal_(0.0, 0.02);
        }
        const auto config = generator->config();
        v2a::audio::MelVae vae(v2a::audio::VaeOptions::preset(preset == "tiny" ? "tiny" : "bench"));
        v2a::flow::Pipeline pipeline(generator, v2a::audio::AnyVae(vae), std::make_unique<v2a::audio::GriffinLimVocoder>());
        const double duration = generator->duration();
        nlohmann::json result = {{"preset", model.empty() ? preset : model},
                                 {"network_parameters", generator->net->num_parameters()},
                                 {"duration_s", duration},
                                 {"euler_steps", steps},
                                 {"cfg", cfg},
                                 {"vocoder", "griffin-lim 32 iterations"},
                                 {"generation", nlohmann::json::array()},
                                 {"training", nlohmann::json::array()}};
        std::vector<v2a::Precision> dtypes;
        {
            std::stringstream ss(dtypes_arg);
            for (std::string item; std::getline(ss, item, ',');) dtypes.push_back(v2a::parse_precision(item));
        }
        {  // bf16 deviation of the velocity on one batch (the same input and weights)
            torch::NoGradGuard no_grad;
            generator->eval();
            std::vector<std::string> captions(2, "a dog barks twice");
            auto features = generator->encode(random_frames(2, duration, config.frame_size), captions);
            auto x = torch::randn({2, generator->net->latent_seq_len(), config.network.latent_dim});
            auto t = torch::full({2}, 0.5);
            auto v32 = generator->velocity(x, t, features);
            torch::Tensor v16;
            {
                v2a::AutocastScope bf16(v2a::Precision::Bf16);
                v16 = generator->velocity(x, t, features).to(torch::kFloat);
            }
            const double dev = ((v16 - v32).abs().max() / v32.abs().max()).item<double>();
            result["bf16_velocity_max_rel_deviation"] = dev;
            std::printf("bf16 velocity: max |v_bf16 - v_fp32| / max |v_fp32| = %.3g\n", dev);
        }
        for (int threads : parse_list(threads_arg)) {
            for (auto dtype : dtypes) {
                const char* dname = v2a::precision_name(dtype);
                v2a::configure_threads(threads);  // as the CLI: LibTorch threads, BLAS single-threaded
                generator->eval();
                for (int batch : parse_list(batches_arg)) {
                    std::vector<std::string> captions(size_t(batch), "a dog barks twice");
                    auto frames = random_frames(batch, duration, config.frame_size);
                    v2a::flow::GenerateOptions go;
                    go.sampler.steps = steps;
                    go.sampler.cfg_strength = cfg;
                    torch::NoGradGuard no_grad;
                    v2a::AutocastScope precision(dtype);
                    pipeline.sample_latents(frames, captions, go);  // warm-up (allocator, OpenMP pool)
                    double best_total = 1e30, best_sampler = 1e30;
                    for (int r = 0; r < repeats; ++r) {
                        const auto t0 = Clock::now();
                        auto latents = pipeline.sample_latents(frames, captions, go);
                        const double sampler_s = seconds_since(t0);
                        pipeline.latents_to_audio(latents);
                        const double total_s = seconds_since(t0);
                        best_total = std::min(best_total, total_s);
                        best_sampler = std::min(best_sampler, sampler_s);
                    }
                    if (!profile.empty()) {
                        const std::string trace = profile + "_" + dname + "_t" + std::to_string(threads) + "_b" +
                                                  std::to_string(batch) + ".trace";
                        torch::autograd::profiler::RecordProfile guard(trace);
                        pipeline.sample_latents(frames, captions, go);
                    }
                    const double audio_s = duration * batch;
                    nlohmann::json row = {{"threads", threads},
                                          {"dtype", dname},
                                          {"batch", batch},
                                          {"seconds_per_batch", best_total},
                                          {"sampler_seconds_per_batch", best_sampler},
                                          {"rtf", best_total / audio_s},
                                          {"sampler_rtf", best_sampler / audio_s},
                                          {"x_real_time", audio_s / best_total}};
                    std::printf("generate  %s threads %d  batch %d: %.2f s per batch (sampler %.2f s)  RTF %.3f  "
                                "(%.1fx real time)\n",
                                dname, threads, batch, best_total, best_sampler, best_total / audio_s,
                                audio_s / best_total);
                    result["generation"].push_back(row);
                }
                // Training throughput: the `v2a train` step on random frames and latents.
                generator->train();
                std::vector<torch::Tensor> params;
                for (auto& p : generator->parameters()) {
                    if (p.requires_grad()) params.push_back(p);
                }
                torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-4).betas({0.9, 0.95}));
                std::vector<std::string> captions(size_t(train_batch), "a dog barks twice");
                auto frames = random_frames(train_batch, duration, config.frame_size);
                auto x1 = torch::randn({train_batch, generator->net->latent_seq_len(), config.network.latent_dim});
                auto rng = v2a::flow::cpu_generator(1);
                auto step = [&] {
                    optimizer.zero_grad();
                    torch::Tensor loss;
                    {
                        v2a::AutocastScope precision(dtype);
                        auto features = generator->encode(frames, captions);
                        loss = generator->flow_loss(x1, features, rng, {}).mean();
                    }
                    loss.backward();
                    torch::nn::utils::clip_grad_norm_(params, 1.0);
                    optimizer.step();
                };
                if (train_steps <= 0) continue;  // --train-steps 0: generation only
                step();  // warm-up
                const auto t0 = Clock::now();
                for (int s = 0; s < train_steps; ++s) step();
                const double sec = seconds_since(t0);
                const double clips_per_s = double(train_batch) * train_steps / sec;
                std::printf("train     %s threads %d  batch %d: %.2f s per update  %.2f clips/s\n", dname, threads,
                            train_batch, sec / train_steps, clips_per_s);
                result["training"].push_back({{"threads", threads},
                                              {"dtype", dname},
                                              {"batch", train_batch},
                                              {"seconds_per_update", sec / train_steps},
                                              {"clips_per_second", clips_per_s}});
            }
        }
        if (!out.empty()) v2a::fs::write_atomic(out, result.dump(2) + "\n");
        std::cout << result.dump(2) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "bench_generate: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
