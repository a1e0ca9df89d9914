#include "v2a/judge/training.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <numeric>
#include <cmath>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/judge/interfaces.h"
#include "v2a/judge/judges.h"
#include "v2a/metrics/similarity.h"

namespace v2a::judge {

namespace F = torch::nn::functional;

namespace {

bool is_classifier(const std::string& kind) { return kind == kCnn || kind == kTransformer; }

ClassifierOutput classify(JudgeModuleImpl& module, const torch::Tensor& audio) {
    if (auto* m = dynamic_cast<CnnClassifierImpl*>(&module)) return m->forward(audio);
    if (auto* m = dynamic_cast<PatchTransformerImpl*>(&module)) return m->forward(audio);
    fail(ErrorKind::Internal, "judge '", module.config().kind, "' is not a classifier");
}

// A non-owning shared_ptr, to reuse the interface adapters on a module owned by the caller.
std::shared_ptr<JudgeModuleImpl> borrow(JudgeModuleImpl& module) {
    return std::shared_ptr<JudgeModuleImpl>(&module, [](JudgeModuleImpl*) {});
}

// Restores training/eval mode on scope exit.
struct EvalScope {
    explicit EvalScope(JudgeModuleImpl& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
    ~EvalScope() { m_.train(was_training_); }
    JudgeModuleImpl& m_;
    bool was_training_;
};

torch::Tensor gain(const torch::Tensor& audio, torch::Generator& gen) {
    // Random level in [-4.3 dB, +4.3 dB]: judges should not key on loudness.
    auto g = (torch::rand({audio.size(0), 1}, gen) - 0.5).exp();
    return audio * g;
}

std::vector<std::string> captions_of(const io::ClipDataset& data, const std::vector<int64_t>& indices) {
    std::vector<std::string> out;
    for (int64_t i : indices) out.push_back(data[i].caption);
    return out;
}

double clip_duration(const io::ClipDataset& data) { return double(data.n_samples()) / kJudgeSampleRate; }

}  // namespace

std::vector<int64_t> trainable_indices(const std::string& kind, const io::ClipDataset& data) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < data.size(); ++i) {
        if (kind == kTextAudio && data[i].caption.empty()) continue;
        out.push_back(i);
    }
    return out;
}

std::shared_ptr<JudgeModuleImpl> new_judge(const std::string& kind, const io::ClipDataset& train, const JudgeSetup& setup) {
    judge_role(kind);  // validates the name
    V2A_CHECK(train.size() >= 2, Data, "judge ", kind, ": needs at least 2 training clips, got ", train.size());
    V2A_CHECK(train[0].audio.defined(), Data, "judge ", kind, ": the training clips have no audio loaded");
    JudgeConfig c;
    c.kind = kind;
    c.embed_dim = setup.embed_dim;
    c.frame_size = kind == kSync ? setup.sync_frame_size : setup.frame_size;
    c.grid = setup.grid;
    c.window_seconds = setup.sync_window;
    c.clip_seconds = clip_duration(train);
    if (kind == kVideoAudio || kind == kSync) {
        V2A_CHECK(train[0].frames.defined(), Data, "judge ", kind, ": the training clips have no video frames loaded");
    }
    if (kind == kSync) {
        centred_window_start(c.clip_seconds, c.window_seconds, c.grid.min);  // throws if the clip is too short
        centred_window_start(c.clip_seconds, c.window_seconds, c.grid.max);
    }
    if (kind == kTextAudio) {
        V2A_CHECK(trainable_indices(kind, train).size() >= 2, Data, "judge ", kind,
                  ": needs at least 2 training clips with a caption");
    }
    if (is_classifier(kind)) {
        c.classes = train.labels();
        V2A_CHECK(c.classes.size() >= 2, Data, "judge ", kind, ": needs at least 2 classes, got ", c.classes.size());
    }
    // Front-end statistics from (up to 256) training clips.
    {
        torch::NoGradGuard g;
        std::vector<int64_t> idx;
        for (int64_t i = 0; i < std::min<int64_t>(train.size(), 256); ++i) idx.push_back(i);
        auto mel = judge_log_mel(train.audio(idx));
        c.mel_mean = mel.mean().item<double>();
        c.mel_std = std::max(1e-3, mel.std().item<double>());
    }
    return make_judge_module(c);
}

