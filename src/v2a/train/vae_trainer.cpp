#include "v2a/train/vae_trainer.h"

#include "v2a/audio/mel.h"
#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/io/checkpoint.h"
#include "v2a/train/train_loop.h"

namespace v2a::train {

namespace {

// Log-mel of a whole dataset: [n, M, F] (F trimmed to an even count for the 2x downsampling).
torch::Tensor dataset_mels(const io::ClipDataset& data, const audio::MelSpectrogram& mel) {
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < data.size(); start += 64) {
        std::vector<int64_t> idx;
        for (int64_t i = start; i < std::min(data.size(), start + 64); ++i) idx.push_back(i);
        parts.push_back(mel(data.audio(idx)));
    }
    return audio::trim_mel_frames(torch::cat(parts));
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> encode_dataset(audio::AnyVae& vae, const io::ClipDataset& data,
                                                       int64_t batch_size) {
    torch::NoGradGuard no_grad;
    audio::MelSpectrogram mel;
    auto mels = dataset_mels(data, mel);
    std::vector<torch::Tensor> means, stds;
    for (int64_t s = 0; s < mels.size(0); s += batch_size) {
        auto post = vae.encode(mels.narrow(0, s, std::min(batch_size, mels.size(0) - s)));
        means.push_back(post.mean);
        stds.push_back(post.std);
    }
    return {torch::cat(means), torch::cat(stds)};
}

std::pair<torch::Tensor, torch::Tensor> latent_channel_stats(const torch::Tensor& means) {
    const auto per_channel = means.transpose(0, 1).reshape({means.size(1), -1});  // [C, n * N]
    return {per_channel.mean(1), per_channel.std(1)};
}

VaeTrainResult train_vae(const io::ClipDataset& train, const io::ClipDataset& val, const VaeTrainOptions& options) {
    V2A_CHECK(train.size() > 0 && val.size() > 0, Data, "train-vae: needs train and validation clips");
    torch::manual_seed(options.seed);
    audio::VaeOptions vopt = audio::VaeOptions::preset(options.preset);
    audio::MelVae vae(vopt);
    audio::MelSpectrogram mel;
    V2A_LOG_INFO("train-vae: computing log-mels of %lld train and %lld validation clips", (long long)train.size(),
                 (long long)val.size());
    const auto train_mels = dataset_mels(train, mel), val_mels = dataset_mels(val, mel);
    vae->set_mel_stats(train_mels.mean(std::vector<int64_t>{0, 2}), train_mels.std(2).mean(0));

    torch::optim::AdamW optimizer(vae->parameters(), torch::optim::AdamWOptions(options.lr).betas({0.9, 0.99}));
    BatchSampler sampler(train.size(), options.batch_size, options.seed);
    TrainLoopOptions lo;
    lo.name = "train-vae";
    lo.run_dir = options.run_dir;
    lo.steps = options.steps;
    lo.log_every = 10;
    lo.val_every = std::max<int64_t>(1, options.steps / 10);
    lo.checkpoint_every = options.checkpoint_every;
    lo.ema_decay = 0.0;  // the VAE is frozen after training; EMA buys little here
    lo.schedule.base_lr = options.lr;
    lo.schedule.warmup_steps = options.warmup;
    lo.schedule.kind = LrSchedule::Kind::Cosine;
    lo.schedule.total_steps = options.steps;
    lo.schedule.min_lr = options.lr * 0.05;
    lo.resume = options.resume;
    lo.seed = options.seed;
    lo.config_json = vopt.to_json();
    TrainLoop loop(lo, *vae, optimizer, &sampler);

    auto val_l1 = [&] {
        torch::NoGradGuard no_grad;
        vae->eval();
        double total = 0;
        for (int64_t s = 0; s < val_mels.size(0); s += 32) {
            auto batch = val_mels.narrow(0, s, std::min<int64_t>(32, val_mels.size(0) - s));
            total += (vae->decode(vae->encode(batch).mean) - batch).abs().mean().item<double>() * double(batch.size(0));
        }
        vae->train();
        return total / double(val_mels.size(0));
    };
    const auto start = std::chrono::steady_clock::now();
    loop.run(
        [&](int64_t, torch::Generator& gen) {
            auto idx = torch::tensor(dist::shard_rows(sampler.next(), "--batch"));
            auto losses = vae->loss(train_mels.index_select(0, idx), gen);
            return StepResult{losses.total,
                              {{"reconstruction", losses.reconstruction.item<double>()},
                               {"kl", losses.kl.item<double>()}},
                              idx.size(0)};
        },
        [&] { return std::map<std::string, double>{{"val_l1_log10_mel", val_l1()}}; });

    // Latent statistics over the train set (posterior means), for the generator's normalisation.
    vae->eval();
    audio::AnyVae codec(vae);
    const auto [mean, std] = latent_channel_stats(encode_dataset(codec, train).first);
    vae->set_latent_stats(mean, std);

    VaeTrainResult result;
    result.val_l1 = val_l1();
    result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.model_path = options.run_dir / "vae.safetensors";
    if (dist::is_writer()) {
        io::save_checkpoint(result.model_path, *vae, vopt.to_json(),
                            {{"kind", "mel_vae"}, {"val_l1_log10_mel", std::to_string(result.val_l1)}});
    }
    dist::barrier();
    V2A_LOG_INFO("train-vae: validation L1 (log10 mel) %.4f; wrote %s", result.val_l1,
                 result.model_path.string().c_str());
    return result;
}

}  // namespace v2a::train
