// `v2a audioscore train|score`: AudioScore (V2A-DPO) = five frozen-judge scores per generated clip
// -> a small MLP -> P(Good), P(Medium), P(Bad), fit to ratings (human or SIMULATED).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/io/manifest.h"
#include "v2a/report/plot.h"
#include "v2a/score/audio_score.h"
#include "v2a/score/audioscore_fit.h"
#include "v2a/score/labels.h"
#include "v2a/score/sample_set.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

struct TrainArgs {
    DataArgs data;
    std::string samples, labels, judges, out;
    double val_fraction = 0.2;
    score::FitOptions fit;
    int64_t chunk = 32;
};

struct ScoreArgs {
    DataArgs data;
    std::string model, judges, samples, out;
    int64_t chunk = 32;
};

// `<out without extension><suffix>`: audioscore.safetensors -> audioscore.report.json.
stdfs::path beside(const stdfs::path& out, const std::string& suffix) {
    auto p = out;
    p.replace_extension();
    return p.string() + suffix;
}

json score_row(const torch::Tensor& raw_row) {
    json j = json::object();
    for (int64_t c = 0; c < score::kNumScores; ++c) {
        const double v = raw_row[c].item<double>();
        j[score::kScoreNames[size_t(c)]] = std::isnan(v) ? json(nullptr) : json(v);   // null = neutral
    }
    return j;
}

