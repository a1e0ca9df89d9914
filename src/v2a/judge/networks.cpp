#include "v2a/judge/networks.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "v2a/audio/mel.h"
#include "v2a/core/error.h"
#include "v2a/judge/interfaces.h"

namespace v2a::judge {

namespace F = torch::nn::functional;

const std::vector<std::string>& judge_kinds() {
    static const std::vector<std::string> kinds{kCnn, kTransformer, kVideoAudio, kTextAudio, kSync};
    return kinds;
}

std::string judge_role(const std::string& kind) {
    if (kind == kVideoAudio) return "ImageBind (stand-in)";
    if (kind == kTextAudio) return "LAION-CLAP (stand-in)";
    if (kind == kSync) return "Synchformer (stand-in)";
    if (kind == kCnn) return "PANNs Cnn14 (stand-in)";
    if (kind == kTransformer) return "PaSST (stand-in)";
    fail(ErrorKind::Usage, "unknown judge '", kind, "' (valid: cnn, transformer, video_audio, text_audio, sync)");
}

std::vector<double> OffsetGrid::offsets() const {
    std::vector<double> out;
    for (int64_t k = 0; k < classes; ++k) out.push_back(offset(k));
    return out;
}

int64_t OffsetGrid::nearest_class(double seconds) const {
    const double k = std::round((seconds - min) / step());
    return std::clamp<int64_t>(int64_t(k), 0, classes - 1);
}

std::string JudgeConfig::to_json() const {
    nlohmann::json j = {{"kind", kind},
                        {"stand_in_for", judge_role(kind)},
                        {"embed_dim", embed_dim},
                        {"frame_size", frame_size},
                        {"video_frames", video_frames},
                        {"clip_seconds", clip_seconds},
                        {"text_buckets", text_buckets},
                        {"grid", {{"min", grid.min}, {"max", grid.max}, {"classes", grid.classes}}},
                        {"window_seconds", window_seconds},
                        {"classes", classes},
                        {"mel_mean", mel_mean},
                        {"mel_std", mel_std}};
    return j.dump();
}

JudgeConfig JudgeConfig::from_json(const std::string& text, const std::string& what) {
    JudgeConfig c;
    try {
        const auto j = nlohmann::json::parse(text);
        c.kind = j.at("kind").get<std::string>();
        c.embed_dim = j.value("embed_dim", c.embed_dim);
        c.frame_size = j.value("frame_size", c.frame_size);
        c.video_frames = j.value("video_frames", c.video_frames);
        c.clip_seconds = j.value("clip_seconds", c.clip_seconds);
        c.text_buckets = j.value("text_buckets", c.text_buckets);
        if (j.contains("grid")) {
            c.grid.min = j["grid"].at("min").get<double>();
            c.grid.max = j["grid"].at("max").get<double>();
            c.grid.classes = j["grid"].at("classes").get<int64_t>();
        }
        c.window_seconds = j.value("window_seconds", c.window_seconds);
        c.classes = j.value("classes", std::vector<std::string>{});
        c.mel_mean = j.value("mel_mean", 0.0);
        c.mel_std = j.value("mel_std", 1.0);
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Data, what, ": bad judge config (", e.what(), ")");
    }
    bool known = false;
    for (const auto& k : judge_kinds()) known = known || k == c.kind;
    V2A_CHECK(known, Data, what, ": unknown judge kind '", c.kind, "'");
    V2A_CHECK(c.grid.classes >= 2 && c.grid.max > c.grid.min, Data, what, ": bad offset grid");
    V2A_CHECK(c.frame_size >= 8 && c.embed_dim >= 1 && c.video_frames >= 1 && c.text_buckets >= 1, Data, what,
              ": bad judge sizes");
    return c;
}

// ---------------------------------------------------------------------------------------------
// Front ends

