// A preference-pair dataset on disk, written by `v2a pairs` and read by `v2a dpo`:
//
//   DIR/<set>-<i>of<N>.jsonl                 one JSON object per pair (metadata; see PairRecord)
//   DIR/latents/<set>-<i>of<N>-<chunk>.safetensors  winner/loser latents of one chunk of videos,
//                                            normalised generator latents [N_tokens, C] per key
//   DIR/<set>-rejected-<i>of<N>.jsonl        videos that gave no pair (and why)
//   DIR/config.json                          how the set was made (model, AudioScore, K, seeds)
//
// Shard i of N (`--shard i/N`) owns the videos whose index % N == i, so N machines can build one
// set; a reader merges every pair file in DIR. <set> is "pairs" (sampled) or "human" (rated). A chunk's latents are written atomically BEFORE
// its lines are appended, so a killed job loses at most the chunk in flight and a re-run resumes
// after the last complete one (a torn last line is dropped on open).
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "v2a/pairs/preference.h"

namespace v2a::pairs {

struct Candidate {
    uint64_t seed = 0;
    RatingProbs probs{0.0, 0.0, 0.0};
    std::string sample_id;   // human pairs: the rated sample
    double score = std::numeric_limits<double>::quiet_NaN();  // the ranking's score (oracle quality, STAR R); NaN = none
};

struct PairRecord {
    std::string pair_id;            // unique in a set: "<clip_id>" (auto), "<clip_id>#h<k>" (human)
    std::string clip_id, caption;   // the video (benchmark clip) and text the pair is conditioned on
    std::string source = "auto";    // "auto" (AudioScore) | "star" | "oracle" (SIMULATED annotator) | "gt" (ground
                                    // truth vs a sample) | "human" (labels) | "rule"
    double complexity = 0.0;        // human pairs: 0
    Candidate winner, loser;
    std::vector<Candidate> candidates;   // every sample of the video (auto)
    std::string shard;              // file under DIR/latents/
    std::string winner_key, loser_key;

    nlohmann::json to_json() const;
    static PairRecord from_json(const nlohmann::json& j, const std::string& where);
};

/// "i/N" -> {i, N}; throws v2a::Error(Usage) unless 0 <= i < N.
std::pair<int, int> parse_shard(const std::string& text);

class PairWriter {
public:
    /// Opens (or resumes) shard `index` of `count` of the set `name` in `dir`.
    PairWriter(const std::filesystem::path& dir, int index = 0, int count = 1, const std::string& name = "pairs");
    /// Clip ids already written by this shard (skip them when resuming).
    const std::set<std::string>& done() const { return done_; }
    /// Writes one chunk: `latents` maps each record's winner_key / loser_key to [N, C]; the shard
    /// field of every record is filled in here.
    /// `rejected`: videos of the chunk whose candidates gave no pair ({"clip_id", "reason", ...}),
    /// logged to DIR/<set>-rejected-<i>of<N>.jsonl so a resumed run skips them too.
    void write_chunk(std::vector<PairRecord> records, const std::map<std::string, torch::Tensor>& latents,
                     const std::vector<nlohmann::json>& rejected = {});
    int64_t chunks() const { return chunks_; }

private:
    std::filesystem::path dir_, jsonl_, rejected_;
    std::string tag_;
    std::set<std::string> done_;
    int64_t chunks_ = 0;
};

/// Every pair of a directory with its latents in memory.
class PairSet {
public:
    static PairSet load(const std::filesystem::path& dir);
    /// From records and latents already in memory (tests, rule-based sets).
    PairSet(std::vector<PairRecord> records, torch::Tensor winners, torch::Tensor losers);

    int64_t size() const { return int64_t(records_.size()); }
    const PairRecord& operator[](int64_t i) const { return records_.at(size_t(i)); }
    const std::vector<PairRecord>& records() const { return records_; }
    /// [B, N, C] latents of the rows.
    torch::Tensor winners(const std::vector<int64_t>& rows) const;
    torch::Tensor losers(const std::vector<int64_t>& rows) const;
    std::vector<double> complexities() const;
    /// Keeps the pairs whose source is in `sources` (e.g. {"auto"}).
    PairSet filter_sources(const std::set<std::string>& sources) const;
    /// Summary for logs: counts by source, complexity quantiles.
    nlohmann::json summary() const;

private:
    std::vector<PairRecord> records_;
    torch::Tensor winners_, losers_;   // [P, N, C]
};

}  // namespace v2a::pairs
