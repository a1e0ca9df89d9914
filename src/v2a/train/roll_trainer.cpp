#include "v2a/train/roll_trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/media.h"
#include "v2a/io/safetensors.h"
#include "v2a/train/batch_sampler.h"
#include "v2a/train/train_loop.h"

namespace v2a::train {

int64_t PianoFrames::total_frames() const {
    int64_t n = 0;
    for (const auto& f : frames) n += f.size(0);
    return n;
}

PianoFrames load_piano_frames(const io::Manifest& manifest, io::Split split, int64_t max_clips) {
    const auto rows = manifest.filter(split).rows;
    V2A_CHECK(!rows.empty(), Data, manifest.path.string(), ": no ", io::split_name(split), " clips");
    PianoFrames out;
    for (const auto& row : rows) {
        if (max_clips > 0 && int64_t(out.ids.size()) >= max_clips) break;
        auto roll_path = row.video;
        roll_path.replace_extension(".roll.safetensors");
        V2A_CHECK(std::filesystem::exists(roll_path), Data, manifest.path.string(), ": clip '", row.id,
                  "' has no piano roll (", roll_path.string(), "; made by v2a synth --task piano)");
        const auto info = io::probe(row.video);
        io::VideoDecodeOptions vo;
        vo.fps = info.video_fps > 0 ? info.video_fps : 25.0;
        vo.width = info.width;
        vo.height = info.height;
        auto frames = io::decode_video(row.video, vo).frames;
        auto roll = io::load_safetensors(roll_path).tensors.at("roll");
        V2A_CHECK(roll.dim() == 2 && roll.size(0) == frames.size(0), Data, roll_path.string(), ": roll ", roll.sizes(),
                  " does not match the video's ", frames.size(0), " frames");
        if (out.ids.empty()) {
            out.height = info.height;
            out.width = info.width;
        }
        V2A_CHECK(info.height == out.height && info.width == out.width, Data, row.video.string(), ": ", info.width, "x",
                  info.height, " frames, the split's first clip has ", out.width, "x", out.height);
        out.ids.push_back(row.id);
        out.frames.push_back(frames);
        out.rolls.push_back(roll);
    }
    return out;
}

nlohmann::json RollEval::to_json() const {
    auto s = [](const metrics::FrameScores& f) {
        return nlohmann::json{{"precision", f.precision}, {"recall", f.recall}, {"f1", f.f1}, {"accuracy", f.accuracy}};
    };
    return {{"frames", frames}, {"audeo", s(audeo)}, {"mir_eval", s(mir_eval)}};
}

torch::Tensor predict_roll(model::RollPredictor& model, const torch::Tensor& frames, int64_t batch) {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    const auto windows = model::roll_predictor_windows(frames, model->options().in_frames);
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < windows.size(0); s += batch)
        parts.push_back(torch::sigmoid(model->forward(windows.narrow(0, s, std::min(batch, windows.size(0) - s)))));
    model->train(was_training);
    return torch::cat(parts);
}

RollEval evaluate_roll_predictor(model::RollPredictor& model, const PianoFrames& clips, double threshold, int64_t batch) {
    std::vector<torch::Tensor> est, ref;
    for (size_t i = 0; i < clips.ids.size(); ++i) {
        est.push_back(predict_roll(model, clips.frames[i], batch) >= threshold);
        ref.push_back(clips.rolls[i] > 0);
    }
    const auto e = torch::cat(est), r = torch::cat(ref);
    RollEval out;
    out.frames = e.size(0);
    metrics::FrameMetricsOptions audeo;
    audeo.convention = metrics::FrameConvention::Audeo;
    out.audeo = metrics::frame_metrics(e, r, audeo);
    out.mir_eval = metrics::frame_metrics(e, r);
    return out;
}

