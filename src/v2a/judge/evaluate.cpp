#include "v2a/judge/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/io/media.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/metrics/av_align.h"
#include "v2a/metrics/classification.h"
#include "v2a/metrics/desync.h"
#include "v2a/metrics/events.h"
#include "v2a/metrics/frechet.h"
#include "v2a/metrics/onset.h"
#include "v2a/metrics/pesq.h"
#include "v2a/metrics/similarity.h"
#include "v2a/metrics/sisdr.h"

namespace v2a::judge {

namespace stdfs = std::filesystem;
using nlohmann::json;

nlohmann::json EvalResult::to_json() const {
    json j = {{"metrics", metrics}, {"counts", counts}, {"skipped", skipped}};
    if (!per_clip.empty()) j["per_clip"] = per_clip;
    return j;
}

namespace {

std::vector<int64_t> all_indices(int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

void classifier_metrics(AudioClassifier& cls, const std::string& tag, const torch::Tensor& gt_audio,
                        const torch::Tensor& pred_audio, bool paired, int64_t batch, EvalResult& r) {
    auto p = classify_batched(cls, pred_audio, batch);
    const int64_t n = pred_audio.size(0);
    if (gt_audio.defined() && gt_audio.size(0) >= 2 && n >= 2) {
        auto g = classify_batched(cls, gt_audio, batch);
        r.metrics["fd_" + tag] = metrics::frechet_distance(g.embedding, p.embedding);
        r.counts["fd_" + tag] = n;
        if (paired) {
            r.metrics["kl_" + tag] = metrics::kl_softmax(p.logits, g.logits);
            r.counts["kl_" + tag] = n;
        }
    } else {
        r.skipped.push_back("fd_" + tag + ": fewer than 2 clips");
    }
    if (n >= 2) {
        metrics::InceptionOptions io;
        io.splits = std::min<int64_t>(10, n);
        auto is = metrics::inception_score(p.logits, io);
        r.metrics["is_" + tag] = is.mean;
        r.metrics["is_" + tag + "_std"] = is.std;
        r.counts["is_" + tag] = n;
    }
}

}  // namespace

EvalResult evaluate(const io::ClipDataset& gt, const std::map<std::string, torch::Tensor>& pred, Judges& judges,
                    const EvalOptions& options) {
    V2A_CHECK(!pred.empty(), Data, "eval: no predictions");
    EvalResult r;
    // --- pairing and input checks -----------------------------------------------------------------
    std::vector<std::string> ids;
    torch::Tensor pred_audio, gt_audio;
    const bool have_gt_audio = gt.size() > 0 && gt[0].audio.defined();
    if (options.unpaired) {
        std::vector<torch::Tensor> rows;
        int64_t n = 0;
        for (const auto& [id, a] : pred) n = std::max<int64_t>(n, a.size(0));
        if (have_gt_audio) n = gt.n_samples();
        for (const auto& [id, a] : pred) {
            ids.push_back(id);
            rows.push_back(crop_or_pad(a, n));
        }
        pred_audio = torch::stack(rows);
        if (have_gt_audio) gt_audio = gt.audio(all_indices(gt.size()));
    } else {
        std::vector<std::string> unknown, missing;
        std::map<std::string, int64_t> index;
        for (int64_t i = 0; i < gt.size(); ++i) index[gt[i].id] = i;
        for (const auto& [id, a] : pred) {
            if (!index.count(id)) unknown.push_back(id);
        }
        for (int64_t i = 0; i < gt.size(); ++i) {
            if (!pred.count(gt[i].id)) missing.push_back(gt[i].id);
        }
        auto list = [](const std::vector<std::string>& v) {
            std::string s;
            for (size_t i = 0; i < std::min<size_t>(5, v.size()); ++i) s += (i ? ", " : "") + v[i];
            if (v.size() > 5) s += ", ... (" + std::to_string(v.size()) + " in all)";
            return s;
        };
        V2A_CHECK(unknown.empty(), Data, "eval: ", unknown.size(), " prediction(s) match no ground-truth clip: ",
                  list(unknown), " (ids are file stems; use --unpaired for FD/IS only)");
        V2A_CHECK(missing.empty(), Data, "eval: ", missing.size(), " ground-truth clip(s) have no prediction: ",
                  list(missing));
        V2A_CHECK(have_gt_audio, Data, "eval: the ground-truth clips have no audio loaded");
        std::vector<torch::Tensor> rows;
        for (int64_t i = 0; i < gt.size(); ++i) {
            ids.push_back(gt[i].id);
            rows.push_back(crop_or_pad(pred.at(gt[i].id), gt.n_samples()));
        }
        pred_audio = torch::stack(rows);
        gt_audio = gt.audio(all_indices(gt.size()));
    }
    {
        auto peak = std::get<0>(pred_audio.abs().max(1));
        auto finite = torch::isfinite(pred_audio).all(1);
        for (int64_t i = 0; i < int64_t(ids.size()); ++i) {
            V2A_CHECK(finite[i].item<bool>(), Data, "eval: prediction ", ids[size_t(i)], " has NaN or Inf samples");
            if (peak[i].item<double>() < options.silence_peak) {
                V2A_CHECK(options.allow_silent, Data, "eval: prediction ", ids[size_t(i)],
                          " is silent (peak ", peak[i].item<double>(), "); pass --allow-silent to score it anyway");
                V2A_LOG_WARN("eval: prediction %s is silent", ids[size_t(i)].c_str());
            }
        }
    }
    const int64_t N = pred_audio.size(0);
    const bool paired = !options.unpaired;
    const bool have_frames = paired && gt.size() > 0 && gt[0].frames.defined();
    std::unique_ptr<Progress> progress;
    if (options.progress) progress = std::make_unique<Progress>("eval", 5 + (paired ? N : 0), "step");
    auto tick = [&](int64_t n = 1) {
        if (progress) progress->advance(n);
    };
    json per_clip = json::object();
    for (const auto& id : ids) per_clip[id] = json::object();

    // --- classifiers: FD, KL, IS ------------------------------------------------------------------
    for (auto [cls, tag] : {std::pair{judges.cnn.get(), "cnn"}, std::pair{judges.transformer.get(), "transformer"}}) {
        if (cls) {
            classifier_metrics(*cls, tag, gt_audio, pred_audio, paired, options.batch_size, r);
        } else {
            r.skipped.push_back(std::string(tag) + " classifier: judge not loaded");
        }
        tick();
    }
    if (paired) {
        // --- IB-score -------------------------------------------------------------------------------
        if (judges.av_video && judges.av_audio && have_frames) {
            auto v = embed_video_batched(*judges.av_video, gt.frames(all_indices(N)), options.batch_size);
            auto a = embed_audio_batched(*judges.av_audio, pred_audio, options.batch_size);
            auto cos = metrics::paired_cosine(v, a);
            r.metrics["ib_score"] = 100.0 * cos.mean().item<double>();
            r.counts["ib_score"] = N;
            for (int64_t i = 0; i < N; ++i) per_clip[ids[size_t(i)]]["ib_score"] = 100.0 * cos[i].item<double>();
        } else {
            r.skipped.push_back(have_frames ? "ib_score: video_audio judge not loaded" : "ib_score: no video frames");
        }
        tick();
        // --- CLAP -----------------------------------------------------------------------------------
        if (judges.text && judges.text_audio) {
            std::vector<int64_t> idx;
            std::vector<std::string> texts;
            for (int64_t i = 0; i < N; ++i) {
                if (!gt[i].caption.empty()) {
                    idx.push_back(i);
                    texts.push_back(gt[i].caption);
                }
            }
            if (!idx.empty()) {
                auto t = judges.text->embed_text(texts);
                auto a = embed_audio_batched(*judges.text_audio, pred_audio.index_select(0, torch::tensor(idx)),
                                             options.batch_size);
                auto cos = metrics::paired_cosine(t, a);
                r.metrics["clap"] = cos.mean().item<double>();
                r.counts["clap"] = int64_t(idx.size());
                for (size_t k = 0; k < idx.size(); ++k) per_clip[ids[size_t(idx[k])]]["clap"] = cos[int64_t(k)].item<double>();
            } else {
                r.skipped.push_back("clap: no clip has a caption");
            }
        } else {
            r.skipped.push_back("clap: text_audio judge not loaded");
        }
        tick();
        // --- DeSync ---------------------------------------------------------------------------------
        if (judges.sync && have_frames) {
            auto offsets = sync_offsets_first_last(*judges.sync, gt.frames(all_indices(N)), pred_audio,
                                                   options.batch_size);  // [N, 2]
            r.metrics["desync"] = metrics::desync_score(offsets);
            r.counts["desync"] = N;
            for (int64_t i = 0; i < N; ++i) {
                per_clip[ids[size_t(i)]]["desync_offsets"] = {offsets[i][0].item<double>(), offsets[i][1].item<double>()};
            }
        } else {
            r.skipped.push_back(have_frames ? "desync: sync judge not loaded" : "desync: no video frames");
        }
        tick();
        // --- SI-SDR ---------------------------------------------------------------------------------
        {
            auto s = metrics::si_sdr(pred_audio, gt_audio);
            r.metrics["si_sdr"] = s.mean().item<double>();
            r.counts["si_sdr"] = N;
            for (int64_t i = 0; i < N; ++i) per_clip[ids[size_t(i)]]["si_sdr"] = s[i].item<double>();
        }
        tick();
        // --- per clip: AV-Align, onsets, PESQ -------------------------------------------------------
        double av_sum = 0, p_sum = 0, rc_sum = 0, f_sum = 0, pesq_sum = 0;
        int64_t av_n = 0, av_fail = 0, on_n = 0, pesq_n = 0, pesq_fail = 0;
        for (int64_t i = 0; i < N; ++i) {
            const auto truth = parse_clip_truth(gt[i]);
            auto& pc = per_clip[ids[size_t(i)]];
            torch::Tensor a22;
            if ((options.av_align && have_frames) || !truth.events.empty()) a22 = resample_16k_to_22k(pred_audio[i]);
            if (options.av_align && have_frames) {
                try {
                    const double s = metrics::av_align(gt[i].frames, kJudgeFps, a22).score;
                    av_sum += s;
                    ++av_n;
                    pc["av_align"] = s;
                } catch (const Error&) {
                    ++av_fail;  // no audio peak and no video peak: the reference divides by zero
                }
            }
            if (!truth.events.empty()) {
                auto f = metrics::onset_f1(truth.events, clip_onsets(a22), {options.onset_window});
                p_sum += f.precision;
                rc_sum += f.recall;
                f_sum += f.f1;
                ++on_n;
                pc["onset_f1"] = f.f1;
            }
            if (options.pesq && truth.speech) {
                try {
                    const double m = metrics::pesq(to_float_vector(gt_audio[i]), to_float_vector(pred_audio[i]), kJudgeSampleRate,
                                                   metrics::PesqMode::WB);
                    pesq_sum += m;
                    ++pesq_n;
                    pc["pesq"] = m;
                } catch (const Error& e) {
                    ++pesq_fail;
                    V2A_LOG_DEBUG("eval: PESQ of %s failed: %s", ids[size_t(i)].c_str(), e.what());
                }
            }
            tick();
        }
        if (av_n > 0) {
            r.metrics["av_align"] = av_sum / double(av_n);
            r.counts["av_align"] = av_n;
        }
        if (av_fail > 0) r.skipped.push_back("av_align: " + std::to_string(av_fail) + " clip(s) without any audio or video peak");
        if (!(options.av_align && have_frames)) r.skipped.push_back("av_align: disabled or no video frames");
        if (on_n > 0) {
            r.metrics["onset_precision"] = p_sum / double(on_n);
            r.metrics["onset_recall"] = rc_sum / double(on_n);
            r.metrics["onset_f1"] = f_sum / double(on_n);
            r.counts["onset_f1"] = on_n;
        } else {
            r.skipped.push_back("onset_f1: no ground-truth event times (clip JSON)");
        }
        if (pesq_n > 0) {
            r.metrics["pesq"] = pesq_sum / double(pesq_n);
            r.counts["pesq"] = pesq_n;
        }
        if (pesq_fail > 0) r.skipped.push_back("pesq: failed on " + std::to_string(pesq_fail) + " speech clip(s)");
    } else {
        r.skipped.push_back("paired metrics: --unpaired");
        tick(3);
    }
    if (progress) progress->finish();
    if (options.per_clip && paired) r.per_clip = per_clip;
    return r;
}

std::map<std::string, torch::Tensor> read_predictions(const stdfs::path& dir, int sample_rate, bool resample) {
    V2A_CHECK(stdfs::is_directory(dir), IO, dir.string(), ": prediction directory not found");
    std::map<std::string, torch::Tensor> out;
    std::map<std::string, stdfs::path> source;
    for (const auto& entry : stdfs::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const auto path = entry.path();
        std::string ext = path.extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (ext != ".wav" && ext != ".flac" && ext != ".mp4") continue;
        const std::string id = path.stem().string();
        V2A_CHECK(!out.count(id), Data, "eval: two predictions for clip ", id, ": ", source[id].string(), " and ",
                  path.string());
        io::Audio a;
        if (ext == ".mp4") {
            a = io::decode_audio(path, {sample_rate, 0.0, -1.0, io::PadPolicy::Truncate});
        } else {
            a = io::read_audio_file(path);
            if (a.sample_rate != sample_rate) {
                V2A_CHECK(resample, Data, path.string(), ": sample rate ", a.sample_rate, " Hz, expected ", sample_rate,
                          " Hz (pass --resample to convert)");
                a = io::resample(a, sample_rate);
            }
        }
        V2A_CHECK(!a.samples.empty(), Data, path.string(), ": no audio samples");
        out[id] = torch::tensor(a.samples, torch::kFloat);
        source[id] = path;
    }
    V2A_CHECK(!out.empty(), Data, dir.string(), ": no predictions (<id>.wav, .flac or .mp4)");
    return out;
}

std::string format_table(const EvalResult& result) {
    // Order and units as av-benchmark's summary (lower is better: FD, KL, DeSync).
    static const std::vector<std::pair<std::string, std::string>> rows = {
        {"fd_cnn", "FD-CNN (PANNs stand-in)      lower"},      {"fd_transformer", "FD-Transformer (PaSST st.-in) lower"},
        {"kl_cnn", "KL-CNN                       lower"},      {"kl_transformer", "KL-Transformer               lower"},
        {"is_cnn", "IS-CNN                       higher"},     {"is_transformer", "IS-Transformer               higher"},
        {"ib_score", "IB-score x100 (stand-in)     higher"},   {"clap", "CLAP (stand-in)              higher"},
        {"desync", "DeSync (s, stand-in)         lower"},      {"av_align", "AV-Align                     higher"},
        {"si_sdr", "SI-SDR (dB)                  higher"},     {"onset_f1", "Onset F1 (+-100 ms)          higher"},
        {"onset_precision", "Onset precision              higher"}, {"onset_recall", "Onset recall                 higher"},
        {"pesq", "PESQ WB (speech)             higher"}};
    std::ostringstream out;
    out << "metric                                      value     clips\n";
    for (const auto& [key, label] : rows) {
        auto it = result.metrics.find(key);
        if (it == result.metrics.end()) continue;
        char line[160];
        const auto c = result.counts.count(key) ? result.counts.at(key)
                                                : (key.rfind("onset_", 0) == 0 && result.counts.count("onset_f1") ? result.counts.at("onset_f1") : 0);
        std::snprintf(line, sizeof line, "%-38s %10.4f %8lld", label.c_str(), it->second, (long long)c);
        out << line;
        auto sd = result.metrics.find(key + "_std");
        if (sd != result.metrics.end()) {
            std::snprintf(line, sizeof line, "  (std %.4f)", sd->second);
            out << line;
        }
        out << "\n";
    }
    for (const auto& s : result.skipped) out << "skipped: " << s << "\n";
    return out.str();
}

json sanity_table(const io::ClipDataset& test, const io::ClipDataset& pool, Judges& judges, const EvalOptions& options,
                  double shift, uint64_t seed) {
    const int64_t N = test.size();
    V2A_CHECK(N >= 2, Data, "sanity: needs at least 2 test clips");
    V2A_CHECK(pool.size() >= 1 && pool[0].audio.defined(), Data, "sanity: the pool split has no audio");
    std::mt19937_64 rng(seed);
    std::map<std::string, std::map<std::string, torch::Tensor>> sets;
    // Seeded derangement: every clip gets another clip's audio.
    std::vector<int64_t> perm(static_cast<size_t>(N));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> derange(static_cast<size_t>(N));
    for (int64_t k = 0; k < N; ++k) derange[size_t(perm[size_t(k)])] = perm[size_t((k + 1) % N)];
    const int64_t shift_samples = std::llround(shift * kJudgeSampleRate);
    std::vector<std::string> unmatched;
    for (int64_t i = 0; i < N; ++i) {
        const auto& item = test[i];
        sets["ground_truth"][item.id] = item.audio;
        sets["shuffled"][item.id] = test[derange[size_t(i)]].audio;
        auto delayed = torch::cat({torch::zeros({shift_samples}), item.audio}).narrow(0, 0, item.audio.size(0));
        sets["shifted"][item.id] = delayed;
        std::vector<int64_t> same, other;
        for (int64_t j = 0; j < pool.size(); ++j) (pool[j].label == item.label ? same : other).push_back(j);
        if (!other.empty()) sets["mismatched_class"][item.id] = pool[other[size_t(rng() % other.size())]].audio;
        if (!same.empty()) {
            sets["same_class_other_clip"][item.id] = pool[same[size_t(rng() % same.size())]].audio;
        } else {
            unmatched.push_back(item.id);
        }
    }
    json rows = json::object();
    for (const std::string name : {"ground_truth", "shuffled", "mismatched_class", "same_class_other_clip", "shifted"}) {
        if (int64_t(sets[name].size()) != N) {
            V2A_LOG_WARN("sanity: row %s skipped (the pool lacks a class for some test clips)", name.c_str());
            continue;
        }
        V2A_LOG_INFO("sanity: scoring %s", name.c_str());
        EvalOptions o = options;
        o.per_clip = false;
        rows[name] = evaluate(test, sets[name], judges, o).to_json();
    }
    auto value = [&](const std::string& row, const std::string& m) -> double {
        if (!rows.contains(row) || !rows[row]["metrics"].contains(m)) return std::nan("");
        return rows[row]["metrics"][m].get<double>();
    };
    json checks = json::array();
    auto check = [&](const std::string& what, const std::string& better, const std::string& worse, const std::string& m,
                     bool higher_is_better) {
        const double a = value(better, m), b = value(worse, m);
        const bool pass = std::isfinite(a) && std::isfinite(b) && (higher_is_better ? a > b : a < b);
        checks.push_back({{"check", what}, {"metric", m}, {better, a}, {worse, b}, {"pass", pass}});
    };
    check("ground truth beats shuffled on IB-score", "ground_truth", "shuffled", "ib_score", true);
    check("ground truth beats shuffled on CLAP", "ground_truth", "shuffled", "clap", true);
    check("ground truth beats shuffled on DeSync", "ground_truth", "shuffled", "desync", false);
    check("ground truth beats shuffled on KL-CNN", "ground_truth", "shuffled", "kl_cnn", false);
    check("ground truth beats shuffled on KL-Transformer", "ground_truth", "shuffled", "kl_transformer", false);
    // FD is permutation-invariant (shuffled == ground truth exactly), so FD is checked against audio
    // of other classes, and same-class audio of other clips must also beat it.
    check("ground truth beats mismatched-class audio on FD-CNN", "ground_truth", "mismatched_class", "fd_cnn", false);
    check("ground truth beats mismatched-class audio on FD-Transformer", "ground_truth", "mismatched_class",
          "fd_transformer", false);
    check("same-class audio beats mismatched-class audio on FD-CNN", "same_class_other_clip", "mismatched_class",
          "fd_cnn", false);
    check("same-class audio beats mismatched-class audio on FD-Transformer", "same_class_other_clip",
          "mismatched_class", "fd_transformer", false);
    check("unshifted beats 0.5 s shift on DeSync", "ground_truth", "shifted", "desync", false);
    check("unshifted beats 0.5 s shift on AV-Align", "ground_truth", "shifted", "av_align", true);
    bool all = true;
    for (const auto& c : checks) all = all && c["pass"].get<bool>();
    return {{"rows", rows}, {"checks", checks}, {"all_pass", all}, {"shift_seconds", shift}, {"seed", seed},
            {"test_clips", N}, {"pool_clips", pool.size()}};
}

}  // namespace v2a::judge
