#include "v2a/pairs/sampled_pairs.h"

#include <chrono>
#include <cmath>
#include <map>

#include "v2a/core/error.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/io/media.h"
#include "v2a/score/simulated_annotator.h"

namespace v2a::pairs {

Ranking parse_ranking(const std::string& name) {
    if (name == "audioscore") return Ranking::AudioScore;
    if (name == "star") return Ranking::Star;
    if (name == "oracle") return Ranking::Oracle;
    if (name == "gt-vs-sample") return Ranking::GtVsSample;
    fail(ErrorKind::Usage, "--ranking must be audioscore, star, oracle or gt-vs-sample, got '", name, "'");
}

PairSelection select_by_score(const std::vector<double>& scores, double min_margin) {
    V2A_CHECK(scores.size() >= 2, Usage, "pair selection: need at least 2 candidates, got ", scores.size());
    for (double x : scores) V2A_CHECK(std::isfinite(x), Usage, "pair selection: a candidate's score is ", x);
    PairSelection s;
    s.winner = s.loser = 0;
    for (int i = 1; i < int(scores.size()); ++i) {
        if (scores[size_t(i)] > scores[size_t(s.winner)]) s.winner = i;
        if (scores[size_t(i)] < scores[size_t(s.loser)]) s.loser = i;
    }
    s.complexity = scores[size_t(s.winner)] - scores[size_t(s.loser)];
    if (!(s.complexity > 0)) {
        s.rejected = "no score gap";
    } else if (s.complexity < min_margin) {
        s.rejected = "margin";
    } else {
        s.kept = true;
    }
    return s;
}

namespace {

// z-scores of a column over K candidates; 0 for a constant (or all-NaN) column.
std::vector<double> zscore(const std::vector<double>& v) {
    double mean = 0, n = 0;
    for (double x : v) {
        if (std::isfinite(x)) mean += x, n += 1;
    }
    std::vector<double> z(v.size(), 0.0);
    if (n < 2) return z;
    mean /= n;
    double var = 0;
    for (double x : v) {
        if (std::isfinite(x)) var += (x - mean) * (x - mean);
    }
    const double sd = std::sqrt(var / n);
    if (sd < 1e-12) return z;
    for (size_t i = 0; i < v.size(); ++i) z[i] = std::isfinite(v[i]) ? (v[i] - mean) / sd : 0.0;
    return z;
}

std::vector<double> column(const torch::Tensor& raw, int64_t c) {
    auto col = raw.select(1, c).to(torch::kDouble).contiguous();
    return std::vector<double>(col.data_ptr<double>(), col.data_ptr<double>() + col.numel());
}


}  // namespace

PairSelection select_star_pair(const torch::Tensor& raw, bool pareto) {
    V2A_CHECK(raw.dim() == 2 && raw.size(0) >= 2 && raw.size(1) == score::kNumScores, Usage,
              "STAR ranking: raw scores must be [K >= 2, 5], got ", raw.sizes());
    const int64_t k = raw.size(0);
    const auto z_ib = zscore(column(raw, 0)), z_clap = zscore(column(raw, 1)), z_desync = zscore(column(raw, 2));
    std::vector<double> sem(static_cast<size_t>(k)), tmp(static_cast<size_t>(k));
    for (size_t i = 0; i < size_t(k); ++i) {
        sem[i] = z_ib[i] + z_clap[i];
        tmp[i] = -z_desync[i];
    }
    const auto zs = zscore(sem), zt = zscore(tmp);
    std::vector<double> r(static_cast<size_t>(k));
    for (size_t i = 0; i < size_t(k); ++i) r[i] = zs[i] + zt[i];
    PairSelection s;
    s.winner = s.loser = 0;
    for (int i = 1; i < int(k); ++i) {
        if (r[size_t(i)] > r[size_t(s.winner)]) s.winner = i;
        if (r[size_t(i)] < r[size_t(s.loser)]) s.loser = i;
    }
    const double gap = r[size_t(s.winner)] - r[size_t(s.loser)];
    s.complexity = gap / (4.0 * std::sqrt(double(k - 1)));
    if (s.winner == s.loser || !(gap > 0)) {
        s.rejected = "no ranking gap";
    } else if (pareto && (sem[size_t(s.winner)] < sem[size_t(s.loser)] || tmp[size_t(s.winner)] < tmp[size_t(s.loser)])) {
        s.rejected = "not pareto";
    } else {
        s.kept = true;
    }
    return s;
}

nlohmann::json build_sampled_pairs(flow::Pipeline& pipeline, score::AudioScorer* scorer,
                                   const io::ClipDataset& videos, const std::filesystem::path& dir,
                                   const SampledPairOptions& o) {
    const bool gt = o.ranking == Ranking::GtVsSample, oracle = o.ranking == Ranking::Oracle;
    V2A_CHECK(o.samples_per_video >= (gt ? 1 : 2), Usage, "pairs: need at least ", gt ? 1 : 2,
              " samples per video, got ", o.samples_per_video);
    V2A_CHECK(gt || oracle || scorer != nullptr, Usage, "pairs: AudioScore and STAR ranking need the scorer");
    std::unique_ptr<score::SimulatedAnnotator> annotator;
    if (oracle) {
        score::SimulatedAnnotatorOptions ao;
        ao.annotator = o.oracle_annotator;
        ao.error_rate = 0.0;  // the oracle is the annotator's noiseless quality
        annotator = std::make_unique<score::SimulatedAnnotator>(ao);
    }
    V2A_CHECK(o.videos_per_chunk >= 1, Usage, "pairs: videos per chunk must be >= 1");
    V2A_CHECK(videos.size() > 0, Data, "pairs: no videos");
    PairWriter writer(dir, o.shard_index, o.shard_count);
    std::vector<int64_t> todo;
    int64_t mine = 0;
    for (int64_t i = 0; i < videos.size(); ++i) {
        if (i % o.shard_count != o.shard_index) continue;
        ++mine;
        if (!writer.done().count(videos[i].id)) todo.push_back(i);
    }
    if (int64_t(todo.size()) < mine) {
        V2A_LOG_INFO("pairs: resuming shard %d/%d: %lld of %lld videos already done", o.shard_index, o.shard_count,
                     (long long)(mine - int64_t(todo.size())), (long long)mine);
    }
    const auto start = std::chrono::steady_clock::now();
    const int64_t k = o.samples_per_video;
    std::map<std::string, int64_t> rejected_by;
    int64_t written = 0;
    Progress progress("pairs", int64_t(todo.size()), "videos");
    for (size_t c = 0; c < todo.size(); c += size_t(o.videos_per_chunk)) {
        std::vector<int64_t> chunk(todo.begin() + long(c), todo.begin() + long(std::min(todo.size(), c + size_t(o.videos_per_chunk))));
        // Rows: video v's sample j at v * K + j.
        std::vector<int64_t> rows;
        std::vector<std::string> captions;
        std::vector<uint64_t> noise;
        for (int64_t v : chunk) {
            for (int64_t j = 0; j < k; ++j) {
                rows.push_back(v);
                captions.push_back(videos[v].caption);
                noise.push_back(flow::noise_seed(videos[v].id, o.seed + uint64_t(j)));
            }
        }
        const auto latents = pipeline.sample_latents_seeded(videos.frames(rows), captions, noise, o.generate);
        torch::Tensor raw, probs, audio;
        if (!gt) audio = judge::crop_or_pad(pipeline.latents_to_audio(latents), videos.n_samples());
        if (scorer != nullptr && !gt && !oracle) {
            raw = scorer->raw_scores(score::score_inputs(videos, rows, audio));
            probs = scorer->model()->probabilities(raw).to(torch::kDouble).contiguous();
        }
        // What is stored has passed through the VAE encoder, like ground truth (see reencode_latents).
        const auto stored = pipeline.reencode_latents(latents);
        const auto truth = gt ? pipeline.audio_to_latents(videos.audio(chunk)) : torch::Tensor();

        std::vector<PairRecord> records;
        std::vector<nlohmann::json> rejected;
        std::map<std::string, torch::Tensor> tensors;
        for (size_t vi = 0; vi < chunk.size(); ++vi) {
            const auto& item = videos[chunk[vi]];
            std::vector<RatingProbs> cand(static_cast<size_t>(k));
            std::vector<Candidate> cands;
            std::vector<double> quality;
            std::unique_ptr<score::TruthReference> reference;
            if (oracle) reference = std::make_unique<score::TruthReference>(annotator->reference(item));
            for (int64_t j = 0; j < k; ++j) {
                const int64_t row = int64_t(vi) * k + j;
                if (probs.defined()) {
                    for (int q = 0; q < 3; ++q) cand[size_t(j)][size_t(q)] = probs[row][q].item<double>();
                }
                cands.push_back(Candidate{o.seed + uint64_t(j), cand[size_t(j)], ""});
                if (oracle) {
                    const auto rating = annotator->rate(annotator->observe(audio[row], *reference), item.id);
                    quality.push_back(rating.quality);
                    cands.back().score = rating.quality;
                }
            }
            if (gt) {
                // Ground truth wins over every sample of the video: K pairs, correct by construction.
                for (int64_t j = 0; j < k; ++j) {
                    PairRecord r;
                    r.pair_id = item.id + "#g" + std::to_string(j);
                    r.clip_id = item.id;
                    r.caption = item.caption;
                    r.source = "gt";
                    r.complexity = 1.0;
                    r.winner = Candidate{0, {1.0, 0.0, 0.0}, "ground_truth"};
                    r.loser = cands[size_t(j)];
                    r.winner_key = r.pair_id + "/w";
                    r.loser_key = r.pair_id + "/l";
                    tensors[r.winner_key] = truth[int64_t(vi)];
                    tensors[r.loser_key] = stored[int64_t(vi) * k + j];
                    records.push_back(std::move(r));
                }
                continue;
            }
            PairSelection sel = o.ranking == Ranking::AudioScore ? select_pair(cand, o.selection)
                                : oracle ? select_by_score(quality, o.selection.min_margin)
                                         : select_star_pair(raw.narrow(0, int64_t(vi) * k, k), false);
            if (!sel.kept) {
                ++rejected_by[sel.rejected];
                nlohmann::json cj = nlohmann::json::array();
                for (const auto& x : cands) cj.push_back({{"seed", x.seed}, {"p", {x.probs[0], x.probs[1], x.probs[2]}}});
                rejected.push_back({{"clip_id", item.id}, {"reason", sel.rejected}, {"candidates", cj}});
                continue;
            }
            PairRecord r;
            r.pair_id = item.id;
            r.clip_id = item.id;
            r.caption = item.caption;
            r.source = o.ranking == Ranking::AudioScore ? "auto" : oracle ? "oracle" : "star";
            r.complexity = sel.complexity;
            r.winner = cands[size_t(sel.winner)];
            r.loser = cands[size_t(sel.loser)];
            r.candidates = cands;
            r.winner_key = item.id + "/w";
            r.loser_key = item.id + "/l";
            tensors[r.winner_key] = stored[int64_t(vi) * k + sel.winner];
            tensors[r.loser_key] = stored[int64_t(vi) * k + sel.loser];
            records.push_back(std::move(r));
        }
        written += int64_t(records.size());
        writer.write_chunk(std::move(records), tensors, rejected);
        progress.advance(int64_t(chunk.size()));
        progress.set_status("pairs " + std::to_string(written));
    }
    progress.finish();
    nlohmann::json summary = {
        {"videos", mine},
        {"pairs_written_now", written},
        {"rejected_now", rejected_by},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
        {"shard", std::to_string(o.shard_index) + "/" + std::to_string(o.shard_count)}};
    return summary;
}

namespace {

// Majority rating of a sample over annotators (ties -> Medium).
std::map<std::string, score::Rating> majority(const std::vector<score::LabelRecord>& labels) {
    std::map<std::string, std::array<int, 3>> counts;
    for (const auto& l : labels) ++counts[l.clip_id][size_t(l.rating)];
    std::map<std::string, score::Rating> out;
    for (const auto& [id, c] : counts) {
        int best = 0;
        bool tie = false;
        for (int q = 1; q < 3; ++q) {
            if (c[size_t(q)] > c[size_t(best)]) best = q, tie = false;
            else if (c[size_t(q)] == c[size_t(best)]) tie = true;
        }
        out[id] = tie ? score::Rating::Medium : score::Rating(best);
    }
    return out;
}

}  // namespace

nlohmann::json build_human_pairs(flow::Pipeline& pipeline, const io::ClipDataset& clips,
                                 const std::vector<score::SampleRecord>& samples,
                                 const std::vector<score::LabelRecord>& labels, const std::filesystem::path& dir,
                                 int per_clip) {
    V2A_CHECK(per_clip >= 1, Usage, "pairs: --human-pairs-per-clip must be >= 1");
    PairWriter writer(dir, 0, 1, "human");
    const auto rated = majority(labels);
    std::map<std::string, int64_t> row_of;
    for (int64_t i = 0; i < clips.size(); ++i) row_of[clips[i].id] = i;
    // Samples of each clip, split by majority rating.
    std::map<std::string, std::pair<std::vector<const score::SampleRecord*>, std::vector<const score::SampleRecord*>>> by_clip;
    int64_t unknown = 0;
    for (const auto& s : samples) {
        auto it = rated.find(s.sample_id);
        if (it == rated.end()) continue;
        if (!row_of.count(s.clip_id)) {
            ++unknown;
            continue;
        }
        if (it->second == score::Rating::Good) by_clip[s.clip_id].first.push_back(&s);
        if (it->second == score::Rating::Bad) by_clip[s.clip_id].second.push_back(&s);
    }
    std::vector<PairRecord> records;
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [clip, gb] : by_clip) {
        if (writer.done().count(clip)) continue;
        const auto& item = clips[row_of.at(clip)];
        const size_t n = std::min({gb.first.size(), gb.second.size(), size_t(per_clip)});
        for (size_t p = 0; p < n; ++p) {
            const auto* good = gb.first[p];
            const auto* bad = gb.second[p];
            std::vector<torch::Tensor> wavs;
            for (const auto* s : {good, bad}) {
                auto a = io::read_audio_file(s->audio);
                V2A_CHECK(a.sample_rate == clips.options().sample_rate, Data, s->audio.string(), ": sample rate ",
                          a.sample_rate, " Hz, expected ", clips.options().sample_rate);
                auto t = torch::from_blob(a.samples.data(), {1, int64_t(a.samples.size())}, torch::kFloat).clone();
                wavs.push_back(judge::crop_or_pad(t, clips.n_samples()));
            }
            const auto z = pipeline.audio_to_latents(torch::cat(wavs));
            PairRecord r;
            r.pair_id = clip + "#h" + std::to_string(p);
            r.clip_id = clip;
            r.caption = item.caption;
            r.source = "human";
            r.complexity = 0.0;
            r.winner = Candidate{good->seed, {1.0, 0.0, 0.0}, good->sample_id};
            r.loser = Candidate{bad->seed, {0.0, 0.0, 1.0}, bad->sample_id};
            r.winner_key = r.pair_id + "/w";
            r.loser_key = r.pair_id + "/l";
            tensors[r.winner_key] = z[0];
            tensors[r.loser_key] = z[1];
            records.push_back(std::move(r));
        }
    }
    const int64_t n = int64_t(records.size());
    if (n > 0) writer.write_chunk(std::move(records), tensors);
    return {{"human_pairs_written_now", n}, {"rated_samples", int64_t(rated.size())}, {"samples_of_unknown_clips", unknown}};
}

}  // namespace v2a::pairs