RollTrainResult train_roll_predictor(const RollTrainOptions& o) {
    V2A_CHECK(o.steps >= 1 && o.batch_size >= 1 && o.lr > 0, Usage, "train roll predictor: steps, batch and lr must be > 0");
    V2A_CHECK(o.loss == "mse" || o.loss == "bce", Usage, "train roll predictor: --loss must be mse or bce, got '", o.loss, "'");
    V2A_CHECK(o.threshold > 0 && o.threshold < 1, Usage, "train roll predictor: --threshold must be in (0, 1)");
    const auto start = std::chrono::steady_clock::now();
    const auto manifest = io::read_manifest(o.manifest);
    const auto train = load_piano_frames(manifest, io::Split::Train, o.max_train_clips);
    const auto val = load_piano_frames(manifest, io::Split::Val, o.max_val_clips);
    auto mo = o.model;
    mo.height = train.height;
    mo.width = train.width;
    torch::manual_seed(o.seed);
    model::RollPredictor net(mo);
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(1e-4));

    // Items are (clip, frame) pairs, numbered clip by clip.
    std::vector<int64_t> first{0};
    for (const auto& f : train.frames) first.push_back(first.back() + f.size(0));
    BatchSampler sampler(first.back(), o.batch_size, o.seed);
    TrainLoopOptions lo;
    lo.name = "roll predictor";
    lo.run_dir = o.run_dir;
    lo.steps = o.steps;
    lo.log_every = o.log_every;
    lo.val_every = o.val_every;
    lo.checkpoint_every = o.checkpoint_every;
    lo.ema_decay = 0.0;  // BatchNorm's running statistics are not averaged by the EMA: export the live weights
    lo.schedule.base_lr = o.lr;
    lo.schedule.warmup_steps = o.warmup;
    lo.resume = o.resume;
    lo.seed = o.seed;
    lo.config_json = mo.to_json().dump();
    TrainLoop loop(lo, *net, opt, &sampler);
    loop.run(
        [&](int64_t, torch::Generator&) {
            std::vector<torch::Tensor> x, y;
            for (int64_t item : sampler.next()) {
                const int64_t c = int64_t(std::upper_bound(first.begin(), first.end(), item) - first.begin()) - 1;
                const int64_t k = item - first[size_t(c)];
                x.push_back(model::roll_predictor_input(train.frames[size_t(c)], torch::tensor({k}), mo.in_frames));
                y.push_back(train.rolls[size_t(c)][k] > 0);
            }
            const auto input = torch::cat(x);  // [B, in, H, W]
            const auto target = torch::stack(y).to(torch::kFloat);
            const auto logits = net->forward(input);
            const auto loss = o.loss == "mse" ? torch::mse_loss(torch::sigmoid(logits), target)
                                              : torch::binary_cross_entropy_with_logits(logits, target);
            StepResult r;
            r.loss = loss;
            r.samples = target.size(0);
            return r;
        },
        [&]() -> std::map<std::string, double> {
            const auto e = evaluate_roll_predictor(net, val, o.threshold);
            return {{"val_f1", e.audeo.f1}, {"val_precision", e.audeo.precision}, {"val_recall", e.audeo.recall},
                    {"val_accuracy", e.audeo.accuracy}, {"val_f1_mir_eval", e.mir_eval.f1}};
        });
    RollTrainResult result;
    result.model_path = o.run_dir / "model.safetensors";
    result.val = evaluate_roll_predictor(net, val, o.threshold);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json j = {{"model", result.model_path.string()},
                        {"val", result.val.to_json()},
                        {"threshold", o.threshold},
                        {"loss", o.loss},
                        {"train_clips", train.ids.size()},
                        {"val_clips", val.ids.size()},
                        {"steps", o.steps},
                        {"seconds", result.seconds},
                        {"convention", "audeo: per-frame P/R/F1 averaged over frames (sklearn samples, zero_division 1); "
                                       "mir_eval: micro over all frames"}};
    fs::write_atomic(o.run_dir / "result.json", j.dump(2) + "\n");
    return result;
}

model::RollPredictor load_roll_predictor(const std::filesystem::path& path) {
    const auto config = nlohmann::json::parse(io::read_checkpoint_config(path));
    V2A_CHECK(config.value("kind", "") == "roll_predictor", Data, path.string(), ": not a Roll Predictor checkpoint");
    model::RollPredictor net(model::RollPredictorOptions::from_json(config));
    io::load_checkpoint(path, *net);
    net->eval();
    return net;
}

}  // namespace v2a::train
