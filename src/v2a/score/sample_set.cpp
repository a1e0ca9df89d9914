#include "v2a/score/sample_set.h"

#include <memory>
#include <set>

#include "v2a/core/error.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/io/media.h"
#include "v2a/judge/clip_measures.h"
#include "v2a/judge/interfaces.h"
#include "v2a/score/audio_score.h"

namespace v2a::score {

io::ClipDataset load_sample_clips(const io::Manifest& manifest, const std::vector<SampleRecord>& samples,
                                  const io::ClipDatasetOptions& options, const std::string& samples_file) {
    V2A_CHECK(!samples.empty(), Data, samples_file, ": no samples");
    std::set<std::string> wanted;
    for (const auto& s : samples) wanted.insert(s.clip_id);
    io::Manifest rows;
    rows.path = manifest.path;
    for (const auto& row : manifest.rows)
        if (wanted.count(row.id)) rows.rows.push_back(row);
    if (rows.rows.size() != wanted.size()) {
        std::set<std::string> have;
        for (const auto& row : rows.rows) have.insert(row.id);
        for (const auto& s : samples) {
            V2A_CHECK(have.count(s.clip_id), Data, samples_file, ": sample ", s.sample_id, " refers to clip '",
                      s.clip_id, "', which is not in ", manifest.path.string());
        }
    }
    return io::ClipDataset(rows, options, "sample clips");
}

std::map<std::string, int64_t> clip_rows(const io::ClipDataset& clips) {
    std::map<std::string, int64_t> out;
    for (int64_t i = 0; i < clips.size(); ++i) out[clips[i].id] = i;
    return out;
}

torch::Tensor read_sample_audio(const SampleRecord& sample, int64_t n) {
    V2A_CHECK(std::filesystem::is_regular_file(sample.audio), IO, sample.audio.string(), ": audio of sample ",
              sample.sample_id, " not found");
    io::Audio a = io::read_audio_file(sample.audio);
    V2A_CHECK(!a.samples.empty(), Data, sample.audio.string(), ": no audio samples");
    if (a.sample_rate != judge::kJudgeSampleRate) {
        V2A_LOG_DEBUG("%s: resampling %d Hz to 16 kHz", sample.audio.c_str(), a.sample_rate);
        a = io::resample(a, judge::kJudgeSampleRate);
    }
    return judge::crop_or_pad(torch::tensor(a.samples, torch::kFloat), n);
}

namespace {

struct Chunk {
    std::vector<int64_t> clip_index;
    torch::Tensor audio;   // [n, S]
};

Chunk read_chunk(const io::ClipDataset& clips, const std::map<std::string, int64_t>& rows,
                 const std::vector<SampleRecord>& samples, const std::vector<int64_t>& indices, size_t begin,
                 size_t end) {
    Chunk c;
    std::vector<torch::Tensor> audio;
    for (size_t k = begin; k < end; ++k) {
        const auto& s = samples.at(size_t(indices[k]));
        const auto it = rows.find(s.clip_id);
        V2A_CHECK(it != rows.end(), Data, "sample ", s.sample_id, ": clip '", s.clip_id, "' is not loaded");
        c.clip_index.push_back(it->second);
        audio.push_back(read_sample_audio(s, clips.n_samples()));
    }
    c.audio = torch::stack(audio);
    return c;
}

}  // namespace

torch::Tensor score_samples(judge::Judges& judges, const io::ClipDataset& clips,
                            const std::vector<SampleRecord>& samples, const std::vector<int64_t>& indices,
                            const torch::Tensor& class_marginal, const SampleScoreOptions& options) {
    V2A_CHECK(options.chunk >= 1, Usage, "score samples: chunk must be >= 1");
    V2A_CHECK(clips.size() > 0 && clips[0].frames.defined() && clips[0].audio.defined(), Data,
              "score samples: the clips need frames and ground-truth audio loaded");
    const auto rows = clip_rows(clips);
    std::unique_ptr<Progress> progress;
    if (options.progress) progress = std::make_unique<Progress>("audioscore", int64_t(indices.size()), "sample");
    std::vector<torch::Tensor> out;
    for (size_t b = 0; b < indices.size(); b += size_t(options.chunk)) {
        const size_t e = std::min(indices.size(), b + size_t(options.chunk));
        auto chunk = read_chunk(clips, rows, samples, indices, b, e);
        out.push_back(compute_raw_scores(judges, score_inputs(clips, chunk.clip_index, chunk.audio), class_marginal));
        if (progress) progress->advance(int64_t(e - b));
    }
    if (progress) progress->finish();
    if (out.empty()) return torch::zeros({0, kNumScores}, torch::kDouble);
    return torch::cat(out);
}

torch::Tensor sample_class_marginal(judge::Judges& judges, const io::ClipDataset& clips,
                                    const std::vector<SampleRecord>& samples, const std::vector<int64_t>& indices,
                                    int64_t chunk) {
    V2A_CHECK(!indices.empty() && chunk >= 1, Usage, "class marginal: no samples");
    const auto rows = clip_rows(clips);
    torch::Tensor sum;
    for (size_t b = 0; b < indices.size(); b += size_t(chunk)) {
        const size_t e = std::min(indices.size(), b + size_t(chunk));
        auto c = read_chunk(clips, rows, samples, indices, b, e);
        auto m = classifier_marginal(judges, c.audio) * double(e - b);
        sum = sum.defined() ? sum + m : m;
    }
    return sum / double(indices.size());
}

}  // namespace v2a::score
