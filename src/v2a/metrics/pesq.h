// PESQ (ITU-T P.862 narrowband with the P.862.1 MOS-LQO mapping, and P.862.2 wideband), written
// clean-room from the published algorithm description (the ITU reference C code may not be ported;
// see docs/PESQ.md for where every table comes from and where this implementation may differ).
//
// Usage:
//   double mos = v2a::metrics::pesq(ref, deg, 16000, v2a::metrics::PesqMode::WB);
// ref is the clean reference, deg the degraded signal, both mono at sample_rate. Absolute scale
// does not matter (both are level-aligned); python-pesq divides both by max(|ref|,|deg|).
#pragma once
#include <vector>

namespace v2a::metrics {

enum class PesqMode { NB, WB };  // NB: P.862 + P.862.1 mapping; WB: P.862.2 (16 kHz only)

/// One utterance found by the time alignment (sample positions on the reference, at sample_rate,
/// counted from the start of the unpadded reference).
struct PesqUtterance {
    long start = 0;       // first reference sample of the utterance
    long end = 0;         // one past the last reference sample
    long delay = 0;       // degraded = reference shifted by this many samples (positive: deg later)
    double confidence = 0;  // share of the fine-alignment histogram at the chosen delay, in [0,1]
};

struct PesqResult {
    double mos_lqo = 0;     // P.862.1 (NB) or P.862.2 (WB) mapped score: what pesq() returns
    double raw = 0;         // 4.5 - 0.1*d_ind - 0.0309*a_ind (the P.862 "raw" score)
    double d_ind = 0;       // symmetric disturbance index
    double a_ind = 0;       // asymmetric disturbance index
    long crude_delay = 0;   // whole-signal envelope delay, samples
    int frames = 0;         // perceptual-model frames aggregated
    int realigned_frames = 0;  // frames whose disturbance was lowered by bad-interval realignment
    std::vector<PesqUtterance> utterances;
};

/// Full result with intermediate values, for debugging and reporting. Throws v2a::Error(Data) on a
/// sample rate other than 8000/16000, WB at 8 kHz, signals too short (after removing 2*75 envelope
/// blocks, less than a quarter second), a silent reference or degraded signal, or non-finite samples.
PesqResult pesq_detailed(const std::vector<float>& ref, const std::vector<float>& deg, int sample_rate,
                         PesqMode mode);

/// MOS-LQO (NB: P.862.1 mapping of the raw P.862 score; WB: P.862.2 mapping).
double pesq(const std::vector<float>& ref, const std::vector<float>& deg, int sample_rate, PesqMode mode);

/// The published mapping functions (exposed for tests and for converting reported raw scores).
double pesq_map_nb(double raw);  // P.862.1: 0.999 + 4 / (1 + exp(-1.4945 x + 4.6607))
double pesq_map_wb(double raw);  // P.862.2: 0.999 + 4 / (1 + exp(-1.3669 x + 3.8224))

}  // namespace v2a::metrics