namespace {

const audio::MelSpectrogram& judge_mel() {
    // PANNs' 16 kHz front end (n_fft 512, hop 160, 64 mels, 50-8000 Hz) with MMAudio's log10 framing.
    static const audio::MelSpectrogram mel(
        audio::MelOptions{kJudgeSampleRate, 512, 160, 512, 64, 50.0, 8000.0, audio::LogBase::Log10, 1e-5});
    return mel;
}

uint32_t fnv1a(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

// conv 3x3 + GroupNorm + ReLU (+ 2x2 average pooling), appended to `s`.
void conv2d_block(torch::nn::Sequential& s, int64_t in, int64_t out, int64_t stride, bool pool) {
    s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1)));
    s->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::min<int64_t>(8, out / 4), out)));
    s->push_back(torch::nn::ReLU());
    if (pool) s->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2)));
}

torch::nn::Conv1d conv1d(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
    return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, k).stride(stride).padding(k / 2));
}

}  // namespace

torch::Tensor judge_log_mel(const torch::Tensor& audio) {
    V2A_CHECK(audio.dim() == 2 && audio.size(1) >= 512, Data, "judge front end: audio must be [B, S] with S >= 512, got ",
              audio.sizes());
    return judge_mel()(audio.to(torch::kFloat));
}

torch::Tensor prepare_frames(const torch::Tensor& frames, int64_t size) {
    V2A_CHECK(frames.dim() == 5 && frames.size(4) == 3, Data, "judge: frames must be [B, T, H, W, 3], got ",
              frames.sizes());
    const int64_t B = frames.size(0), T = frames.size(1);
    auto x = frames.to(torch::kFloat).div(255.0).reshape({B * T, frames.size(2), frames.size(3), 3}).permute({0, 3, 1, 2});
    if (x.size(2) != size || x.size(3) != size) {
        x = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kArea));
    }
    x = x.reshape({B, T, 3, size, size});
    auto prev = torch::cat({x.narrow(1, 0, 1), x.narrow(1, 0, T - 1)}, 1);
    auto diff = (x - prev) * 4.0;
    return torch::cat({(x - 0.5) * 4.0, diff}, 2).contiguous();
}

std::vector<int64_t> text_bag(const std::string& text, int64_t buckets) {
    std::vector<std::string> words;
    std::string cur;
    for (char ch : text) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c >= 0x80) {
            cur += char(std::tolower(c));
        } else if (!cur.empty()) {
            words.push_back(cur);
            cur.clear();
        }
    }
    if (!cur.empty()) words.push_back(cur);
    std::vector<int64_t> ids;
    for (size_t i = 0; i < words.size(); ++i) {
        ids.push_back(int64_t(fnv1a(words[i]) % uint32_t(buckets)));
        if (i + 1 < words.size()) ids.push_back(int64_t(fnv1a(words[i] + " " + words[i + 1]) % uint32_t(buckets)));
    }
    return ids;
}

torch::Tensor fit_length(const torch::Tensor& audio, double seconds) {
    const int64_t n = std::llround(seconds * kJudgeSampleRate);
    if (audio.size(1) == n) return audio;
    if (audio.size(1) > n) return audio.narrow(1, 0, n);
    return F::pad(audio, F::PadFuncOptions({0, n - audio.size(1)}));
}

// ---------------------------------------------------------------------------------------------
// Building blocks

FrameEncoderImpl::FrameEncoderImpl(int64_t out, int64_t width) {
    torch::nn::Sequential s;
    conv2d_block(s, 6, width, 2, false);
    conv2d_block(s, width, 2 * width, 2, false);
    conv2d_block(s, 2 * width, out, 2, false);
    s->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    s->push_back(torch::nn::Flatten());
    net_ = register_module("net", s);
}

torch::Tensor FrameEncoderImpl::forward(const torch::Tensor& x) { return net_->forward(x); }