void run_train(const TrainArgs& a) {
    V2A_CHECK(a.val_fraction >= 0.0 && a.val_fraction < 1.0, Usage, "audioscore train: --val-fraction must be in [0, 1)");
    const auto samples = score::read_samples(a.samples);
    const auto labels = score::read_labels(a.labels);
    V2A_CHECK(!labels.empty(), Data, a.labels, ": no labels");
    std::map<std::string, int64_t> sample_index;
    for (size_t i = 0; i < samples.size(); ++i) sample_index[samples[i].sample_id] = int64_t(i);
    std::vector<std::string> unknown;
    for (const auto& l : labels)
        if (!sample_index.count(l.clip_id)) unknown.push_back(l.clip_id);
    V2A_CHECK(unknown.empty(), Data, a.labels, ": ", unknown.size(), " label(s) name samples that ", a.samples,
              " does not hold, e.g. '", unknown.empty() ? "" : unknown.front(), "'");

    // Labelled samples and the clips (videos) they belong to.
    std::set<int64_t> labelled_set;
    for (const auto& l : labels) labelled_set.insert(sample_index.at(l.clip_id));
    std::vector<int64_t> labelled(labelled_set.begin(), labelled_set.end());
    std::vector<score::SampleRecord> used;
    for (int64_t i : labelled) used.push_back(samples[size_t(i)]);
    std::set<std::string> clip_set;
    for (const auto& s : used) clip_set.insert(s.clip_id);
    // Split by CLIP id, so that no video has samples on both sides.
    std::vector<std::string> clip_ids(clip_set.begin(), clip_set.end());
    std::mt19937_64 rng(a.fit.seed);
    std::shuffle(clip_ids.begin(), clip_ids.end(), rng);
    int64_t n_val = int64_t(std::llround(a.val_fraction * double(clip_ids.size())));
    if (a.val_fraction > 0) n_val = std::max<int64_t>(1, n_val);
    V2A_CHECK(n_val < int64_t(clip_ids.size()), Data, a.labels, ": the labelled samples come from ",
              clip_ids.size(), " video(s), too few to hold out ", n_val, " and fit on the rest");
    const std::set<std::string> val_clips(clip_ids.begin(), clip_ids.begin() + n_val);

    const auto manifest = io::read_manifest(a.data.manifest, {true});
    const auto clips = score::load_sample_clips(manifest, used, a.data.dataset_options(true, true), a.samples);
    auto judges = judge::load_judges(a.judges);
    V2A_CHECK(judges.cnn != nullptr, Model, a.judges, ": no cnn (PANNs role) judge; AudioScore's quality score needs it");

    // Classifier marginal of the fit samples (the quality score's reference), then every raw score.
    std::vector<int64_t> fit_samples, all_used(used.size());
    for (size_t i = 0; i < used.size(); ++i) {
        all_used[i] = int64_t(i);
        if (!val_clips.count(used[i].clip_id)) fit_samples.push_back(int64_t(i));
    }
    const auto marginal = score::sample_class_marginal(judges, clips, used, fit_samples, a.chunk);
    V2A_LOG_INFO("audioscore: raw scores of %zu labelled samples from %zu videos", used.size(), clip_ids.size());
    score::SampleScoreOptions so;
    so.chunk = a.chunk;
    const auto raw_used = score::score_samples(judges, clips, used, all_used, marginal, so);   // [U, 5]
    std::map<std::string, int64_t> used_row;
    for (size_t i = 0; i < used.size(); ++i) used_row[used[i].sample_id] = int64_t(i);

    // One training row per rating (a sample rated by several annotators counts once per rating).
    std::vector<int64_t> fit_rows, val_rows;
    std::vector<score::Rating> fit_r, val_r;
    for (const auto& l : labels) {
        const int64_t row = used_row.at(l.clip_id);
        const bool held = val_clips.count(used[size_t(row)].clip_id) > 0;
        (held ? val_rows : fit_rows).push_back(row);
        (held ? val_r : fit_r).push_back(l.rating);
    }
    auto pick = [&](const std::vector<int64_t>& rows) { return raw_used.index_select(0, torch::tensor(rows, torch::kLong)); };
    const auto fit_raw = pick(fit_rows), fit_t = score::rating_targets(fit_r);
    auto fit = score::fit_audioscore(fit_raw, fit_t, a.fit, marginal, judges.cnn->classes());
    score::save_audioscore(a.out, fit.model);

    int64_t counts[score::kNumRatings] = {0, 0, 0};
    for (auto r : fit_r) ++counts[int(r)];
    const int64_t majority = int64_t(std::max_element(counts, counts + score::kNumRatings) - counts);
    json report = {{"model", a.out},
                   {"samples", a.samples},
                   {"labels", a.labels},
                   {"judges", a.judges},
                   {"scores", std::vector<std::string>(score::kScoreNames.begin(), score::kScoreNames.end())},
                   {"fit", {{"ratings", fit_rows.size()},
                            {"videos", clip_ids.size() - size_t(n_val)},
                            {"rating_counts", {counts[0], counts[1], counts[2]}},
                            {"accuracy", fit.train_accuracy},
                            {"final_loss", fit.losses.back()},
                            {"steps", a.fit.steps},
                            {"hidden", a.fit.hidden},
                            {"lr", a.fit.lr},
                            {"batch", a.fit.batch_size},
                            {"seed", a.fit.seed}}},
                   {"standardisation", {{"mean", std::vector<double>(fit.model->score_mean.data_ptr<double>(),
                                                                     fit.model->score_mean.data_ptr<double>() + score::kNumScores)},
                                        {"std", std::vector<double>(fit.model->score_std.data_ptr<double>(),
                                                                    fit.model->score_std.data_ptr<double>() + score::kNumScores)}}}};
    std::printf("audioscore: fit on %zu ratings of %lld videos (good %lld / medium %lld / bad %lld): training accuracy "
                "%.3f, final cross-entropy %.3f\n",
                fit_rows.size(), (long long)(clip_ids.size() - size_t(n_val)), (long long)counts[0],
                (long long)counts[1], (long long)counts[2], fit.train_accuracy, fit.losses.back());
    if (!val_rows.empty()) {
        score::EvaluationOptions eo;
        eo.seed = a.fit.seed;
        eo.majority_class = majority;
        const auto e = score::evaluate_audioscore(fit.model, pick(val_rows), score::rating_targets(val_r), eo);
        report["held_out"] = e.to_json();
        report["held_out"]["videos"] = n_val;
        std::printf("%s", score::format_evaluation(e).c_str());
        const auto png = beside(a.out, ".reliability.png");
        if (report::gnuplot_available()) {
            score::plot_reliability(png, e.calibration, "AudioScore reliability, held-out ratings");
            report["reliability_png"] = png.string();
            std::printf("reliability diagram: %s\n", png.c_str());
        } else {
            V2A_LOG_WARN("audioscore: gnuplot not found, no reliability diagram");
        }
    } else {
        std::printf("audioscore: --val-fraction 0, no held-out evaluation\n");
    }
    const auto report_path = beside(a.out, ".report.json");
    fs::write_atomic(report_path, report.dump(2) + "\n");
    std::printf("audioscore: wrote %s and %s\n", a.out.c_str(), report_path.c_str());
}

