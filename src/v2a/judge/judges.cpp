#include "v2a/judge/judges.h"

#include <cmath>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/io/checkpoint.h"
#include "v2a/metrics/desync.h"

namespace v2a::judge {

namespace stdfs = std::filesystem;

std::shared_ptr<JudgeModuleImpl> make_judge_module(const JudgeConfig& config) {
    if (config.kind == kVideoAudio) return std::make_shared<VideoAudioJudgeImpl>(config);
    if (config.kind == kTextAudio) return std::make_shared<TextAudioJudgeImpl>(config);
    if (config.kind == kSync) return std::make_shared<SyncNetImpl>(config);
    if (config.kind == kCnn) return std::make_shared<CnnClassifierImpl>(config);
    if (config.kind == kTransformer) return std::make_shared<PatchTransformerImpl>(config);
    fail(ErrorKind::Config, "unknown judge kind '", config.kind, "'");
}

void save_judge(const stdfs::path& path, JudgeModuleImpl& module) {
    io::save_checkpoint(path, module, module.config().to_json(),
                        {{"kind", module.config().kind}, {"stand_in_for", judge_role(module.config().kind)}});
}

std::shared_ptr<JudgeModuleImpl> load_judge_module(const stdfs::path& path) {
    V2A_CHECK(stdfs::exists(path), IO, path.string(), ": judge file not found");
    const std::string text = io::read_checkpoint_config(path);
    V2A_CHECK(!text.empty(), Data, path.string(), ": has no judge config in its metadata");
    auto module = make_judge_module(JudgeConfig::from_json(text, path.string()));
    io::load_checkpoint(path, *module, true);
    module->eval();
    for (auto& p : module->parameters()) p.set_requires_grad(false);
    return module;
}

namespace {

class AvAudio : public AudioEmbedder {
public:
    explicit AvAudio(std::shared_ptr<VideoAudioJudgeImpl> m) : m_(std::move(m)) {}
    torch::Tensor embed_audio(const torch::Tensor& audio) override {
        torch::NoGradGuard g;
        return m_->embed_audio(audio);
    }
    std::string name() const override { return kVideoAudio; }

private:
    std::shared_ptr<VideoAudioJudgeImpl> m_;
};

class AvVideo : public VideoEmbedder {
public:
    explicit AvVideo(std::shared_ptr<VideoAudioJudgeImpl> m) : m_(std::move(m)) {}
    torch::Tensor embed_video(const torch::Tensor& frames) override {
        torch::NoGradGuard g;
        return m_->embed_video(frames);
    }
    std::string name() const override { return kVideoAudio; }

private:
    std::shared_ptr<VideoAudioJudgeImpl> m_;
};

class TaAudio : public AudioEmbedder {
public:
    explicit TaAudio(std::shared_ptr<TextAudioJudgeImpl> m) : m_(std::move(m)) {}
    torch::Tensor embed_audio(const torch::Tensor& audio) override {
        torch::NoGradGuard g;
        return m_->embed_audio(audio);
    }
    std::string name() const override { return kTextAudio; }

private:
    std::shared_ptr<TextAudioJudgeImpl> m_;
};

class TaText : public TextEmbedder {
public:
    explicit TaText(std::shared_ptr<TextAudioJudgeImpl> m) : m_(std::move(m)) {}
    torch::Tensor embed_text(const std::vector<std::string>& texts) override {
        torch::NoGradGuard g;
        return m_->embed_text(texts);
    }
    std::string name() const override { return kTextAudio; }

private:
    std::shared_ptr<TextAudioJudgeImpl> m_;
};

class Sync : public SyncJudge {
public:
    explicit Sync(std::shared_ptr<SyncNetImpl> m) : m_(std::move(m)) {}
    torch::Tensor offset_logits(const torch::Tensor& frames, const torch::Tensor& audio) override {
        torch::NoGradGuard g;
        return m_->forward(frames, audio);
    }
    std::vector<double> grid() const override { return m_->config().grid.offsets(); }
    double window_seconds() const override { return m_->config().window_seconds; }
    std::string name() const override { return kSync; }

private:
    std::shared_ptr<SyncNetImpl> m_;
};

template <typename Impl>
class Classifier : public AudioClassifier {
public:
    Classifier(std::shared_ptr<Impl> m, std::string name) : m_(std::move(m)), name_(std::move(name)) {}
    Output classify(const torch::Tensor& audio) override {
        torch::NoGradGuard g;
        auto out = m_->forward(audio);
        return {out.logits, out.embedding};
    }
    std::vector<std::string> classes() const override { return m_->config().classes; }
    std::string name() const override { return name_; }

private:
    std::shared_ptr<Impl> m_;
    std::string name_;
};

}  // namespace

Judges judges_from_modules(const std::vector<std::shared_ptr<JudgeModuleImpl>>& modules) {
    Judges j;
    for (const auto& m : modules) {
        const std::string& kind = m->config().kind;
        if (auto p = std::dynamic_pointer_cast<VideoAudioJudgeImpl>(m)) {
            j.av_audio = std::make_shared<AvAudio>(p);
            j.av_video = std::make_shared<AvVideo>(p);
        } else if (auto p = std::dynamic_pointer_cast<TextAudioJudgeImpl>(m)) {
            j.text_audio = std::make_shared<TaAudio>(p);
            j.text = std::make_shared<TaText>(p);
        } else if (auto p = std::dynamic_pointer_cast<SyncNetImpl>(m)) {
            j.sync = std::make_shared<Sync>(p);
        } else if (auto p = std::dynamic_pointer_cast<CnnClassifierImpl>(m)) {
            j.cnn = std::make_shared<Classifier<CnnClassifierImpl>>(p, kCnn);
        } else if (auto p = std::dynamic_pointer_cast<PatchTransformerImpl>(m)) {
            j.transformer = std::make_shared<Classifier<PatchTransformerImpl>>(p, kTransformer);
        } else {
            fail(ErrorKind::Internal, "judge module of unknown type '", kind, "'");
        }
        j.loaded.push_back(kind);
    }
    return j;
}

Judges load_judges(const stdfs::path& dir) {
    V2A_CHECK(stdfs::is_directory(dir), IO, dir.string(), ": judge directory not found");
    std::vector<std::shared_ptr<JudgeModuleImpl>> modules;
    for (const auto& kind : judge_kinds()) {
        const auto path = dir / (kind + ".safetensors");
        if (stdfs::exists(path)) {
            modules.push_back(load_judge_module(path));
        } else {
            V2A_LOG_WARN("judges: %s not found; metrics that need the %s judge are skipped", path.string().c_str(),
                         kind.c_str());
        }
    }
    V2A_CHECK(!modules.empty(), IO, dir.string(), ": holds no judge (*.safetensors written by `v2a train-judges`)");
    return judges_from_modules(modules);
}

// ---------------------------------------------------------------------------------------------

namespace {
template <typename Fn>
torch::Tensor batched(int64_t n, int64_t batch, const Fn& fn) {
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < n; s += batch) parts.push_back(fn(s, std::min(batch, n - s)));
    return torch::cat(parts);
}
}  // namespace

