#include "v2a/io/clip_dataset.h"

#include <set>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/progress.h"
#include "v2a/core/threads.h"
#include "v2a/io/feature_cache.h"
#include "v2a/io/media.h"

namespace v2a::io {

std::vector<int64_t> resample_frame_indices(double duration, double fps_in, double fps_out) {
    const int64_t n_out = std::llround(duration * fps_out), n_in = std::llround(duration * fps_in);
    std::vector<int64_t> idx(size_t(std::max<int64_t>(0, n_out)));
    for (int64_t k = 0; k < n_out; ++k) {
        // Small epsilon: k * 25 / 8 is exact in binary for our rates, but not for arbitrary ones.
        idx[size_t(k)] = std::min<int64_t>(n_in - 1, int64_t(std::floor(double(k) * fps_in / fps_out + 1e-9)));
    }
    return idx;
}

ClipDataset::ClipDataset(const Manifest& manifest, ClipDatasetOptions options, const std::string& what)
    : options_(std::move(options)) {
    V2A_CHECK(options_.duration > 0 && options_.frame_size >= 8 && options_.fps > 0 && options_.sample_rate > 0,
              Config, what, ": bad dataset options (duration ", options_.duration, ", frame size ",
              options_.frame_size, ")");
    V2A_CHECK(!manifest.rows.empty(), Data, what, ": no clips in ", manifest.path.string());
    items_.resize(manifest.rows.size());
    std::unique_ptr<FeatureCache> cache;
    if (!options_.cache_dir.empty()) cache = std::make_unique<FeatureCache>(options_.cache_dir);

    VideoDecodeOptions vopt;
    vopt.fps = options_.fps;
    vopt.width = vopt.height = options_.frame_size;
    vopt.duration = options_.duration;
    vopt.pad = PadPolicy::RepeatLast;
    AudioDecodeOptions aopt;
    aopt.sample_rate = options_.sample_rate;
    aopt.duration = options_.duration;
    aopt.pad = PadPolicy::RepeatLast;
    const int64_t n_samples = std::llround(options_.duration * options_.sample_rate);

    Progress progress(what + ": loading", int64_t(items_.size()), "clip");
    parallel_for(int64_t(items_.size()), options_.workers > 0 ? options_.workers : thread_count(), [&](int64_t i) {
        const ManifestRow& row = manifest.rows[size_t(i)];
        ClipItem& item = items_[size_t(i)];
        item.id = row.id;
        item.caption = row.caption;
        item.label = row.label;
        item.split = row.split;
        item.video = row.video;
        if (options_.load_frames) {
            auto decode = [&] { return TensorMap{{"frames", decode_video(row.video, vopt).frames}}; };
            item.frames = cache ? cache->get_or_compute(CacheKey::for_file(row.id, row.video, describe(vopt)),
                                                        decode)["frames"]
                                : decode()["frames"];
        }
        if (options_.load_audio) {
            const std::filesystem::path source = row.audio ? *row.audio : row.video;
            auto decode = [&] {
                Audio a = decode_audio(source, aopt);
                a.samples.resize(size_t(n_samples), 0.0f);
                return TensorMap{{"audio", torch::from_blob(a.samples.data(), {n_samples}, torch::kFloat32).clone()}};
            };
            item.audio = cache ? cache->get_or_compute(CacheKey::for_file(row.id, source, describe(aopt)),
                                                       decode)["audio"]
                               : decode()["audio"];
        }
        if (options_.load_truth) {
            auto truth = row.video;
            truth.replace_extension(".json");
            if (std::filesystem::exists(truth)) item.truth_json = fs::read_text(truth);
        }
        progress.advance();
    });
    progress.finish();
    index_labels();
}

ClipDataset::ClipDataset(std::vector<ClipItem> items, ClipDatasetOptions options)
    : options_(std::move(options)), items_(std::move(items)) {
    index_labels();
}

void ClipDataset::index_labels() {
    std::set<std::string> distinct;
    for (const auto& item : items_) distinct.insert(item.label);
    labels_.assign(distinct.begin(), distinct.end());
    label_index_.clear();
    for (const auto& item : items_) {
        label_index_.push_back(int64_t(std::lower_bound(labels_.begin(), labels_.end(), item.label) - labels_.begin()));
    }
}

namespace {
torch::Tensor stack_field(const std::vector<ClipItem>& items, const std::vector<int64_t>& indices,
                          torch::Tensor ClipItem::*field, const char* name) {
    std::vector<torch::Tensor> parts;
    parts.reserve(indices.size());
    for (int64_t i : indices) {
        const auto& t = items.at(size_t(i)).*field;
        V2A_CHECK(t.defined(), Internal, "dataset: ", name, " of clip ", items.at(size_t(i)).id, " not loaded");
        parts.push_back(t);
    }
    return torch::stack(parts);
}
}  // namespace

torch::Tensor ClipDataset::frames(const std::vector<int64_t>& indices) const {
    return stack_field(items_, indices, &ClipItem::frames, "frames");
}

torch::Tensor ClipDataset::audio(const std::vector<int64_t>& indices) const {
    return stack_field(items_, indices, &ClipItem::audio, "audio");
}

torch::Tensor ClipDataset::label_indices(const std::vector<int64_t>& indices) const {
    std::vector<int64_t> out;
    for (int64_t i : indices) out.push_back(label_index_.at(size_t(i)));
    return torch::tensor(out, torch::kInt64);
}

std::vector<std::string> ClipDataset::captions(const std::vector<int64_t>& indices) const {
    std::vector<std::string> out;
    for (int64_t i : indices) out.push_back(items_.at(size_t(i)).caption);
    return out;
}

int64_t ClipDataset::n_frames() const { return std::llround(options_.duration * options_.fps); }
int64_t ClipDataset::n_samples() const { return std::llround(options_.duration * options_.sample_rate); }

}  // namespace v2a::io
