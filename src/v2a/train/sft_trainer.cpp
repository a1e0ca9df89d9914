#include "v2a/train/sft_trainer.h"

#include <numeric>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/io/checkpoint.h"
#include "v2a/train/sync_onset.h"
#include "v2a/train/train_loop.h"
#include "v2a/train/vae_trainer.h"

namespace v2a::train {

LatentSet make_latent_set(audio::AnyVae& vae, const io::ClipDataset& clips) {
    auto [mean, std] = encode_dataset(vae, clips);
    return {mean.transpose(1, 2).contiguous(), std.transpose(1, 2).contiguous(), &clips};
}

torch::Tensor sample_x1(flow::V2AGenerator& generator, const LatentSet& set, const torch::Tensor& idx,
                        torch::Generator& rng) {
    auto mean = set.mean.index_select(0, idx), std = set.std.index_select(0, idx);
    return generator->net->normalize(mean + std * torch::randn(mean.sizes(), rng, mean.options()));
}

double heldout_flow_loss(flow::V2AGenerator& generator, const LatentSet& set, uint64_t seed, int draws,
                         int64_t batch_size, HeldoutVideo video) {
    torch::NoGradGuard no_grad;
    const bool was_training = generator->is_training();
    generator->eval();
    flow::FlowMatching fm;
    double total = 0;
    int64_t count = 0;
    // Data parallel: rank r scores batches r, r + N, ... and the totals are summed (the same number).
    int64_t batch_index = -1;
    for (int64_t s = 0; s < set.size(); s += batch_size) {
        if (++batch_index % dist::world_size() != dist::rank()) continue;
        std::vector<int64_t> rows;
        for (int64_t i = s; i < std::min(set.size(), s + batch_size); ++i) rows.push_back(i);
        auto idx = torch::tensor(rows, torch::kInt64);
        std::vector<int64_t> frame_rows = rows;
        if (video == HeldoutVideo::Swapped) {
            for (auto& r : frame_rows) r = swapped_video_row(r, set.size());
        }
        auto features = generator->encode(video == HeldoutVideo::None ? torch::Tensor() : set.clips->frames(frame_rows),
                                          set.clips->captions(rows));
        auto x1 = generator->net->normalize(set.mean.index_select(0, idx));
        for (int d = 0; d < draws; ++d) {
            // One generator per (batch start, draw): the same clips always get the same noise.
            auto rng = flow::cpu_generator(heldout_draw_seed(seed, s, d));
            auto sample = fm.draw(x1, rng);
            total += flow::per_sample_mse(generator->velocity(sample.x_t, sample.t, features), sample.target)
                         .sum()
                         .item<double>();
            count += int64_t(rows.size());
        }
    }
    if (was_training) generator->train();
    const auto sums = dist::all_reduce_sum(std::vector<double>{total, double(count)});
    return sums[0] / sums[1];
}

SftResult train_generator(const io::ClipDataset& train, const io::ClipDataset& val, const SftOptions& options) {
    V2A_CHECK(!options.vae_path.empty(), Usage, "train: --vae is required (run `v2a train-vae` first)");
    auto vae = audio::AnyVae::load(options.vae_path);
    torch::manual_seed(options.seed);
    flow::V2AGenerator generator{nullptr};
    if (!options.init.empty()) {
        generator = flow::load_generator(options.init);
        generator->train();
    } else {
        auto config = flow::GeneratorConfig::preset(options.preset, train.options().duration,
                                                    train.options().frame_size);
        // A new network's latent width follows the VAE it is trained on (the bench pair agree at 20).
        const int64_t vae_dim = vae.latent_dim();
        if (config.network.latent_dim != vae_dim) {
            V2A_LOG_INFO("train: preset '%s' has %lld latent channels; using the VAE's %lld",
                         options.preset.c_str(), (long long)config.network.latent_dim, (long long)vae_dim);
            config.network.latent_dim = vae_dim;
        }
        generator = flow::V2AGenerator(config);
    }
    V2A_CHECK(std::abs(generator->duration() - train.options().duration) < 1e-9, Config,
              "train: the generator is built for ", generator->duration(), " s clips, the data has ",
              train.options().duration, " s");
    V2A_LOG_INFO("train: encoding %lld train and %lld validation clips with the %s VAE", (long long)train.size(),
                 (long long)val.size(), vae.kind_name());
    const LatentSet train_set = make_latent_set(vae, train), val_set = make_latent_set(vae, val);
    if (const auto stats = vae.latent_stats()) {
        generator->net->set_latent_stats(stats->first, stats->second);
    } else if (options.init.empty()) {
        // An MMAudio VAE keeps no latent statistics (MMAudio's network does): a new network takes them
        // from its training latents' posterior means, as our VAE trainer computes its own.
        const auto [mean, std] = latent_channel_stats(train_set.mean.transpose(1, 2));  // set: [n, N, C]
        generator->net->set_latent_stats(mean, std);
    }
    V2A_CHECK(train_set.mean.size(1) == generator->net->latent_seq_len(), Data, "train: VAE latents have ",
              train_set.mean.size(1), " tokens, the network expects ", generator->net->latent_seq_len());
    V2A_LOG_INFO("train: generator has %lld parameters (network %lld)", (long long)[&] {
        int64_t n = 0;
        for (auto& p : generator->parameters()) n += p.numel();
        return n;
    }(), (long long)generator->net->num_parameters());

    auto optimizer = generator_adamw(*generator, options.lr);
    BatchSampler sampler(train.size(), options.batch_size, options.seed);
    const auto lo = generator_loop_options("train", options, options.ema_decay, generator->config().to_json());
    TrainLoop loop(lo, *generator, *optimizer, &sampler);
    const flow::ConditionDropoutOptions dropout{options.dropout, options.video_together};
    // Scored the way the model is conditioned (the --no-video baseline without frames); a video model
    // is scored with swapped videos too: the gap is how much it reads its video.
    auto heldout = [&](HeldoutVideo video) { return heldout_flow_loss(generator, val_set, 1234, 4, 16, video); };
    auto validation = [&] {
        if (!options.video_condition) return std::map<std::string, double>{{"loss", heldout(HeldoutVideo::None)}};
        const double own = heldout(HeldoutVideo::Own), swapped = heldout(HeldoutVideo::Swapped);
        return std::map<std::string, double>{{"loss", own}, {"loss_swapped_video", swapped}, {"video_gap", swapped - own}};
    };
    // During training also score the EMA weights (what is exported): the convergence of a base is read
    // on them. The raw weights are put back afterwards.
    auto validation_with_ema = [&] {
        auto values = validation();
        if (loop.ema() == nullptr) return values;
        io::TensorMap raw;
        for (const auto& [name, tensor] : io::state_dict(*generator)) raw[name] = tensor.detach().clone();
        io::load_state_dict(*generator, loop.ema()->state(), true, "EMA");
        values["loss_ema"] = heldout(options.video_condition ? HeldoutVideo::Own : HeldoutVideo::None);
        io::load_state_dict(*generator, raw, true, "raw weights");
        return values;
    };

    // The sync encoder's onset loss (the Synchformer stand-in's timing signal, sync_onset.h).
    const bool onset_aux = options.video_condition && options.sync_onset_weight > 0 && !generator->cond->sync.is_empty() &&
                           generator->cond->sync->has_onset_head();
    torch::Tensor onset_targets;  // [n_train, Ns]
    if (onset_aux) {
        const auto layout = generator->cond->sync->options.token_layout();  // targets at the times its tokens describe
        // In chunks: stacking every clip's audio at once would double the dataset's audio in memory.
        std::vector<torch::Tensor> chunks;
        for (int64_t s = 0; s < train.size(); s += 64) {
            std::vector<int64_t> rows(size_t(std::min<int64_t>(64, train.size() - s)));
            std::iota(rows.begin(), rows.end(), s);
            chunks.push_back(sync_onset_targets(train.audio(rows), train.options().sample_rate, train.n_frames(), layout));
        }
        onset_targets = torch::cat(chunks, 0);
        V2A_LOG_INFO("train: sync onset loss on, weight %.3g", options.sync_onset_weight);
    }

    const auto start = std::chrono::steady_clock::now();
    loop.run(
        [&](int64_t, torch::Generator& rng) {
            // The global batch's rows and randomness; this process runs the network on its slice.
            const auto rows = sampler.next();
            const auto local = dist::shard_rows(rows, "--batch");
            const AutocastScope precision(options.precision);  // the forward; backward follows the graph
            // Undefined frames = null video features (the video-unconditional baseline).
            auto features = generator->encode(options.video_condition ? train.frames(local) : torch::Tensor(),
                                              train.captions(local));
            auto x1 = sample_x1(generator, train_set, torch::tensor(rows, torch::kInt64), rng);
            auto loss = generator->flow_loss(x1, features, rng, dropout).mean();
            if (!onset_aux) return StepResult{loss, {}, int64_t(local.size())};
            auto onset = sync_onset_loss(generator->cond->sync->predict_onsets(features.sync_f),
                                         onset_targets.index_select(0, torch::tensor(local, torch::kInt64)));
            return StepResult{loss + options.sync_onset_weight * onset,
                              {{"flow_loss", loss.item<double>()}, {"sync_onset_loss", onset.item<double>()}},
                              int64_t(local.size())};
        },
        validation_with_ema);

    SftResult result;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.samples_per_second = loop.throughput();
    // The exported model is the EMA average; score it on the held-out clips too.
    result.model_path = options.run_dir / "generator.safetensors";
    io::load_state_dict(*generator, loop.ema() ? loop.ema()->state() : io::state_dict(*generator), true, "EMA");
    const auto final_scores = validation();
    result.heldout_loss = final_scores.at("loss");
    if (final_scores.count("loss_swapped_video")) result.heldout_loss_swapped = final_scores.at("loss_swapped_video");
    if (dist::is_writer()) flow::save_generator(result.model_path, generator);
    dist::barrier();  // the model file exists for every rank when train_generator returns
    V2A_LOG_INFO("train: held-out flow-matching loss (EMA) %.4f (swapped videos %.4f); wrote %s",
                 result.heldout_loss, result.heldout_loss_swapped, result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
