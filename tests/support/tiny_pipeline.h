// Tiny models on disk for tests of the preference stages: a `tiny` generator (4 s clips, 32x32
// frames, 8 latent channels), a matching tiny VAE, four tone clips with flat-colour frames, and
// (on request) untrained judges and an untrained AudioScore. The numbers they produce are
// arbitrary but deterministic, which is what the mechanics under test need.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "v2a/audio/vae.h"
#include "v2a/flow/generator.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/judge/judges.h"
#include "v2a/judge/networks.h"
#include "v2a/judge/training.h"
#include "v2a/score/audio_score.h"

namespace v2a::test {

struct TinyPipeline {
    static constexpr double kSeconds = 4.0;
    static constexpr int64_t kChannels = 8;
    TempDir dir;
    std::filesystem::path generator, vae, judges, audioscore;
    std::unique_ptr<io::ClipDataset> clips;
    int64_t tokens = 0;

    explicit TinyPipeline(bool with_judges = false, int n_clips = 4) {
        torch::manual_seed(0);
        flow::V2AGenerator g(flow::GeneratorConfig::preset("tiny", kSeconds, 32));
        g->net->set_latent_stats(torch::zeros({kChannels}), torch::ones({kChannels}));
        tokens = g->net->latent_seq_len();
        generator = dir / "generator.safetensors";
        flow::save_generator(generator, g);
        auto vo = audio::VaeOptions::preset("tiny");
        vo.latent_dim = kChannels;
        audio::MelVae v(vo);
        v->set_latent_stats(torch::zeros({kChannels}), torch::ones({kChannels}));
        vae = dir / "vae.safetensors";
        io::save_checkpoint(vae, *v, vo.to_json(), {{"kind", "mel_vae"}});

        // Clip i: a tone (high or low by parity), frames of one colour, a caption on odd clips.
        std::vector<io::ClipItem> items;
        for (int i = 0; i < n_clips; ++i) {
            io::ClipItem it;
            it.id = "clip" + std::to_string(i);
            it.caption = i % 2 ? "a low tone" : "";
            it.label = i % 2 ? "low" : "high";
            it.frames = torch::full({int64_t(kSeconds * 25), 32, 32, 3}, 40 * i, torch::kUInt8);
            auto t = torch::arange(int64_t(kSeconds * 16000), torch::kFloat) / 16000.0;
            it.audio = 0.3 * torch::sin(2 * M_PI * (i % 2 ? 220.0 : 880.0) * (1 + 0.1 * i) * t);
            // Ground truth in the benchmark's format (the simulated annotator reads the events).
            it.truth_json = R"({"label": ")" + it.label +
                            R"(", "sources": [{"role": "main", "sounding": true, "events": [{"time": 1.0, "frame": 25}]}]})";
            items.push_back(std::move(it));
        }
        io::ClipDatasetOptions o;
        o.duration = kSeconds;
        o.frame_size = 32;
        clips = std::make_unique<io::ClipDataset>(std::move(items), o);

        if (with_judges) {
            judges = dir / "judges";
            std::filesystem::create_directories(judges);
            for (const auto& kind : judge::judge_kinds()) {
                auto m = judge::new_judge(kind, *clips);
                judge::save_judge(judges / (kind + ".safetensors"), *m);
            }
            // With the classifier's classes the model stores a (uniform) marginal, so a clip's quality
            // score does not depend on the batch it is scored in.
            score::AudioScoreOptions ao;
            ao.classes = clips->labels();
            score::AudioScore as(ao);
            audioscore = dir / "audioscore.safetensors";
            score::save_audioscore(audioscore, as);
        }
    }
};

}  // namespace v2a::test