MelSequenceEncoderImpl::MelSequenceEncoderImpl(int64_t out) {
    net_ = register_module(
        "net", torch::nn::Sequential(conv1d(64, 128, 5, 2), torch::nn::GroupNorm(torch::nn::GroupNormOptions(8, 128)),
                                     torch::nn::ReLU(), conv1d(128, 128, 5, 2),
                                     torch::nn::GroupNorm(torch::nn::GroupNormOptions(8, 128)), torch::nn::ReLU(),
                                     conv1d(128, 192, 3, 2), torch::nn::GroupNorm(torch::nn::GroupNormOptions(8, 192)),
                                     torch::nn::ReLU()));
    proj_ = register_module("proj", torch::nn::Linear(384, out));
}

torch::Tensor MelSequenceEncoderImpl::forward(const torch::Tensor& mel) {
    auto h = net_->forward(mel);  // [B, 192, F/8]
    return proj_->forward(torch::cat({h.mean(2), std::get<0>(h.max(2))}, 1));
}

JudgeModuleImpl::JudgeModuleImpl(JudgeConfig config) : config_(std::move(config)) {
    mel_stats_ = register_buffer("mel_stats", torch::tensor({config_.mel_mean, config_.mel_std}, torch::kFloat));
}

torch::Tensor JudgeModuleImpl::mel(const torch::Tensor& audio) const {
    return (judge_log_mel(audio) - mel_stats_[0]) / mel_stats_[1];
}

void JudgeModuleImpl::set_mel_stats(double mean, double std) {
    torch::NoGradGuard no_grad;
    mel_stats_.copy_(torch::tensor({mean, std}, torch::kFloat));
    config_.mel_mean = mean;
    config_.mel_std = std;
}

// ---------------------------------------------------------------------------------------------
// Contrastive judges

VideoAudioJudgeImpl::VideoAudioJudgeImpl(JudgeConfig config) : JudgeModuleImpl(std::move(config)) {
    frames_ = register_module("frames", FrameEncoder(64, 16));
    temporal_ = register_module("temporal", conv1d(64, 128, 3));
    video_proj_ = register_module("video_proj", torch::nn::Linear(256, config_.embed_dim));
    audio_ = register_module("audio", MelSequenceEncoder(config_.embed_dim));
    logit_scale_ = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
}

torch::Tensor VideoAudioJudgeImpl::embed_video(const torch::Tensor& frames) {
    const int64_t B = frames.size(0), T = frames.size(1), n = std::min(config_.video_frames, T);
    // Frames sampled uniformly; each with its predecessor on the 25 fps grid for the motion channels.
    std::vector<int64_t> idx;
    for (int64_t k = 0; k < n; ++k) {
        const int64_t i = k * T / n;
        idx.push_back(std::max<int64_t>(0, i - 1));
        idx.push_back(i);
    }
    auto pairs = prepare_frames(frames.index_select(1, torch::tensor(idx)), config_.frame_size);  // [B, 2n, 6, s, s]
    auto x = pairs.index_select(1, torch::arange(1, 2 * n, 2));                                 // motion vs predecessor
    auto h = frames_->forward(x.reshape({B * n, 6, config_.frame_size, config_.frame_size})).reshape({B, n, -1});
    h = torch::relu(temporal_->forward(h.transpose(1, 2)));
    return video_proj_->forward(torch::cat({h.mean(2), std::get<0>(h.max(2))}, 1));
}

torch::Tensor VideoAudioJudgeImpl::embed_audio(const torch::Tensor& audio) { return audio_->forward(mel(audio)); }

TextAudioJudgeImpl::TextAudioJudgeImpl(JudgeConfig config) : JudgeModuleImpl(std::move(config)) {
    words_ = register_module("words", torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(config_.text_buckets, 128)
                                                                   .mode(torch::kMean)));
    text_mlp_ = register_module("text_mlp", torch::nn::Sequential(torch::nn::Linear(128, 128), torch::nn::ReLU(),
                                                                  torch::nn::Linear(128, config_.embed_dim)));
    audio_ = register_module("audio", MelSequenceEncoder(config_.embed_dim));
    logit_scale_ = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
}