torch::Tensor embed_audio_batched(AudioEmbedder& judge, const torch::Tensor& audio, int64_t batch) {
    return batched(audio.size(0), batch, [&](int64_t s, int64_t n) { return judge.embed_audio(audio.narrow(0, s, n)); });
}

torch::Tensor embed_video_batched(VideoEmbedder& judge, const torch::Tensor& frames, int64_t batch) {
    return batched(frames.size(0), batch, [&](int64_t s, int64_t n) { return judge.embed_video(frames.narrow(0, s, n)); });
}

AudioClassifier::Output classify_batched(AudioClassifier& judge, const torch::Tensor& audio, int64_t batch) {
    std::vector<torch::Tensor> logits, emb;
    for (int64_t s = 0; s < audio.size(0); s += batch) {
        auto out = judge.classify(audio.narrow(0, s, std::min(batch, audio.size(0) - s)));
        logits.push_back(out.logits);
        emb.push_back(out.embedding);
    }
    return {torch::cat(logits), torch::cat(emb)};
}

std::vector<double> sync_window_starts(double duration, double window) {
    V2A_CHECK(duration + 1e-9 >= window, Data, "sync: a clip of ", duration, " s is shorter than the ", window,
              " s scoring window");
    const double last = std::floor((duration - window) * kJudgeFps + 1e-6) / kJudgeFps;
    return {0.0, last};
}

