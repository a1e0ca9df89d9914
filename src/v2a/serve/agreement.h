// Inter-annotator agreement over Good / Medium / Bad ratings: per-clip label counts, Fleiss' kappa
// over every clip with at least two ratings (the form that allows a different number of raters per
// clip), and Cohen's kappa for each pair of annotators over the clips both rated. An undefined kappa
// (no overlap, or every rating in one category) is NaN, reported as JSON null.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "v2a/serve/label_store.h"

namespace v2a::serve {

/// Category counts per item (every row the same length); items with fewer than two ratings are ignored.
double fleiss_kappa(const std::vector<std::vector<int64_t>>& counts);
/// Paired categories (rater A, rater B) of the same items; `categories` = number of categories.
double cohen_kappa(const std::vector<std::pair<int, int>>& ratings, int categories);

/// 0 good, 1 medium, 2 bad; -1 otherwise.
int label_index(const std::string& label);

struct ClipCounts {
    std::string clip_id;
    int64_t counts[3] = {0, 0, 0};   // good, medium, bad
    int64_t total() const { return counts[0] + counts[1] + counts[2]; }
};

struct AnnotatorPair {
    std::string a, b;
    int64_t shared = 0;   // clips both rated
    double kappa = 0.0;
};

struct AgreementReport {
    std::vector<ClipCounts> clips;        // in the order given (clips nobody rated included)
    double fleiss = 0.0;
    int64_t fleiss_clips = 0;             // clips with >= 2 ratings
    std::vector<AnnotatorPair> pairs;     // every pair of annotators with a shared clip
    std::vector<std::pair<std::string, int64_t>> annotators;   // name, labels
    nlohmann::json to_json() const;
};

/// Agreement of the (not undone) labels; `clip_ids` fixes the order of the per-clip table.
AgreementReport agreement(const std::vector<LabelRow>& labels, const std::vector<std::string>& clip_ids);

}  // namespace v2a::serve