torch::Tensor TextAudioJudgeImpl::embed_text(const std::vector<std::string>& texts) {
    std::vector<int64_t> ids, offsets;
    for (const auto& t : texts) {
        offsets.push_back(int64_t(ids.size()));
        auto bag = text_bag(t, config_.text_buckets);
        ids.insert(ids.end(), bag.begin(), bag.end());
    }
    auto bags = words_->forward(torch::tensor(ids, torch::kLong), torch::tensor(offsets, torch::kLong));
    return text_mlp_->forward(bags);
}

torch::Tensor TextAudioJudgeImpl::embed_audio(const torch::Tensor& audio) { return audio_->forward(mel(audio)); }

torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& log_scale) {
    V2A_CHECK(a.dim() == 2 && a.sizes() == b.sizes(), Data, "info_nce: a and b must be [B, D] of equal shape");
    auto an = F::normalize(a, F::NormalizeFuncOptions().dim(1));
    auto bn = F::normalize(b, F::NormalizeFuncOptions().dim(1));
    auto logits = log_scale.exp().clamp_max(100.0) * an.matmul(bn.t());
    auto labels = torch::arange(a.size(0));
    return 0.5 * (F::cross_entropy(logits, labels) + F::cross_entropy(logits.t(), labels));
}

// ---------------------------------------------------------------------------------------------
// Sync

SyncNetImpl::SyncNetImpl(JudgeConfig config) : JudgeModuleImpl(std::move(config)) {
    const int64_t K = config_.grid.classes;
    for (int64_t k = 0; k < K; ++k) {
        const double steps = config_.grid.offset(k) * 50.0;
        V2A_CHECK(std::abs(steps - std::round(steps)) < 1e-6, Config, "sync judge: grid offset ", config_.grid.offset(k),
                  " s is not a multiple of 20 ms");
        lags_.push_back(-std::llround(steps));
        V2A_CHECK(std::abs(lags_.back()) < std::llround(config_.window_seconds * 50.0), Config,
                  "sync judge: window ", config_.window_seconds, " s is too short for offset ", config_.grid.offset(k), " s");
    }
    frames_ = register_module("frames", FrameEncoder(48, 16));
    video_temporal_ = register_module("video_temporal", torch::nn::Sequential(conv1d(48, 64, 5), torch::nn::ReLU(), conv1d(64, 64, 5)));
    audio_front_ = register_module("audio_front", torch::nn::Sequential(conv1d(64, 96, 5), torch::nn::ReLU(),
                                                                        torch::nn::AvgPool1d(torch::nn::AvgPool1dOptions(2))));
    audio_temporal_ = register_module("audio_temporal", torch::nn::Sequential(conv1d(96, 64, 5), torch::nn::ReLU(), conv1d(64, 64, 5)));
    head_ = register_module("head", torch::nn::Sequential(torch::nn::Linear(K, 64), torch::nn::ReLU(), torch::nn::Linear(64, K)));
    scale_ = register_parameter("scale", torch::full({}, 10.0));
}

torch::Tensor SyncNetImpl::forward(const torch::Tensor& frames, const torch::Tensor& audio) {
    const int64_t B = frames.size(0), T = frames.size(1), s = config_.frame_size;
    V2A_CHECK(audio.dim() == 2 && audio.size(0) == B, Data, "sync judge: audio must be [B, S] with B = ", B);
    auto x = prepare_frames(frames, s);
    auto v = frames_->forward(x.reshape({B * T, 6, s, s})).reshape({B, T, -1}).transpose(1, 2);  // [B, 48, T] at 25 Hz
    v = video_temporal_->forward(v.repeat_interleave(2, 2));                                     // [B, 64, 2T] at 50 Hz
    auto a = audio_temporal_->forward(audio_front_->forward(mel(audio)));                         // [B, 64, F/2] at 50 Hz
    const int64_t L = std::min(v.size(2), a.size(2));
    v = F::normalize(v.narrow(2, 0, L), F::NormalizeFuncOptions().dim(1));
    a = F::normalize(a.narrow(2, 0, L), F::NormalizeFuncOptions().dim(1));
    std::vector<torch::Tensor> scores;
    for (int64_t lag : lags_) {
        V2A_CHECK(std::abs(lag) < L, Data, "sync judge: window of ", L, " steps is too short for a lag of ", lag);
        if (lag >= 0) {
            scores.push_back((v.narrow(2, 0, L - lag) * a.narrow(2, lag, L - lag)).sum(1).mean(1));
        } else {
            scores.push_back((v.narrow(2, -lag, L + lag) * a.narrow(2, 0, L + lag)).sum(1).mean(1));
        }
    }
    auto c = torch::stack(scores, 1);  // [B, K]
    return scale_ * c + head_->forward(c);
}

