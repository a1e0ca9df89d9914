#include "v2a/judge/clip_measures.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/io/media.h"
#include "v2a/judge/interfaces.h"
#include "v2a/metrics/onset.h"

namespace v2a::judge {

using nlohmann::json;

ClipTruth parse_clip_truth(const io::ClipItem& item) {
    ClipTruth t;
    if (item.truth_json.empty()) return t;
    json j;
    try {
        j = json::parse(item.truth_json);
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, "ground truth of clip ", item.id, " (", item.video.string(), "): not valid JSON (", e.what(), ")");
    }
    t.present = true;
    t.speech = j.value("label", "") == "speech";
    for (const auto& s : j.value("sources", json::array())) {
        if (!s.value("sounding", true)) continue;
        for (const auto& e : s.value("events", json::array())) t.events.push_back(e.value("time", 0.0));
    }
    std::sort(t.events.begin(), t.events.end());
    return t;
}

torch::Tensor resample_16k_to_22k(const torch::Tensor& audio16k) {
    io::Audio a;
    a.samples = to_float_vector(audio16k);
    a.sample_rate = kJudgeSampleRate;
    auto r = io::resample(a, 22050);
    return torch::tensor(r.samples, torch::kFloat);
}

std::vector<double> clip_onsets(const torch::Tensor& audio22k) {
    auto est = metrics::onset_times(audio22k);
    std::sort(est.begin(), est.end());
    return est;
}

torch::Tensor crop_or_pad(const torch::Tensor& audio, int64_t n) {
    const int64_t s = audio.size(-1);
    if (s == n) return audio;
    if (s > n) return audio.narrow(-1, 0, n);
    return torch::constant_pad_nd(audio, {0, n - s});
}

std::vector<float> to_float_vector(const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace v2a::judge
