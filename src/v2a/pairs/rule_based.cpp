#include "v2a/pairs/rule_based.h"

#include <algorithm>
#include <cmath>

#include "v2a/core/error.h"

namespace v2a::pairs {

std::string distortion_name(Distortion d) {
    switch (d) {
        case Distortion::Replace: return "replace";
        case Distortion::Reverse: return "reverse";
        case Distortion::Shuffle: return "shuffle";
        case Distortion::Shift: return "shift";
        case Distortion::Stretch: return "stretch";
        case Distortion::LocalShift: return "local_shift";
        case Distortion::Swap: return "swap";
    }
    return "?";
}

namespace {

double uniform(torch::Generator& rng, double lo, double hi) {
    return lo + (hi - lo) * torch::rand({1}, rng, torch::kDouble).item<double>();
}

int64_t randint(torch::Generator& rng, int64_t lo, int64_t hi) {  // [lo, hi]
    return torch::randint(lo, hi + 1, {1}, rng, torch::kInt64).item<int64_t>();
}

int64_t tokens(double seconds, double rate) { return std::max<int64_t>(1, int64_t(std::llround(seconds * rate))); }

// Segment boundaries of k near-equal segments of n tokens.
std::vector<int64_t> bounds(int64_t n, int64_t k) {
    std::vector<int64_t> b;
    for (int64_t i = 0; i <= k; ++i) b.push_back(i * n / k);
    return b;
}

}  // namespace

torch::Tensor distort(const torch::Tensor& x, Distortion kind, double amount, double rate, const torch::Tensor& other,
                      torch::Generator& rng) {
    V2A_CHECK(x.dim() == 2 && x.size(0) >= 4, Usage, "rule-based negative: latent must be [N >= 4, C], got ", x.sizes());
    V2A_CHECK(std::isfinite(amount) && rate > 0, Usage, "rule-based negative: bad amount ", amount, " or rate ", rate);
    const int64_t n = x.size(0);
    switch (kind) {
        case Distortion::Replace:
            V2A_CHECK(other.defined() && other.sizes() == x.sizes(), Usage,
                      "rule-based negative: replace needs another latent of shape ", x.sizes());
            return other.clone();
        case Distortion::Reverse: return x.flip({0}).contiguous();
        case Distortion::Shuffle: {
            const int64_t k = std::clamp<int64_t>(int64_t(amount), 2, n);
            const auto b = bounds(n, k);
            // A permutation that is not the identity.
            std::vector<int64_t> perm(static_cast<size_t>(k));
            for (int64_t i = 0; i < k; ++i) perm[size_t(i)] = i;
            auto p = torch::randperm(k, rng, torch::kInt64);
            for (int64_t i = 0; i < k; ++i) perm[size_t(i)] = p[i].item<int64_t>();
            bool identity = true;
            for (int64_t i = 0; i < k; ++i) identity = identity && perm[size_t(i)] == i;
            if (identity) std::swap(perm[0], perm[1]);
            std::vector<torch::Tensor> parts;
            for (int64_t i : perm) parts.push_back(x.narrow(0, b[size_t(i)], b[size_t(i) + 1] - b[size_t(i)]));
            return torch::cat(parts).contiguous();
        }
        case Distortion::Shift: {
            V2A_CHECK(amount > 0, Usage, "rule-based negative: shift needs amount > 0 s");
            const int64_t s = std::min(tokens(amount, rate), n - 1);
            return x.roll({randint(rng, 0, 1) ? s : -s}, {0}).contiguous();
        }
        case Distortion::Stretch: {
            V2A_CHECK(amount > 0 && amount < 1, Usage, "rule-based negative: stretch amount must be in (0, 1)");
            const double factor = randint(rng, 0, 1) ? 1.0 + amount : 1.0 / (1.0 + amount);
            // Output token i reads input position i / factor (edge-padded).
            auto pos = torch::arange(n, torch::kDouble) / factor;
            pos = pos.clamp(0, double(n - 1));
            auto lo = pos.floor().to(torch::kInt64), hi = (lo + 1).clamp_max(n - 1);
            auto w = (pos - lo.to(torch::kDouble)).to(x.scalar_type()).unsqueeze(1);
            return (x.index_select(0, lo) * (1 - w) + x.index_select(0, hi) * w).contiguous();
        }
        case Distortion::LocalShift: {
            V2A_CHECK(amount > 0, Usage, "rule-based negative: local shift needs amount > 0 s");
            const int64_t len = std::max<int64_t>(2, n / 4), s = std::min(tokens(amount, rate), n - len);
            const int64_t from = randint(rng, 0, n - len);
            int64_t to = randint(rng, 0, 1) ? from + s : from - s;
            if (to < 0 || to + len > n) to = from + s <= n - len ? from + s : from - s;
            to = std::clamp<int64_t>(to, 0, n - len);
            auto out = x.clone();
            // The segment moves; the gap it leaves keeps the original content (a local desync).
            out.narrow(0, to, len).copy_(x.narrow(0, from, len));
            return out;
        }
        case Distortion::Swap: {
            V2A_CHECK(amount > 0, Usage, "rule-based negative: swap needs amount > 0 s");
            const int64_t len = std::min(tokens(amount, rate), n / 3);
            V2A_CHECK(len >= 1, Usage, "rule-based negative: latent too short to swap");
            const int64_t a = randint(rng, 0, n - 3 * len);
            const int64_t b = randint(rng, a + 2 * len, n - len);
            auto out = x.clone();
            out.narrow(0, a, len).copy_(x.narrow(0, b, len));
            out.narrow(0, b, len).copy_(x.narrow(0, a, len));
            return out;
        }
    }
    fail(ErrorKind::Internal, "rule-based negative: unknown distortion");
}

Negative sample_negative(const torch::Tensor& latent, int stage, const torch::Tensor& other,
                         const NegativeCurriculum& c, torch::Generator& rng) {
    V2A_CHECK(c.stages >= 1 && stage >= 0 && stage < c.stages, Usage, "rule-based negative: stage ", stage,
              " outside [0, ", c.stages, ")");
    // Band: 0 coarse, 2 subtle; stages in between are the middle band.
    const int band = stage == 0 ? 0 : (stage == c.stages - 1 ? 2 : 1);
    Negative neg;
    if (band == 0) {
        const int64_t pick = randint(rng, other.defined() ? 0 : 1, 3);
        if (pick == 0) neg.kind = Distortion::Replace, neg.amount = 1;
        else if (pick == 1) neg.kind = Distortion::Reverse, neg.amount = 1;
        else if (pick == 2) neg.kind = Distortion::Shuffle, neg.amount = double(randint(rng, 2, 3));
        else neg.kind = Distortion::Shift, neg.amount = uniform(rng, 0.5, 1.0);
    } else if (band == 1) {
        const int64_t pick = randint(rng, 0, 3);
        if (pick == 0) neg.kind = Distortion::Shuffle, neg.amount = double(randint(rng, 4, 8));
        else if (pick == 1) neg.kind = Distortion::Shift, neg.amount = uniform(rng, 0.2, 0.5);
        else if (pick == 2) neg.kind = Distortion::Stretch, neg.amount = uniform(rng, 0.2, 0.5);
        else neg.kind = Distortion::Swap, neg.amount = uniform(rng, 0.5, 1.0);
    } else {
        const int64_t pick = randint(rng, 0, 2);
        if (pick == 0) neg.kind = Distortion::Shift, neg.amount = uniform(rng, 0.04, 0.16);
        else if (pick == 1) neg.kind = Distortion::LocalShift, neg.amount = uniform(rng, 0.04, 0.2);
        else neg.kind = Distortion::Stretch, neg.amount = uniform(rng, 0.05, 0.15);
    }
    neg.latent = distort(latent, neg.kind, neg.amount, c.token_rate, other, rng);
    return neg;
}

int negative_stage(int64_t step, int64_t total, int stages) {
    V2A_CHECK(total > 0 && stages >= 1, Usage, "rule-based negative: bad schedule (", total, " steps, ", stages,
              " stages)");
    return int(std::min<int64_t>(stages - 1, std::max<int64_t>(0, step) * stages / total));
}

}  // namespace v2a::pairs