torch::Tensor judge_loss(JudgeModuleImpl& module, const io::ClipDataset& data, const std::vector<int64_t>& indices,
                         torch::Generator& gen, std::map<std::string, double>* metrics) {
    const auto& c = module.config();
    V2A_CHECK(!indices.empty(), Internal, "judge_loss: empty batch");
    if (is_classifier(c.kind)) {
        auto targets = class_targets(data, c.classes).index_select(0, torch::tensor(indices));
        V2A_CHECK((targets >= 0).all().item<bool>(), Data, "judge ", c.kind, ": a clip's label is not one of its classes");
        auto out = classify(module, gain(data.audio(indices), gen));
        if (metrics) (*metrics)["accuracy"] = (out.logits.argmax(1) == targets).to(torch::kDouble).mean().item<double>();
        return F::cross_entropy(out.logits, targets);
    }
    if (c.kind == kVideoAudio) {
        auto& m = dynamic_cast<VideoAudioJudgeImpl&>(module);
        auto v = m.embed_video(data.frames(indices));
        auto a = m.embed_audio(gain(data.audio(indices), gen));
        if (metrics) {
            auto sim = F::normalize(v, F::NormalizeFuncOptions().dim(1)).matmul(F::normalize(a, F::NormalizeFuncOptions().dim(1)).t());
            (*metrics)["batch_r1"] = (sim.argmax(1) == torch::arange(v.size(0))).to(torch::kDouble).mean().item<double>();
            (*metrics)["temperature"] = 1.0 / m.logit_scale().exp().item<double>();
        }
        return info_nce(v, a, m.logit_scale());
    }
    if (c.kind == kTextAudio) {
        auto& m = dynamic_cast<TextAudioJudgeImpl&>(module);
        std::vector<int64_t> keep;
        for (int64_t i : indices) {
            if (!data[i].caption.empty()) keep.push_back(i);
        }
        V2A_CHECK(keep.size() >= 2, Data, "judge text_audio: fewer than 2 captioned clips in the batch");
        auto t = m.embed_text(captions_of(data, keep));
        auto a = m.embed_audio(gain(data.audio(keep), gen));
        if (metrics) (*metrics)["temperature"] = 1.0 / m.logit_scale().exp().item<double>();
        return info_nce(t, a, m.logit_scale());
    }
    // Sync: per clip a random grid offset and a random window on the 25 fps grid where both the video
    // window and the shifted audio window fit inside the clip.
    auto& m = dynamic_cast<SyncNetImpl&>(module);
    const double duration = clip_duration(data);
    std::vector<torch::Tensor> fw, aw;
    std::vector<int64_t> truth;
    for (int64_t i : indices) {
        const int64_t k = torch::randint(0, c.grid.classes, {1}, gen).item<int64_t>();
        const double off = c.grid.offset(k);
        const double lo = std::max(0.0, -off), hi = std::min(duration - c.window_seconds, duration - c.window_seconds - off);
        const int64_t lo_f = int64_t(std::ceil(lo * kJudgeFps - 1e-6)), hi_f = int64_t(std::floor(hi * kJudgeFps + 1e-6));
        V2A_CHECK(hi_f >= lo_f, Data, "judge sync: clip too short for offset ", off, " s");
        const int64_t f0 = lo_f + torch::randint(0, hi_f - lo_f + 1, {1}, gen).item<int64_t>();
        auto [f, a] = shifted_window(data[i].frames, data[i].audio, double(f0) / kJudgeFps, off, c.window_seconds);
        fw.push_back(f);
        aw.push_back(a);
        truth.push_back(k);
    }
    auto logits = m.forward(torch::stack(fw), gain(torch::stack(aw), gen));
    auto t = torch::tensor(truth, torch::kLong);
    if (metrics) {
        auto pred = logits.argmax(1);
        (*metrics)["accuracy"] = (pred == t).to(torch::kDouble).mean().item<double>();
        (*metrics)["within_one"] = ((pred - t).abs() <= 1).to(torch::kDouble).mean().item<double>();
    }
    return F::cross_entropy(logits, t);
}

