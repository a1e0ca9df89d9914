#include "v2a/synth/dataset.h"

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/core/progress.h"
#include "v2a/core/threads.h"
#include "v2a/io/media.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/clip.h"

namespace v2a::synth {

namespace stdfs = std::filesystem;

void validate_options(const DatasetOptions& o) {
    V2A_CHECK(!o.out.empty(), Usage, "--out: an output directory is required");
    for (auto [name, n] : {std::pair<const char*, int64_t>{"--train", o.n_train}, {"--val", o.n_val}, {"--test", o.n_test}})
        V2A_CHECK(n >= 0 && n <= 1000000, Usage, name, " ", n, ": must be in 0..1000000");
    V2A_CHECK(o.n_train + o.n_val + o.n_test > 0, Usage, "--train/--val/--test: no clips requested");
    const ClipConfig& c = o.config;
    V2A_CHECK(c.seconds >= 1.0 && c.seconds <= 10.0, Usage, "--seconds ", c.seconds, ": must be in 1..10");
    V2A_CHECK(c.fps >= 5.0 && c.fps <= 60.0, Usage, "--fps ", c.fps, ": must be in 5..60");
    V2A_CHECK(c.size >= 16 && c.size <= 512, Usage, "--size ", c.size, ": must be in 16..512");
    V2A_CHECK(c.sample_rate >= 8000 && c.sample_rate <= 48000, Usage, "--sample-rate ", c.sample_rate,
              ": must be in 8000..48000");
    V2A_CHECK(o.workers >= 0 && o.workers <= 256, Usage, "--workers ", o.workers, ": must be in 0..256 (0 = all cores)");
    parse_class_list(o.classes);
}

bool clip_complete(const stdfs::path& clips_dir, const std::string& id, const nlohmann::json& config, bool want_video) {
    std::error_code ec;
    auto nonempty = [&](const stdfs::path& p) { return stdfs::is_regular_file(p, ec) && stdfs::file_size(p, ec) > 0; };
    const stdfs::path json_path = clips_dir / (id + ".json");
    if (!nonempty(json_path) || !nonempty(clips_dir / (id + ".wav"))) return false;
    if (want_video && !nonempty(clips_dir / (id + ".mp4"))) return false;
    try {
        const auto j = nlohmann::json::parse(fs::read_text(json_path));
        return j.value("id", "") == id && j.contains("config") && j["config"] == config;
    } catch (const std::exception&) {
        return false;   // unreadable / half-written by some other tool: render again
    }
}

std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
    std::string out = "\"";
    for (char ch : value) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::vector<SplitItem> split_items(int64_t n_train, int64_t n_val, int64_t n_test) {
    std::vector<SplitItem> items;
    for (auto [split, n] : {std::pair<const char*, int64_t>{"train", n_train}, {"val", n_val}, {"test", n_test}})
        for (int64_t i = 0; i < n; ++i) items.push_back({split, i});
    return items;
}

nlohmann::json write_dataset(const DatasetOptions& options) {
    validate_options(options);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int> classes = parse_class_list(options.classes);
    const stdfs::path clips_dir = options.out / "clips";
    fs::ensure_dir(clips_dir);
    const nlohmann::json config = config_to_json(options.config, options.seed);

    const auto items = split_items(options.n_train, options.n_val, options.n_test);

    const int workers = options.workers > 0 ? options.workers : thread_count();
    std::atomic<int64_t> rendered{0}, skipped{0};
    {
        Progress progress("synth", int64_t(items.size()), "clips");
        parallel_for(int64_t(items.size()), workers, [&](int64_t i) {
            const SplitItem& item = items[size_t(i)];
            const ClipSpec spec = sample_clip_spec(options.config, options.seed, item.split, item.index, classes);
            if (clip_complete(clips_dir, spec.id, config, options.write_video)) {
                ++skipped;
            } else {
                const RenderedClip clip = render_clip(spec);
                io::Audio audio;
                audio.samples = clip.audio;
                audio.sample_rate = options.config.sample_rate;
                io::write_audio_file(clips_dir / (spec.id + ".wav"), audio);
                if (options.write_video) io::write_mp4(clips_dir / (spec.id + ".mp4"), clip.frames, options.config.fps, audio);
                // The json goes last: its presence marks the clip complete.
                fs::write_atomic(clips_dir / (spec.id + ".json"), spec_to_json(clip.spec).dump(2) + "\n");
                ++rendered;
            }
            progress.advance();
        });
        progress.finish();
    }

    // Manifest + summary, from the specs (pure functions of seed/split/index) and the files.
    std::ostringstream csv;
    csv << "id,video,caption,label,split,audio\n";
    nlohmann::json per_split = nlohmann::json::object(), per_class = nlohmann::json::object();
    int64_t bytes = 0, distractors = 0, second_sources = 0, empty_captions = 0;
    std::error_code ec;
    for (const SplitItem& item : items) {
        const ClipSpec spec = sample_clip_spec(options.config, options.seed, item.split, item.index, classes);
        const std::string label = all_classes()[size_t(spec.main().class_id)].name;
        csv << spec.id << "," << csv_field(options.write_video ? "clips/" + spec.id + ".mp4" : "") << ","
            << csv_field(spec.caption) << "," << label << "," << spec.split << ",clips/" << spec.id << ".wav\n";
        per_split[spec.split] = per_split.value(spec.split, 0) + 1;
        if (!per_class.contains(spec.split)) per_class[spec.split] = nlohmann::json::object();
        per_class[spec.split][label] = per_class[spec.split].value(label, 0) + 1;
        for (const char* ext : {".wav", ".mp4", ".json"}) {
            const auto size = stdfs::file_size(clips_dir / (spec.id + ext), ec);
            if (!ec) bytes += int64_t(size);
        }
        if (spec.sources.size() > 1) (spec.sources[1].role == Role::Distractor ? distractors : second_sources)++;
        if (spec.caption.empty()) ++empty_captions;
    }
    fs::write_atomic(options.out / "manifest.csv", csv.str());
    bytes += int64_t(csv.str().size());

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json class_names = nlohmann::json::array();
    for (int c : classes) class_names.push_back(all_classes()[size_t(c)].name);
    nlohmann::json summary = {
        {"out", options.out.string()},
        {"clips", int64_t(items.size())},
        {"rendered", rendered.load()},
        {"skipped", skipped.load()},
        {"per_split", per_split},
        {"per_class", per_class},
        {"classes", class_names},
        {"with_distractor", distractors},
        {"with_second_source", second_sources},
        {"empty_captions", empty_captions},
        {"total_duration_s", double(items.size()) * options.config.seconds},
        {"bytes", bytes},
        {"elapsed_s", elapsed},
        {"clips_per_s", rendered.load() > 0 ? double(rendered.load()) / elapsed : 0.0},
        {"workers", workers},
        {"config", config},
        {"stand_in_for", "VGGSound (procedural benchmark with exact ground truth)"}};
    fs::write_atomic(options.out / "summary.json", summary.dump(2) + "\n");
    return summary;
}

}  // namespace v2a::synth