std::pair<torch::Tensor, torch::Tensor> cut_window(const torch::Tensor& frames, const torch::Tensor& audio,
                                                   double start, double window) {
    const int64_t f0 = std::llround(start * kJudgeFps), nf = std::llround(window * kJudgeFps);
    const int64_t s0 = std::llround(start * kJudgeSampleRate), ns = std::llround(window * kJudgeSampleRate);
    V2A_CHECK(f0 >= 0 && f0 + nf <= frames.size(0), Data, "sync: window at ", start, " s (", window,
              " s) is outside the video of ", frames.size(0), " frames");
    V2A_CHECK(s0 >= 0 && s0 + ns <= audio.size(0), Data, "sync: window at ", start, " s (", window,
              " s) is outside the audio of ", audio.size(0), " samples");
    return {frames.narrow(0, f0, nf), audio.narrow(0, s0, ns)};
}

torch::Tensor sync_logits_first_last(SyncJudge& judge, const torch::Tensor& frames, const torch::Tensor& audio,
                                     int64_t batch) {
    const int64_t N = frames.size(0);
    const double duration = std::min(double(frames.size(1)) / kJudgeFps, double(audio.size(1)) / kJudgeSampleRate);
    const auto starts = sync_window_starts(duration, judge.window_seconds());
    std::vector<torch::Tensor> out;
    for (int64_t s = 0; s < N; s += batch) {
        const int64_t n = std::min(batch, N - s);
        std::vector<torch::Tensor> fw, aw;
        for (int64_t i = s; i < s + n; ++i) {
            for (double t : starts) {
                auto [f, a] = cut_window(frames[i], audio[i], t, judge.window_seconds());
                fw.push_back(f);
                aw.push_back(a);
            }
        }
        out.push_back(judge.offset_logits(torch::stack(fw), torch::stack(aw)).reshape({n, int64_t(starts.size()), -1}));
    }
    return torch::cat(out);
}

torch::Tensor sync_offsets_first_last(SyncJudge& judge, const torch::Tensor& frames, const torch::Tensor& audio,
                                      int64_t batch) {
    auto logits = sync_logits_first_last(judge, frames, audio, batch);
    const auto grid = judge.grid();
    metrics::DesyncOptions d;
    d.grid_min = grid.front();
    d.grid_max = grid.back();
    d.num_classes = int64_t(grid.size());
    return metrics::offsets_from_logits(logits, d);
}

// ---------------------------------------------------------------------------------------------

Retrieval retrieval_recall(const torch::Tensor& queries, const torch::Tensor& keys) {
    V2A_CHECK(queries.dim() == 2 && queries.sizes() == keys.sizes() && queries.size(0) >= 1, Data,
              "retrieval: queries and keys must be [N, D] of equal shape");
    namespace F = torch::nn::functional;
    auto q = F::normalize(queries.to(torch::kDouble), F::NormalizeFuncOptions().dim(1));
    auto k = F::normalize(keys.to(torch::kDouble), F::NormalizeFuncOptions().dim(1));
    auto sim = q.matmul(k.t());
    auto diag = sim.diagonal().unsqueeze(1);
    auto rank = (sim >= diag).sum(1) - 1;  // others at least as similar as the true key
    Retrieval r;
    r.n = queries.size(0);
    r.r1 = (rank < 1).to(torch::kDouble).mean().item<double>();
    r.r5 = (rank < 5).to(torch::kDouble).mean().item<double>();
    r.chance_r1 = std::min(1.0, 1.0 / double(r.n));
    r.chance_r5 = std::min(1.0, 5.0 / double(r.n));
    return r;
}

