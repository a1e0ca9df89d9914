#include "v2a/score/audio_score.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/io/checkpoint.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/judge/interfaces.h"
#include "v2a/metrics/classification.h"
#include "v2a/metrics/pesq.h"
#include "v2a/metrics/similarity.h"

namespace v2a::score {

namespace stdfs = std::filesystem;
using nlohmann::json;

const std::array<const char*, kNumScores> kScoreNames = {"ib_score", "clap_score", "desync", "quality", "pesq"};

namespace {

constexpr const char* kKind = "audioscore";
constexpr double kSilentPeak = 1e-4;   // as eval: below this a clip is silent

enum Column { kIb = 0, kClap = 1, kDesync = 2, kQuality = 3, kPesq = 4 };

void require(bool ok, const char* judge, const char* score) {
    V2A_CHECK(ok, Model, "AudioScore: the ", judge, " judge is not loaded (needed for the ", score,
              " score; run v2a train-judges)");
}

}  // namespace

torch::Tensor classifier_marginal(judge::Judges& judges, const torch::Tensor& audio) {
    torch::NoGradGuard no_grad;
    require(judges.cnn != nullptr, "cnn (PANNs role)", "quality");
    V2A_CHECK(audio.defined() && audio.dim() == 2 && audio.size(0) >= 1, Usage,
              "AudioScore: audio for the class marginal must be [N, S], got ",
              audio.defined() ? audio.sizes() : torch::IntArrayRef{});
    auto logits = judge::classify_batched(*judges.cnn, audio.to(torch::kFloat)).logits;
    return torch::softmax(logits.to(torch::kDouble), 1).mean(0);
}

ScoreInputs score_inputs(const io::ClipDataset& clips, const std::vector<int64_t>& rows, const torch::Tensor& audio) {
    ScoreInputs in;
    in.frames = clips.frames(rows);
    in.audio = audio;
    in.captions = clips.captions(rows);
    in.reference_audio = clips.audio(rows);
    for (int64_t r : rows) {
        const auto truth = judge::parse_clip_truth(clips[r]);
        in.is_speech.push_back(truth.present ? truth.speech : clips[r].label == "speech");
    }
    return in;
}

torch::Tensor compute_raw_scores(judge::Judges& judges, const ScoreInputs& in, const torch::Tensor& class_marginal) {
    torch::NoGradGuard no_grad;
    V2A_CHECK(in.audio.defined() && in.audio.dim() == 2 && in.audio.size(0) >= 1, Usage,
              "AudioScore: audio must be [N, S], got ", in.audio.defined() ? in.audio.sizes() : torch::IntArrayRef{});
    const int64_t N = in.audio.size(0);
    V2A_CHECK(in.frames.defined() && in.frames.dim() == 5 && in.frames.size(0) == N && in.frames.size(4) == 3 &&
                  in.frames.scalar_type() == torch::kUInt8,
              Usage, "AudioScore: frames must be [", N, ", T, H, W, 3] uint8, got ",
              in.frames.defined() ? in.frames.sizes() : torch::IntArrayRef{});
    V2A_CHECK(in.captions.empty() || int64_t(in.captions.size()) == N, Usage, "AudioScore: ", in.captions.size(),
              " captions for ", N, " clips");
    V2A_CHECK(in.is_speech.empty() || int64_t(in.is_speech.size()) == N, Usage, "AudioScore: ", in.is_speech.size(),
              " speech flags for ", N, " clips");
    V2A_CHECK(!in.reference_audio.defined() || (in.reference_audio.dim() == 2 && in.reference_audio.size(0) == N),
              Usage, "AudioScore: reference audio must be [", N, ", S], got ",
              in.reference_audio.defined() ? in.reference_audio.sizes() : torch::IntArrayRef{});
    const auto audio = in.audio.to(torch::kFloat).contiguous();
    V2A_CHECK(torch::isfinite(audio).all().item<bool>(), Data, "AudioScore: audio has NaN or Inf samples");

    std::vector<int64_t> captioned;
    std::vector<std::string> texts;
    for (int64_t i = 0; i < int64_t(in.captions.size()); ++i) {
        if (!in.captions[size_t(i)].empty()) {
            captioned.push_back(i);
            texts.push_back(in.captions[size_t(i)]);
        }
    }
    require(judges.av_video && judges.av_audio, "video_audio (ImageBind role)", "IB");
    require(judges.sync != nullptr, "sync (Synchformer role)", "DeSync");
    require(judges.cnn != nullptr, "cnn (PANNs role)", "quality");
    if (!captioned.empty()) require(judges.text && judges.text_audio, "text_audio (CLAP role)", "CLAP");

    auto out = torch::full({N, kNumScores}, std::numeric_limits<double>::quiet_NaN(), torch::kDouble);
    // IB: cosine of the video and the generated audio in the ImageBind-role space.
    auto v = judge::embed_video_batched(*judges.av_video, in.frames);
    auto a = judge::embed_audio_batched(*judges.av_audio, audio);
    out.select(1, kIb).copy_(metrics::paired_cosine(v, a));
    // CLAP: only where there is text; the rest stays NaN (neutral).
    if (!captioned.empty()) {
        auto idx = torch::tensor(captioned, torch::kLong);
        auto t = judges.text->embed_text(texts);
        auto ta = judge::embed_audio_batched(*judges.text_audio, audio.index_select(0, idx));
        out.select(1, kClap).index_copy_(0, idx, metrics::paired_cosine(t, ta));
    }
    // DeSync: mean |offset| of the first and the last window, seconds.
    out.select(1, kDesync).copy_(judge::sync_offsets_first_last(*judges.sync, in.frames, audio).abs().mean(1));
    // Quality: KL(p_clip || marginal), the clip's term of the Inception score.
    auto logits = judge::classify_batched(*judges.cnn, audio).logits;
    out.select(1, kQuality).copy_(metrics::inception_kl_terms(logits, class_marginal));
    // PESQ against the ground truth, speech clips only.
    if (in.reference_audio.defined()) {
        for (int64_t i = 0; i < int64_t(in.is_speech.size()); ++i) {
            if (!in.is_speech[size_t(i)]) continue;
            const auto ref = in.reference_audio[i].to(torch::kFloat);
            const auto deg = judge::crop_or_pad(audio[i], ref.size(0));
            if (deg.abs().max().item<double>() < kSilentPeak) {
                out[i][kPesq] = kPesqOfSilence;
                continue;
            }
            try {
                out[i][kPesq] = metrics::pesq(judge::to_float_vector(ref), judge::to_float_vector(deg),
                                              judge::kJudgeSampleRate, metrics::PesqMode::WB);
            } catch (const Error& e) {
                V2A_LOG_DEBUG("AudioScore: PESQ of clip %lld failed (neutral): %s", (long long)i, e.what());
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

AudioScoreImpl::AudioScoreImpl(AudioScoreOptions options) : options_(std::move(options)) {
    V2A_CHECK(options_.hidden >= 1, Config, "AudioScore: hidden must be >= 1, got ", options_.hidden);
    fc1 = register_module("fc1", torch::nn::Linear(kNumScores, options_.hidden));
    fc2 = register_module("fc2", torch::nn::Linear(options_.hidden, kNumRatings));
    score_mean = register_buffer("score_mean", torch::zeros({kNumScores}, torch::kDouble));
    score_std = register_buffer("score_std", torch::ones({kNumScores}, torch::kDouble));
    const int64_t c = int64_t(options_.classes.size());
    class_marginal = register_buffer("class_marginal", c > 0 ? torch::full({c}, 1.0 / double(c), torch::kDouble)
                                                               : torch::zeros({0}, torch::kDouble));
}

torch::Tensor AudioScoreImpl::forward(const torch::Tensor& standardised) {
    V2A_CHECK(standardised.dim() == 2 && standardised.size(1) == kNumScores, Usage,
              "AudioScore: input must be [N, 5], got ", standardised.sizes());
    auto x = standardised.to(fc1->weight.scalar_type());
    return fc2(torch::relu(fc1(x)));
}

torch::Tensor AudioScoreImpl::standardise(const torch::Tensor& raw) const {
    V2A_CHECK(raw.dim() == 2 && raw.size(1) == kNumScores, Usage, "AudioScore: raw scores must be [N, 5], got ",
              raw.sizes());
    auto x = raw.to(torch::kDouble);
    V2A_CHECK(!torch::isinf(x).any().item<bool>(), Data, "AudioScore: raw scores contain Inf");
    auto z = (x - score_mean) / score_std;
    return torch::where(torch::isnan(x), torch::zeros_like(z), z);  // NaN = neutral = the training mean
}

torch::Tensor AudioScoreImpl::probabilities(const torch::Tensor& raw) {
    torch::NoGradGuard no_grad;
    return torch::softmax(forward(standardise(raw)).to(torch::kDouble), 1);
}

void save_audioscore(const stdfs::path& path, AudioScore& model) {
    std::vector<std::string> names(kScoreNames.begin(), kScoreNames.end());
    json config = {{"kind", kKind},
                   {"hidden", model->options().hidden},
                   {"classes", model->options().classes},
                   {"scores", names},
                   {"ratings", {"good", "medium", "bad"}}};
    io::save_checkpoint(path, *model, config.dump());
}

AudioScore load_audioscore(const stdfs::path& path) {
    V2A_CHECK(stdfs::is_regular_file(path), IO, path.string(), ": AudioScore model not found");
    json config;
    try {
        config = json::parse(io::read_checkpoint_config(path));
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, path.string(), ": the stored config is not valid JSON (", e.what(), ")");
    }
    V2A_CHECK(config.is_object() && config.value("kind", "") == kKind, Data, path.string(),
              ": not an AudioScore model (config kind '", config.is_object() ? config.value("kind", "") : "", "')");
    std::vector<std::string> names(kScoreNames.begin(), kScoreNames.end());
    V2A_CHECK(config.value("scores", std::vector<std::string>{}) == names, Data, path.string(),
              ": the model's score columns differ from this build's (", config.value("scores", json::array()).dump(), ")");
    AudioScoreOptions o;
    try {
        o.hidden = config.at("hidden").get<int64_t>();
        o.classes = config.value("classes", std::vector<std::string>{});
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, path.string(), ": bad AudioScore config (", e.what(), ")");
    }
    AudioScore model(o);
    io::load_checkpoint(path, *model, true);
    model->eval();
    return model;
}

// ---------------------------------------------------------------------------------------------

AudioScorer::AudioScorer(judge::Judges judges, AudioScore model) : judges_(std::move(judges)), model_(std::move(model)) {
    const auto& classes = model_->options().classes;
    if (!classes.empty() && judges_.cnn) {
        V2A_CHECK(judges_.cnn->classes() == classes, Model, "AudioScore: the model was fit with a ",
                  classes.size(), "-class classifier judge that differs from the loaded one (",
                  judges_.cnn->classes().size(), " classes); use the judges it was trained with");
    }
}

AudioScorer AudioScorer::load(const stdfs::path& judges_dir, const stdfs::path& model_path) {
    auto model = load_audioscore(model_path);
    auto judges = judge::load_judges(judges_dir);
    try {
        return AudioScorer(std::move(judges), std::move(model));
    } catch (const Error& e) {
        fail(e.kind(), model_path.string(), " with judges ", judges_dir.string(), ": ", e.what());
    }
}

torch::Tensor AudioScorer::raw_scores(const ScoreInputs& inputs) {
    const auto& m = model_->class_marginal;
    return compute_raw_scores(judges_, inputs, m.numel() > 0 ? m : torch::Tensor());
}

torch::Tensor AudioScorer::probabilities(const ScoreInputs& inputs) { return model_->probabilities(raw_scores(inputs)); }

}  // namespace v2a::score
