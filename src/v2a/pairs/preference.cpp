#include "v2a/pairs/preference.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::pairs {

double complexity(const RatingProbs& w, const RatingProbs& l) {
    return 0.5 * ((w[0] - l[0]) + (l[2] - w[2]));
}

PairSelection select_pair(const std::vector<RatingProbs>& candidates, const SelectionOptions& options) {
    V2A_CHECK(candidates.size() >= 2, Usage, "pair selection: need at least 2 candidates, got ", candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
        for (double p : candidates[i]) {
            V2A_CHECK(std::isfinite(p), Usage, "pair selection: candidate ", i, " has a non-finite probability");
        }
    }
    PairSelection s;
    s.winner = s.loser = 0;
    for (size_t i = 1; i < candidates.size(); ++i) {
        if (candidates[i][0] > candidates[size_t(s.winner)][0]) s.winner = int(i);
        if (candidates[i][2] > candidates[size_t(s.loser)][2]) s.loser = int(i);
    }
    const auto& w = candidates[size_t(s.winner)];
    const auto& l = candidates[size_t(s.loser)];
    s.complexity = complexity(w, l);
    const double gap = w[0] - l[0];
    if (s.winner == s.loser) {
        s.rejected = "same candidate";
    } else if (!(gap > 0.0)) {
        s.rejected = "no P(Good) gap";
    } else if (gap < options.min_margin) {
        s.rejected = "margin";
    } else {
        s.kept = true;
    }
    return s;
}

CurriculumSplit split_by_complexity(const std::vector<double>& complexities, double tau, bool cumulative) {
    CurriculumSplit split;
    for (size_t i = 0; i < complexities.size(); ++i) {
        if (complexities[i] > tau) {
            split.stage1.push_back(int64_t(i));
            if (cumulative) split.stage2.push_back(int64_t(i));
        } else {
            split.stage2.push_back(int64_t(i));
        }
    }
    return split;
}

int64_t stage1_steps(int64_t total, int64_t n_stage1, int64_t n_stage2, double fraction) {
    V2A_CHECK(total >= 0 && n_stage1 >= 0 && n_stage2 >= 0, Usage, "curriculum: negative counts");
    V2A_CHECK(fraction <= 1.0, Usage, "curriculum: stage-1 fraction must be <= 1, got ", fraction);
    if (n_stage1 == 0) return 0;
    if (n_stage2 == 0) return total;
    const double f = fraction >= 0.0 ? fraction : double(n_stage1) / double(n_stage1 + n_stage2);
    return std::min(total, int64_t(std::llround(f * double(total))));
}

}  // namespace v2a::pairs