nlohmann::json judge_quality(JudgeModuleImpl& module, const io::ClipDataset& data) {
    EvalScope scope(module);
    torch::NoGradGuard g;
    const auto& c = module.config();
    nlohmann::json q = {{"clips", data.size()}};
    Judges j = judges_from_modules({borrow(module)});
    if (is_classifier(c.kind)) {
        AudioClassifier& cls = c.kind == kCnn ? *j.cnn : *j.transformer;
        auto out = classify_batched(cls, data.audio([&] {
            std::vector<int64_t> all(size_t(data.size()));
            std::iota(all.begin(), all.end(), 0);
            return all;
        }()));
        auto targets = class_targets(data, c.classes);
        q["top1"] = top1_accuracy(out.logits, targets);
        q["chance_top1"] = 1.0 / double(c.classes.size());
        auto counts = torch::bincount(targets.clamp_min(0), {}, int64_t(c.classes.size()));
        q["majority_top1"] = counts.max().item<double>() / double(data.size());
        return q;
    }
    if (c.kind == kSync) {
        auto acc = sync_accuracy(*j.sync, data);
        q["windows"] = acc.n;
        q["exact"] = acc.exact;
        q["within_one"] = acc.within_one;
        q["chance_exact"] = acc.chance_exact;
        q["chance_within_one"] = acc.chance_within_one;
        return q;
    }
    const auto idx = trainable_indices(c.kind, data);
    V2A_CHECK(idx.size() >= 2, Data, "judge ", c.kind, ": fewer than 2 usable held-out clips");
    torch::Tensor query, key;
    if (c.kind == kVideoAudio) {
        query = embed_video_batched(*j.av_video, data.frames(idx));
        key = embed_audio_batched(*j.av_audio, data.audio(idx));
    } else {
        query = j.text->embed_text(captions_of(data, idx));
        key = embed_audio_batched(*j.text_audio, data.audio(idx));
    }
    const auto r = retrieval_recall(query, key);
    const std::string p = c.kind == kVideoAudio ? "video_to_audio" : "text_to_audio";
    q["pairs"] = r.n;
    q[p + "_r1"] = r.r1;
    q[p + "_r5"] = r.r5;
    q["chance_r1"] = r.chance_r1;
    q["chance_r5"] = r.chance_r5;
    const std::string s = c.kind == kVideoAudio ? "ib_score" : "clap";
    const bool percent = c.kind == kVideoAudio;  // IB-score is reported x100 (MMAudio); CLAP as the raw cosine
    q[s + "_paired"] = metrics::mean_cosine_score(query, key, {percent});
    q[s + "_mismatched"] = metrics::mean_cosine_score(query, key.roll(1, 0), {percent});
    return q;
}

double validation_loss(JudgeModuleImpl& module, const io::ClipDataset& data, int64_t max_items) {
    EvalScope scope(module);
    torch::NoGradGuard g;
    auto idx = trainable_indices(module.config().kind, data);
    if (int64_t(idx.size()) > max_items) idx.resize(size_t(max_items));
    V2A_CHECK(idx.size() >= 2, Data, "judge ", module.config().kind, ": fewer than 2 validation clips");
    auto gen = at::detail::createCPUGenerator(1234);  // the same windows and offsets every time
    double total = 0.0;
    int64_t n = 0;
    for (size_t s = 0; s < idx.size(); s += 32) {
        std::vector<int64_t> batch(idx.begin() + long(s), idx.begin() + long(std::min(idx.size(), s + 32)));
        if (batch.size() < 2) break;
        total += judge_loss(module, data, batch, gen).item<double>() * double(batch.size());
        n += int64_t(batch.size());
    }
    return total / double(std::max<int64_t>(1, n));
}

}  // namespace v2a::judge
