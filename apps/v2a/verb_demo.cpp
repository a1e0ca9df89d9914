// `v2a demo`: the README's main job, a quick end-to-end run on the embedded default config:
// synth a small benchmark -> train the VAE -> train the generator briefly -> generate audio for the
// test clips -> measure how well generated onsets follow the video's events -> mux one example.
// (As the project grows this gains judges, AudioScore, pairs and Flow-DPO: see docs/ARCHITECTURE.md.)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/flow/pipeline.h"
#include "v2a/io/media.h"
#include "v2a/metrics/events.h"
#include "v2a/metrics/onset.h"
#include "v2a/synth/dataset.h"
#include "v2a/train/sft_trainer.h"
#include "v2a/train/vae_trainer.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

struct DemoArgs {
    std::string out = "runs/demo";
    int64_t n_train = 64, n_val = 8, n_test = 8;
    int64_t vae_steps = 300, gen_steps = 120;
    int64_t batch = 8;
    int steps = 25;
    double cfg = 4.5;
    uint64_t seed = 0;
};

// Times (s) of the sounding events of a benchmark clip (main and second source, not distractors).
std::vector<double> sounding_event_times(const std::string& truth_json) {
    std::vector<double> times;
    auto truth = nlohmann::json::parse(truth_json);
    for (const auto& source : truth.at("sources")) {
        if (!source.value("sounding", true)) continue;
        for (const auto& e : source.at("events")) times.push_back(e.at("time").get<double>());
    }
    std::sort(times.begin(), times.end());
    return times;
}

// Onset F1 (+-100 ms) of each waveform [B, S] against its clip's events, averaged.
double mean_onset_f1(const torch::Tensor& wavs, const io::ClipDataset& clips, const std::vector<int64_t>& truth_of) {
    metrics::OnsetStrengthOptions o;
    o.sr = 16000;
    o.n_fft = 1024;
    o.hop_length = 256;
    o.n_mels = 80;
    double total = 0;
    for (int64_t i = 0; i < wavs.size(0); ++i) {
        auto reference = sounding_event_times(clips[truth_of[size_t(i)]].truth_json);
        auto estimated = metrics::onset_times(wavs[i].to(torch::kFloat64), o);
        total += metrics::onset_f1(reference, estimated).f1;
    }
    return total / double(wavs.size(0));
}

