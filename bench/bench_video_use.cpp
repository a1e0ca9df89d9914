// Does a trained generator use the video? Held-out flow-matching loss of the same clips at the same
// (noise, t) draws under five conditions: own video; another clip's video (clip i gets clip i + n/2);
// only the sync stream swapped; only the semantic (clip) stream swapped; the learned null video.
// A model that reads the video's timing has loss(own) < loss(sync swapped); one that ignores the video
// has all five equal. Per-t bins show where (high t = near data, where timing details are decided).
//
//   bench_video_use --model generator.safetensors --vae vae.safetensors --manifest M [--split val]
//                   [--limit 200] [--draws 4] [--out result.json]
#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/audio/vae.h"
#include "v2a/core/fs.h"
#include "v2a/core/threads.h"
#include "v2a/flow/generator.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/train/sft_trainer.h"

namespace {

constexpr int kBins = 4;  // t in [0, .25), [.25, .5), [.5, .75), [.75, 1)

struct Tally {
    double sum = 0;
    int64_t n = 0;
    std::array<double, kBins> bin_sum{};
    std::array<int64_t, kBins> bin_n{};
    void add(const torch::Tensor& loss, const torch::Tensor& t) {
        auto l = loss.accessor<float, 1>();
        auto tt = t.accessor<float, 1>();
        for (int64_t i = 0; i < loss.size(0); ++i) {
            sum += l[i];
            ++n;
            const int b = std::min(kBins - 1, int(tt[i] * kBins));
            bin_sum[size_t(b)] += l[i];
            ++bin_n[size_t(b)];
        }
    }
    nlohmann::json json() const {
        nlohmann::json bins = nlohmann::json::array();
        for (int b = 0; b < kBins; ++b) bins.push_back(bin_n[size_t(b)] ? bin_sum[size_t(b)] / double(bin_n[size_t(b)]) : 0.0);
        return {{"loss", n ? sum / double(n) : 0.0}, {"loss_by_t_quarter", bins}, {"draws", n}};
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string model, vae_path, manifest, split = "val", out;
    int limit = 200, draws = 4, threads = 2;
    CLI::App app{"held-out flow loss with own / swapped / null video: does the generator use the video?"};
    app.add_option("--model", model, "generator checkpoint")->required();
    app.add_option("--vae", vae_path, "VAE checkpoint")->required();
    app.add_option("--manifest", manifest, "benchmark manifest")->required();
    app.add_option("--split", split, "split")->capture_default_str();
    app.add_option("--limit", limit, "first N clips of the split")->capture_default_str();
    app.add_option("--draws", draws, "(noise, t) draws per clip")->capture_default_str();
    app.add_option("--threads", threads, "intra-op threads")->capture_default_str();
    app.add_option("--out", out, "write the JSON result here");
    bool random_init = false;
    app.add_flag("--random-init", random_init, "control: the checkpoint's config with fresh random weights");
    CLI11_PARSE(app, argc, argv);
    try {
        v2a::configure_threads(threads);
        torch::NoGradGuard no_grad;
        auto generator = v2a::flow::load_generator(model);
        if (random_init) {
            torch::manual_seed(0);
            v2a::flow::V2AGenerator fresh(generator->config());
            fresh->net->set_latent_stats(generator->net->latent_mean, generator->net->latent_std);
            fresh->eval();
            generator = fresh;
        }
        auto vae = v2a::audio::AnyVae::load(vae_path);
        auto sp = v2a::io::parse_split(split);
        if (!sp) throw std::runtime_error("--split must be train, val or test");
        auto rows = v2a::io::read_manifest(manifest).filter(*sp);
        if (limit > 0 && int64_t(rows.rows.size()) > limit) rows.rows.resize(size_t(limit));
        v2a::io::ClipDatasetOptions o;
        o.duration = generator->duration();
        o.frame_size = generator->config().frame_size;
        o.cache_dir = std::filesystem::path(manifest).parent_path() / "cache";
        v2a::io::ClipDataset clips(rows, o, "bench_video_use");
        const auto set = v2a::train::make_latent_set(vae, clips);
        const int64_t n = set.size(), batch = 16;
        if (n < 2) throw std::runtime_error("need at least 2 clips");

        const std::vector<std::string> names = {"own", "swapped_video", "swapped_sync_only", "swapped_clip_only",
                                                "null_video"};
        std::vector<Tally> tallies(names.size());
        v2a::flow::FlowMatching fm;
        // How much the encoders' features vary between videos, relative to their size: near 0 means
        // the encoders collapsed to one output whatever the video.
        std::vector<torch::Tensor> sync_rows, clip_rows;
        for (int64_t s = 0; s < n; s += batch) {
            std::vector<int64_t> idx, other;
            for (int64_t i = s; i < std::min(n, s + batch); ++i) {
                idx.push_back(i);
                other.push_back(v2a::train::swapped_video_row(i, n));
            }
            const auto caps = clips.captions(idx);
            const auto own = generator->encode(clips.frames(idx), caps);
            const auto swp = generator->encode(clips.frames(other), caps);
            const auto null = generator->encode(torch::Tensor(), caps);
            sync_rows.push_back(own.sync_f);
            clip_rows.push_back(own.clip_f);
            const std::vector<v2a::model::ConditionFeatures> conds = {
                own, swp, {own.clip_f, swp.sync_f, own.text_f}, {swp.clip_f, own.sync_f, own.text_f}, null};
            auto x1 = generator->net->normalize(set.mean.index_select(0, torch::tensor(idx, torch::kInt64)));
            for (int d = 0; d < draws; ++d) {
                auto rng = v2a::flow::cpu_generator(v2a::train::heldout_draw_seed(1234, s, d));  // the trainer's draws
                auto sample = fm.draw(x1, rng);
                for (size_t c = 0; c < conds.size(); ++c) {
                    auto loss = v2a::flow::per_sample_mse(generator->velocity(sample.x_t, sample.t, conds[c]),
                                                          sample.target);
                    tallies[c].add(loss.to(torch::kFloat).contiguous(), sample.t.to(torch::kFloat).contiguous());
                }
            }
            std::fprintf(stderr, "\rbench_video_use: %lld/%lld clips", (long long)std::min(n, s + batch), (long long)n);
        }
        std::fprintf(stderr, "\n");
        nlohmann::json result = {{"model", model}, {"manifest", manifest}, {"split", split}, {"clips", n}};
        for (size_t c = 0; c < names.size(); ++c) result[names[c]] = tallies[c].json();
        auto spread = [](const std::vector<torch::Tensor>& rows) {
            auto f = torch::cat(rows, 0);  // [n, L, D]
            return (f.std(0).pow(2).mean() / f.pow(2).mean()).sqrt().item<double>();
        };
        result["sync_feature_spread"] = spread(sync_rows);
        result["clip_feature_spread"] = spread(clip_rows);
        const double own_loss = tallies[0].sum / double(tallies[0].n);
        for (size_t c = 1; c < names.size(); ++c)
            result["gap_" + names[c]] = tallies[c].sum / double(tallies[c].n) - own_loss;
        std::cout << result.dump(2) << "\n";
        if (!out.empty()) v2a::fs::write_atomic(out, result.dump(2) + "\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_video_use: %s\n", e.what());
        return 1;
    }
    return 0;
}
