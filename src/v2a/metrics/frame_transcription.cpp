#include "v2a/metrics/frame_transcription.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

torch::Tensor binarise(const torch::Tensor& roll, double threshold, bool inclusive, const char* which) {
    V2A_CHECK(roll.defined() && roll.dim() == 2, Data, "frame_metrics: ", which, " roll must be [T, K], got ",
              roll.defined() ? roll.sizes() : torch::IntArrayRef{});
    if (roll.scalar_type() == torch::kBool) return roll.to(torch::kCPU, torch::kFloat64);
    const auto x = roll.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(!torch::isnan(x).any().item<bool>(), Data, "frame_metrics: ", which, " roll contains NaN");
    return (inclusive ? x >= threshold : x > threshold).to(torch::kFloat64);
}

double safe_div(double num, double den, double if_zero) { return den > 0 ? num / den : if_zero; }

// Elementwise num/den with `if_zero` where den == 0.
torch::Tensor div_or(const torch::Tensor& num, const torch::Tensor& den, double if_zero) {
    return torch::where(den > 0, num / den.clamp_min(1e-300), torch::full_like(num, if_zero));
}

}  // namespace

FrameScores frame_metrics(const torch::Tensor& est_roll, const torch::Tensor& ref_roll,
                          const FrameMetricsOptions& options) {
    const auto est = binarise(est_roll, options.threshold, options.inclusive, "estimated");
    const auto ref = binarise(ref_roll, options.threshold, options.inclusive, "reference");
    V2A_CHECK(est.sizes() == ref.sizes(), Data, "frame_metrics: estimated roll ", est.sizes(), " and reference roll ",
              ref.sizes(), " differ in shape");
    V2A_CHECK(est.size(0) > 0 && est.size(1) > 0, Data, "frame_metrics: rolls are empty ", est.sizes());
    const auto tp = est * ref;
    FrameScores s;
    if (options.convention == FrameConvention::MirEval) {
        const double tp_sum = tp.sum().item<double>();
        const double n_est = est.sum().item<double>();
        const double n_ref = ref.sum().item<double>();
        s.precision = safe_div(tp_sum, n_est, 0.0);
        s.recall = safe_div(tp_sum, n_ref, 0.0);
        s.accuracy = safe_div(tp_sum, n_est + n_ref - tp_sum, 0.0);
        s.f1 = safe_div(2.0 * s.precision * s.recall, s.precision + s.recall, 0.0);
        return s;
    }
    // Samplewise accuracy, shared by Audeo and CoP.
    {
        const auto tp_t = tp.sum(1), est_t = est.sum(1), ref_t = ref.sum(1);
        s.accuracy = div_or(tp_t, est_t + ref_t - tp_t, 1.0).mean().item<double>();
    }
    const int64_t dim = options.convention == FrameConvention::Audeo ? 1 : 0;  // per frame or per key
    const auto tp_g = tp.sum(dim), est_g = est.sum(dim), ref_g = ref.sum(dim);
    const auto p = div_or(tp_g, est_g, 1.0);
    const auto r = div_or(tp_g, ref_g, 1.0);
    const auto f = div_or(2.0 * tp_g, est_g + ref_g, 1.0);
    if (options.convention == FrameConvention::Audeo) {
        s.precision = p.mean().item<double>();
        s.recall = r.mean().item<double>();
        s.f1 = f.mean().item<double>();
    } else {
        const double support = ref_g.sum().item<double>();
        if (support <= 0) {
            s.precision = s.recall = s.f1 = 1.0;  // sklearn: zero_division value
        } else {
            s.precision = (p * ref_g).sum().item<double>() / support;
            s.recall = (r * ref_g).sum().item<double>() / support;
            s.f1 = (f * ref_g).sum().item<double>() / support;
        }
    }
    return s;
}

torch::Tensor notes_to_roll(const std::vector<Note>& notes, double fps, int64_t frames, int lowest_pitch,
                            int64_t num_keys) {
    V2A_CHECK(std::isfinite(fps) && fps > 0, Data, "notes_to_roll: frame rate must be positive, got ", fps);
    V2A_CHECK(frames >= 0 && num_keys > 0, Data, "notes_to_roll: bad roll size ", frames, " x ", num_keys);
    auto roll = torch::zeros({frames, num_keys}, torch::kBool);
    auto acc = roll.accessor<bool, 2>();
    for (size_t i = 0; i < notes.size(); ++i) {
        const auto& n = notes[i];
        V2A_CHECK(std::isfinite(n.onset) && std::isfinite(n.offset) && n.offset > n.onset, Data, "notes_to_roll: note ",
                  i, " has bad times [", n.onset, ", ", n.offset, ")");
        const int64_t key = n.pitch - lowest_pitch;
        V2A_CHECK(key >= 0 && key < num_keys, Data, "notes_to_roll: note ", i, " pitch ", n.pitch, " is outside keys ",
                  lowest_pitch, "..", lowest_pitch + num_keys - 1);
        // Start one frame early and test the exact condition, so rounding in onset·fps cannot shift it.
        const auto first = std::max<int64_t>(0, static_cast<int64_t>(std::floor(n.onset * fps)) - 1);
        for (int64_t t = first; t < frames && static_cast<double>(t) / fps < n.offset; ++t)
            if (n.onset <= static_cast<double>(t) / fps) acc[t][key] = true;
    }
    return roll;
}

}  // namespace v2a::metrics