double top1_accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
    auto keep = targets >= 0;
    V2A_CHECK(keep.any().item<bool>(), Data, "top-1: no item has a known class");
    return (logits.argmax(1).index({keep}) == targets.index({keep})).to(torch::kDouble).mean().item<double>();
}

torch::Tensor class_targets(const io::ClipDataset& data, const std::vector<std::string>& classes) {
    std::vector<int64_t> t;
    for (const auto& item : data.items()) {
        auto it = std::find(classes.begin(), classes.end(), item.label);
        t.push_back(it == classes.end() ? -1 : int64_t(it - classes.begin()));
    }
    return torch::tensor(t, torch::kLong);
}

std::pair<torch::Tensor, torch::Tensor> shifted_window(const torch::Tensor& frames, const torch::Tensor& audio,
                                                       double start, double offset, double window) {
    auto video = cut_window(frames, audio, start, window).first;
    const int64_t s0 = std::llround((start + offset) * kJudgeSampleRate), ns = std::llround(window * kJudgeSampleRate);
    V2A_CHECK(s0 >= 0 && s0 + ns <= audio.size(0), Data, "sync: audio window at ", start + offset,
              " s is outside the audio of ", audio.size(0), " samples");
    return {video, audio.narrow(0, s0, ns)};
}

double centred_window_start(double duration, double window, double offset) {
    const double lo = std::max(0.0, -offset), hi = std::min(duration - window, duration - window - offset);
    V2A_CHECK(hi + 1e-9 >= lo, Data, "sync: a clip of ", duration, " s cannot hold a ", window,
              " s window shifted by ", offset, " s");
    const double lo_f = std::ceil(lo * kJudgeFps - 1e-6), hi_f = std::floor(hi * kJudgeFps + 1e-6);
    return std::floor(0.5 * (lo_f + hi_f)) / kJudgeFps;
}

SyncAccuracy sync_accuracy(SyncJudge& judge, const io::ClipDataset& data, int64_t batch) {
    const auto grid = judge.grid();
    const double window = judge.window_seconds();
    const double duration = double(data.n_samples()) / kJudgeSampleRate;
    struct Job {
        int64_t clip, cls;
    };
    std::vector<Job> jobs;
    for (int64_t i = 0; i < data.size(); ++i) {
        for (int64_t k = 0; k < int64_t(grid.size()); ++k) jobs.push_back({i, k});
    }
    int64_t exact = 0, near = 0;
    for (size_t s = 0; s < jobs.size(); s += size_t(batch)) {
        std::vector<torch::Tensor> fw, aw;
        std::vector<int64_t> truth;
        for (size_t j = s; j < std::min(jobs.size(), s + size_t(batch)); ++j) {
            const auto& item = data[jobs[j].clip];
            const double off = grid[size_t(jobs[j].cls)];
            const double t0 = centred_window_start(duration, window, off);
            auto [f, a] = shifted_window(item.frames, item.audio, t0, off, window);
            fw.push_back(f);
            aw.push_back(a);
            truth.push_back(jobs[j].cls);
        }
        auto pred = judge.offset_logits(torch::stack(fw), torch::stack(aw)).argmax(1);
        auto t = torch::tensor(truth, torch::kLong);
        exact += (pred == t).sum().item<int64_t>();
        near += ((pred - t).abs() <= 1).sum().item<int64_t>();
    }
    SyncAccuracy r;
    r.n = int64_t(jobs.size());
    r.exact = double(exact) / double(r.n);
    r.within_one = double(near) / double(r.n);
    const double K = double(grid.size());
    r.chance_exact = 1.0 / K;
    r.chance_within_one = (3.0 * K - 2.0) / (K * K);
    return r;
}

}  // namespace v2a::judge
