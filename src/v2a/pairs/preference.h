// Preference-pair selection (V2A-DPO): from the AudioScore probabilities of K candidates generated
// for one video, the winner is the candidate most likely Good and the loser the one most likely Bad;
// the pair is kept only if it is a real preference. Its complexity says how clearly the two differ:
//   c = 1/2 [(P(Good)_w - P(Good)_l) + (P(Bad)_l - P(Bad)_w)]  in [-1, 1]  (high = easy)
// The curriculum trains on easy pairs (c > tau) first, then on the rest. Pure logic, no tensors.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace v2a::pairs {

/// P(Good), P(Medium), P(Bad) of one candidate.
using RatingProbs = std::array<double, 3>;

double complexity(const RatingProbs& winner, const RatingProbs& loser);

struct SelectionOptions {
    double min_margin = 0.0;   // keep only pairs with P(Good)_w - P(Good)_l >= min_margin (on top of > 0)
};

struct PairSelection {
    bool kept = false;
    int winner = -1, loser = -1;   // candidate indices (set even when not kept, for the logs)
    double complexity = 0.0;
    std::string rejected;          // why not kept: "same candidate", "no P(Good) gap", "margin"
};

/// Winner = argmax P(Good), loser = argmax P(Bad) (first index on ties), then the re-filter:
/// winner != loser, P(Good)_w > P(Good)_l, and the margin. Throws v2a::Error(Usage) for fewer than
/// two candidates or probabilities that are not finite.
PairSelection select_pair(const std::vector<RatingProbs>& candidates, const SelectionOptions& options = {});

/// Curriculum split of pair indices by complexity: stage 1 = c > tau (easy), stage 2 = the rest.
/// With `cumulative` stage 2 holds every pair (Curriculum-DPO's code keeps easy pairs in).
struct CurriculumSplit {
    std::vector<int64_t> stage1, stage2;
};
CurriculumSplit split_by_complexity(const std::vector<double>& complexities, double tau, bool cumulative = false);

/// Steps of stage 1 out of `total`: `fraction` of them when fraction >= 0, else proportional to
/// stage 1's share of the pairs; 0 when stage 1 is empty and `total` when stage 2 is.
int64_t stage1_steps(int64_t total, int64_t n_stage1, int64_t n_stage2, double fraction = -1.0);

}  // namespace v2a::pairs