void run(const DemoArgs& a) {
    const std::filesystem::path root = a.out;
    const auto start = std::chrono::steady_clock::now();
    // 1. The benchmark.
    synth::DatasetOptions so;
    so.out = root / "data";
    so.n_train = a.n_train;
    so.n_val = a.n_val;
    so.n_test = a.n_test;
    so.seed = a.seed;
    auto summary = synth::write_dataset(so);
    std::printf("demo: benchmark %s: %lld clips of %.0f s, %s classes\n", so.out.c_str(),
                (long long)summary.value("clips", 0), so.config.seconds,
                std::to_string(summary.at("classes").size()).c_str());

    DataArgs data;
    data.manifest = (so.out / "manifest.csv").string();
    data.frame_size = 64;
    auto train = data.load(io::Split::Train, true, true, "demo");
    auto val = data.load(io::Split::Val, true, true, "demo");
    auto test = data.load(io::Split::Test, true, true, "demo");

    // 2. VAE, 3. generator.
    train::VaeTrainOptions vo;
    vo.steps = a.vae_steps;
    vo.run_dir = root / "vae";
    vo.seed = a.seed;
    vo.checkpoint_every = 0;
    auto vae = train::train_vae(train, val, vo);
    train::SftOptions go;
    go.vae_path = vae.model_path;
    go.steps = a.gen_steps;
    go.batch_size = a.batch;
    go.warmup = std::min<int64_t>(100, a.gen_steps / 5);
    go.ema_decay = 0.99;
    go.run_dir = root / "generator";
    go.seed = a.seed;
    go.checkpoint_every = 0;
    go.val_every = std::max<int64_t>(1, a.gen_steps / 3);
    auto gen = train::train_generator(train, val, go);

    // 4. Generate for the test clips: with their own video, and with the videos shuffled.
    auto pipeline = flow::Pipeline::load(gen.model_path, vae.model_path);
    flow::GenerateOptions options;
    options.sampler.steps = a.steps;
    options.sampler.cfg_strength = a.cfg;
    options.seed = a.seed + 1;
    std::vector<int64_t> rows(size_t(test.size())), shuffled(size_t(test.size()));
    for (int64_t i = 0; i < test.size(); ++i) {
        rows[size_t(i)] = i;
        shuffled[size_t(i)] = (i + 1) % test.size();
    }
    V2A_LOG_INFO("demo: generating %lld test clips (%d Euler steps, CFG %.1f)", (long long)test.size(), a.steps,
                 a.cfg);
    auto generated = pipeline.generate(test.frames(rows), test.captions(rows), options);
    auto mismatched = pipeline.generate(test.frames(shuffled), test.captions(shuffled), options);
    const double f1_gt = mean_onset_f1(test.audio(rows), test, rows);
    const double f1_gen = mean_onset_f1(generated, test, rows);
    const double f1_shuffled = mean_onset_f1(mismatched, test, rows);

    // 5. One example muxed with its video, as MMAudio's demo writes it.
    io::Audio example;
    example.sample_rate = pipeline.sample_rate();
    auto first = generated[0].contiguous();
    example.samples.assign(first.data_ptr<float>(), first.data_ptr<float>() + first.numel());
    const auto example_path = root / "example.mp4";
    io::mux_audio_into_video(test[0].video, example, example_path);

    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    std::printf("\n== v2a demo (%.1f min) ==\n", minutes);
    std::printf("  VAE validation L1 (log10 mel)           %.4f\n", vae.val_l1);
    std::printf("  generator held-out flow-matching loss  %.4f  (%lld steps, %.2f samples/s)\n", gen.heldout_loss,
                (long long)a.gen_steps, gen.samples_per_second);
    std::printf("  onset F1 (+-100 ms) vs ground-truth events, %lld test clips:\n", (long long)test.size());
    std::printf("    ground-truth audio                   %.3f\n", f1_gt);
    std::printf("    generated, own video                 %.3f\n", f1_gen);
    std::printf("    generated, shuffled video            %.3f\n", f1_shuffled);
    std::printf("  example: %s (video + generated audio)\n", example_path.c_str());
    std::printf("  runs: %s/{vae,generator} (metrics.jsonl, loss.png)\n", root.c_str());
    nlohmann::json result = {{"minutes", minutes},           {"vae_val_l1", vae.val_l1},
                             {"heldout_flow_loss", gen.heldout_loss}, {"onset_f1_gt", f1_gt},
                             {"onset_f1_generated", f1_gen}, {"onset_f1_shuffled", f1_shuffled},
                             {"train_clips", a.n_train},    {"generator_steps", a.gen_steps}};
    fs::write_atomic(root / "demo.json", result.dump(2));
}

}  // namespace

void add_demo(CLI::App& app) {
    auto* cmd = app.add_subcommand("demo", "run the end-to-end demo on the embedded default config");
    auto a = std::make_shared<DemoArgs>();
    cmd->add_option("--out", a->out, "run folder")->capture_default_str();
    cmd->add_option("--train", a->n_train, "benchmark train clips")->capture_default_str();
    cmd->add_option("--test", a->n_test, "benchmark test clips")->capture_default_str();
    cmd->add_option("--vae-steps", a->vae_steps, "VAE updates")->capture_default_str();
    cmd->add_option("--generator-steps", a->gen_steps, "generator updates")->capture_default_str();
    cmd->add_option("--batch", a->batch, "generator batch")->capture_default_str();
    cmd->add_option("--seed", a->seed, "seed")->capture_default_str();
    cmd->callback([a] { run(*a); });
}

}  // namespace v2a::cli