// ---------------------------------------------------------------------------------------------
// Classifiers

CnnClassifierImpl::CnnClassifierImpl(JudgeConfig config) : JudgeModuleImpl(std::move(config)) {
    V2A_CHECK(!config_.classes.empty(), Config, "cnn judge: no classes");
    torch::nn::Sequential s;
    conv2d_block(s, 1, 8, 1, true);
    conv2d_block(s, 8, 16, 1, true);
    conv2d_block(s, 16, 32, 1, true);
    conv2d_block(s, 32, 64, 1, true);
    blocks_ = register_module("blocks", s);
    fc1_ = register_module("fc1", torch::nn::Linear(64, 128));
    out_ = register_module("out", torch::nn::Linear(128, int64_t(config_.classes.size())));
}

ClassifierOutput CnnClassifierImpl::forward(const torch::Tensor& audio) {
    auto h = blocks_->forward(mel(fit_length(audio, config_.clip_seconds)).unsqueeze(1));  // [B, 64, 4, F/16]
    h = h.mean(2);
    h = std::get<0>(h.max(2)) + h.mean(2);  // PANNs' max + mean pooling over time
    auto emb = torch::relu(fc1_->forward(h));
    return {out_->forward(F::dropout(emb, F::DropoutFuncOptions().p(0.2).training(is_training()))), emb};
}

PatchTransformerImpl::PatchTransformerImpl(JudgeConfig config) : JudgeModuleImpl(std::move(config)) {
    V2A_CHECK(!config_.classes.empty(), Config, "transformer judge: no classes");
    const int64_t samples = std::llround(config_.clip_seconds * kJudgeSampleRate);
    mel_frames_ = ((1 + (samples - 160) / 160) / 16) * 16;
    V2A_CHECK(mel_frames_ >= 16, Config, "transformer judge: clip of ", config_.clip_seconds, " s is too short");
    n_patches_ = 4 * (mel_frames_ / 16);
    const int64_t d = 96;
    patch_ = register_module("patch", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, d, 16).stride(16)));
    pos_ = register_parameter("pos", torch::randn({1, n_patches_ + 1, d}) * 0.02);
    cls_ = register_parameter("cls", torch::zeros({1, 1, d}));
    encoder_ = register_module(
        "encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
                       torch::nn::TransformerEncoderLayerOptions(d, 4).dim_feedforward(192).dropout(0.1), 2)));
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    out_ = register_module("out", torch::nn::Linear(d, int64_t(config_.classes.size())));
}

ClassifierOutput PatchTransformerImpl::forward(const torch::Tensor& audio) {
    auto m = mel(fit_length(audio, config_.clip_seconds)).narrow(2, 0, mel_frames_).unsqueeze(1);  // [B, 1, 64, F]
    auto tokens = patch_->forward(m).flatten(2).transpose(1, 2);                                   // [B, P, d]
    const int64_t B = tokens.size(0);
    tokens = torch::cat({cls_.expand({B, 1, cls_.size(2)}), tokens}, 1) + pos_;
    auto h = encoder_->forward(tokens.transpose(0, 1));  // [P+1, B, d]
    auto emb = norm_->forward(h[0]);
    return {out_->forward(emb), emb};
}

}  // namespace v2a::judge