void run_score(const ScoreArgs& a) {
    auto scorer = score::AudioScorer::load(a.judges, a.model);
    const auto samples = score::read_samples(a.samples);
    const auto manifest = io::read_manifest(a.data.manifest, {true});
    const auto clips = score::load_sample_clips(manifest, samples, a.data.dataset_options(true, true), a.samples);
    std::vector<int64_t> all(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) all[i] = int64_t(i);
    const auto& m = scorer.model()->class_marginal;
    score::SampleScoreOptions so;
    so.chunk = a.chunk;
    const auto raw = score::score_samples(scorer.judges(), clips, samples, all, m.numel() > 0 ? m : torch::Tensor(), so);
    const auto probs = scorer.model()->probabilities(raw);
    std::string out;
    double mean_good = 0;
    for (size_t i = 0; i < samples.size(); ++i) {
        const auto& s = samples[i];
        const auto p = probs[int64_t(i)];
        json j = {{"sample_id", s.sample_id}, {"clip_id", s.clip_id}, {"seed", s.seed},
                  {"scores", score_row(raw[int64_t(i)])},
                  {"p_good", p[0].item<double>()}, {"p_medium", p[1].item<double>()}, {"p_bad", p[2].item<double>()}};
        mean_good += p[0].item<double>() / double(samples.size());
        out += j.dump() + "\n";
    }
    fs::write_atomic(a.out, out);
    std::printf("audioscore: scored %zu samples (mean P(Good) %.3f) -> %s\n", samples.size(), mean_good, a.out.c_str());
}

}  // namespace

void add_audioscore(CLI::App& app) {
    auto* cmd = app.add_subcommand("audioscore", "AudioScore: P(Good/Medium/Bad) of generated clips from five judge scores");
    cmd->require_subcommand(1);

    auto* train = cmd->add_subcommand("train", "fit AudioScore to ratings of generated samples");
    auto t = std::make_shared<TrainArgs>();
    t->data.add_to(*train);
    train->add_option("--samples", t->samples, "samples.csv (sample_id,clip_id,seed,audio)")->required();
    train->add_option("--labels", t->labels, "ratings CSV/JSONL (clip_id,label[,annotator]); clip_id = sample id")->required();
    train->add_option("--judges", t->judges, "judges folder (v2a train-judges)")->required();
    train->add_option("--out", t->out, "model file (.safetensors); the report and plot go beside it")->required();
    train->add_option("--val-fraction", t->val_fraction, "fraction of VIDEOS held out for evaluation")->capture_default_str();
    train->add_option("--hidden", t->fit.hidden, "hidden units")->capture_default_str()->check(CLI::Range(1, 4096));
    train->add_option("--steps", t->fit.steps, "AdamW steps")->capture_default_str()->check(CLI::Range(1, 10000000));
    train->add_option("--lr", t->fit.lr, "learning rate")->capture_default_str();
    train->add_option("--weight-decay", t->fit.weight_decay, "AdamW weight decay")->capture_default_str();
    train->add_option("--batch", t->fit.batch_size, "minibatch size (0 = full batch)")->capture_default_str();
    train->add_option("--seed", t->fit.seed, "init, minibatch order and the video split")->capture_default_str();
    train->add_option("--chunk", t->chunk, "samples per judge batch")->capture_default_str()->check(CLI::Range(1, 4096));
    train->callback([t] { run_train(*t); });

    auto* sc = cmd->add_subcommand("score", "raw scores and P(Good/Medium/Bad) of every sample");
    auto s = std::make_shared<ScoreArgs>();
    s->data.add_to(*sc);
    sc->add_option("--model", s->model, "AudioScore model (audioscore train)")->required();
    sc->add_option("--judges", s->judges, "judges folder the model was fit with")->required();
    sc->add_option("--samples", s->samples, "samples.csv (sample_id,clip_id,seed,audio)")->required();
    sc->add_option("--out", s->out, "scores JSONL (one object per sample)")->required();
    sc->add_option("--chunk", s->chunk, "samples per judge batch")->capture_default_str()->check(CLI::Range(1, 4096));
    sc->callback([s] { run_score(*s); });
}

}  // namespace v2a::cli
