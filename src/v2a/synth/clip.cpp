#include "v2a/synth/clip.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/rng.h"
#include "v2a/synth/scene.h"
#include "v2a/synth/sound_sources.h"

namespace v2a::synth {

const char* role_name(Role role) {
    switch (role) {
        case Role::Main: return "main";
        case Role::Second: return "second";
        case Role::Distractor: return "distractor";
    }
    return "?";
}

namespace {

/// 1..6 event frames on the video grid, at least min_gap apart, away from the clip edges so a
/// falling ball / drop has time to arrive and every sound has started before the end.
std::vector<int> sample_event_frames(Rng& rng, const ClipConfig& cfg, double min_gap, int n_wanted) {
    const int lo = int(std::ceil(0.4 * cfg.fps));
    const int hi = cfg.n_frames() - 1 - int(std::ceil(0.3 * cfg.fps));
    const int gap = std::max(1, int(std::ceil(min_gap * cfg.fps)));
    std::vector<int> frames;
    if (hi < lo) return {std::max(0, cfg.n_frames() / 2)};
    for (int attempt = 0; attempt < 400 && int(frames.size()) < n_wanted; ++attempt) {
        const int k = rng.randint(lo, hi);
        bool ok = true;
        for (int f : frames) ok = ok && std::abs(f - k) >= gap;
        if (ok) frames.push_back(k);
    }
    std::sort(frames.begin(), frames.end());
    return frames;
}

SourceSpec sample_source(Rng& rng, const ClipConfig& cfg, int class_id, Role role, const SampleOptions& opt) {
    const ClassInfo& info = all_classes().at(size_t(class_id));
    SourceSpec s;
    s.role = role;
    s.class_id = class_id;
    s.sounding = role != Role::Distractor;
    s.seed = rng.next();
    s.palette = rng.randint(0, 11);
    if (info.sound == SoundKind::Midi) s.program = rng.pick(info.programs);
    if (info.sound == SoundKind::Speech) {
        const auto& v = rng.pick(speech_voices());
        s.voice = v.first;
        s.female = v.second;
        s.pitch = rng.randint(30, 70);
        s.rate = rng.randint(140, 190);
    }
    if (info.sound == SoundKind::Water) s.bed_level = rng.uniform(0.15, 0.35);
    if (info.sound == SoundKind::Engine) {
        s.base_rpm = rng.uniform(750.0, 1300.0);
        s.bed_level = rng.uniform(0.3, 0.45);
    }
    const std::string sample_file = info.samples.empty() ? "" : rng.pick(info.samples);   // one alert per source
    const int n = rng.randint(opt.min_events, opt.max_events);
    for (int k : sample_event_frames(rng, cfg, info.min_gap, n)) {
        Event e;
        e.frame = k;
        e.time = k / cfg.fps;
        e.sample = cfg.frame_to_sample(k);
        switch (info.sound) {
            case SoundKind::Midi:
                e.key = rng.pick(info.notes);
                e.velocity = rng.randint(75, 120);
                e.duration = rng.uniform(info.note_min, info.note_max);
                break;
            case SoundKind::Speech: e.word = rng.pick(speech_words()); break;
            case SoundKind::Sample:
                e.sample_file = sample_file;
                e.velocity = rng.randint(90, 127);
                break;
            case SoundKind::Water:
                e.key = rng.randint(-50, 50);   // horizontal position of the drop, % of the half-size
                e.strength = rng.uniform(0.6, 1.0);
                break;
            case SoundKind::Engine: e.strength = rng.uniform(0.6, 1.0); break;
        }
        s.events.push_back(e);
    }
    return s;
}

std::string count_word(size_t n) {
    static const char* words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"};
    return n <= 10 ? words[n] : std::to_string(n);
}

std::string fill_template(std::string text, const SourceSpec& s) {
    auto replace = [&](const std::string& key, const std::string& value) {
        for (size_t pos; (pos = text.find(key)) != std::string::npos;) text.replace(pos, key.size(), value);
    };
    replace("{n}", count_word(s.events.size()));
    replace("{s}", s.events.size() == 1 ? "" : "s");
    replace("{who}", s.female ? "a woman" : "a man");
    return text;
}

std::array<uint8_t, 3> muted_colour(Rng& rng) {
    const double g = rng.uniform(70, 185);
    std::array<uint8_t, 3> c{};
    for (auto& v : c) v = uint8_t(std::clamp(g + rng.uniform(-35, 35), 0.0, 255.0));
    return c;
}

}  // namespace

std::string clip_id(const std::string& split, int64_t index) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%05lld", static_cast<long long>(index));
    return split + "_" + buf;
}

std::string make_caption(const ClipSpec& spec, double u_template, double u_second) {
    const SourceSpec& m = spec.main();
    const auto& tm = all_classes().at(size_t(m.class_id)).captions;
    std::string caption = fill_template(tm[size_t(u_template * tm.size()) % tm.size()], m);
    for (const SourceSpec& s : spec.sources) {
        if (s.role != Role::Second) continue;
        const auto& ts = all_classes().at(size_t(s.class_id)).captions;
        caption += " and " + fill_template(ts[size_t(u_second * ts.size()) % ts.size()], s);
    }
    return caption;
}

ClipSpec sample_clip_spec(const ClipConfig& config, uint64_t dataset_seed, const std::string& split, int64_t index,
                          const std::vector<int>& classes, const SampleOptions& options) {
    V2A_CHECK(!classes.empty(), Usage, "synth: no classes to sample from");
    ClipSpec spec;
    spec.id = clip_id(split, index);
    spec.split = split;
    spec.index = index;
    spec.dataset_seed = dataset_seed;
    spec.seed = clip_seed(dataset_seed, split, index);
    spec.config = config;
    const Rng root(spec.seed);
    // Independent sub-streams: a change in how one part is drawn does not shift the others.
    Rng r_scene = root.fork("scene"), r_main = root.fork("main"), r_extra = root.fork("extra"), r_text = root.fork("text");

    // Balanced classes: clip i of a split has class i mod n (the loader shuffles).
    const int main_class = options.main_class >= 0 ? options.main_class : classes[size_t(index % int64_t(classes.size()))];
    spec.sources.push_back(sample_source(r_main, config, main_class, Role::Main, options));

    const double u = r_extra.uniform();
    std::vector<int> others;
    for (int c : classes)
        if (c != main_class) others.push_back(c);
    if (!others.empty() && u < options.p_distractor + options.p_second) {
        const Role role = u < options.p_distractor ? Role::Distractor : Role::Second;
        SourceSpec extra = sample_source(r_extra, config, r_extra.pick(others), role, options);
        extra.gain = role == Role::Second ? r_extra.uniform(0.4, 0.9) : 0.0;
        spec.sources.push_back(extra);
    }

    // Layout: one object fills the middle; two objects share the frame left / right.
    Background& bg = spec.background;
    bg.kind = r_scene.randint(0, 4);
    bg.c1 = muted_colour(r_scene);
    for (int i = 0; i < 3; ++i) bg.c2[i] = uint8_t(std::clamp(bg.c1[i] + r_scene.uniform(-40, 40), 0.0, 255.0));
    bg.period = r_scene.randint(8, 20);
    bg.seed = r_scene.next();
    if (spec.sources.size() == 1) {
        SourceSpec& m = spec.sources[0];
        m.cx = float(0.5 + r_scene.uniform(-0.06, 0.06));
        m.cy = float(0.5 + r_scene.uniform(-0.06, 0.06));
        m.scale = float(r_scene.uniform(0.34, 0.40));
    } else {
        const bool main_left = r_scene.bernoulli(0.5);
        for (size_t i = 0; i < 2; ++i) {
            SourceSpec& s = spec.sources[i];
            const bool left = (i == 0) == main_left;
            s.cx = float((left ? 0.26 : 0.74) + r_scene.uniform(-0.02, 0.02));
            s.cy = float(0.5 + r_scene.uniform(-0.12, 0.12));
            s.scale = float(r_scene.uniform(0.21, 0.235));
        }
    }
    spec.loudness_db = r_scene.uniform(-26.0, -16.0);

    const double u_empty = r_text.uniform(), u_t = r_text.uniform(), u_s = r_text.uniform();
    spec.caption = u_empty < options.p_empty_caption ? "" : make_caption(spec, u_t, u_s);
    return spec;
}

RenderedClip render_clip(const ClipSpec& spec) {
    RenderedClip out;
    out.spec = spec;
    const ClipConfig& cfg = spec.config;
    const int64_t n = cfg.n_samples();
    std::vector<double> mix(size_t(n), 0.0);
    std::vector<std::vector<float>> envelopes;
    for (SourceSpec& s : out.spec.sources) {
        SourceAudio a = render_source_audio(s, cfg);
        for (size_t i = 0; i < s.events.size() && i < a.event_durations.size(); ++i) s.events[i].duration = a.event_durations[i];
        envelopes.push_back(frame_envelope(a.samples, cfg));
        if (!s.sounding) continue;
        float peak = 0;
        for (float v : a.samples) peak = std::max(peak, std::abs(v));
        if (peak <= 0) continue;
        const double g = s.gain / peak;   // every source at unit peak, then its relative gain
        for (int64_t i = 0; i < n; ++i) mix[size_t(i)] += g * a.samples[size_t(i)];
    }
    // Loudness: RMS to the clip's target (varied per clip), then a peak cap so nothing clips.
    double sum = 0, peak = 0;
    for (double v : mix) {
        sum += v * v;
        peak = std::max(peak, std::abs(v));
    }
    const double rms = std::sqrt(sum / double(std::max<int64_t>(n, 1)));
    double g = rms > 0 ? std::pow(10.0, spec.loudness_db / 20.0) / rms : 0.0;
    if (peak * g > 0.95) g = 0.95 / peak;
    out.audio.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) out.audio[size_t(i)] = float(mix[size_t(i)] * g);
    out.frames = render_video(out.spec, envelopes);
    return out;
}

nlohmann::json config_to_json(const ClipConfig& c, uint64_t dataset_seed) {
    return {{"seconds", c.seconds}, {"fps", c.fps}, {"size", c.size}, {"sample_rate", c.sample_rate},
            {"dataset_seed", dataset_seed}, {"generator", "v2a-synth-1"}};
}

nlohmann::json spec_to_json(const ClipSpec& spec) {
    using nlohmann::json;
    json sources = json::array();
    for (const SourceSpec& s : spec.sources) {
        const ClassInfo& info = all_classes().at(size_t(s.class_id));
        json src = {{"role", role_name(s.role)}, {"class", info.name}, {"sounding", s.sounding},
                    {"gain", s.gain}, {"box", {{"cx", s.cx}, {"cy", s.cy}, {"half_size", s.scale}}},
                    {"palette", s.palette}};
        json sound;
        switch (info.sound) {
            case SoundKind::Midi:
                sound = {{"kind", "midi"}, {"soundfont", default_soundfont()}, {"program", s.program},
                         {"bank", info.percussion ? 128 : s.bank}, {"channel", info.percussion ? 10 : 1}};
                break;
            case SoundKind::Speech:
                sound = {{"kind", "espeak-ng"}, {"voice", s.voice}, {"female", s.female}, {"pitch", s.pitch},
                         {"words_per_minute", s.rate}};
                break;
            case SoundKind::Sample: sound = {{"kind", "sample"}, {"directory", freedesktop_sound_dir()}}; break;
            case SoundKind::Water: sound = {{"kind", "procedural-water"}, {"bed_level", s.bed_level}}; break;
            case SoundKind::Engine:
                sound = {{"kind", "procedural-engine"}, {"idle_rpm", s.base_rpm}, {"bed_level", s.bed_level}};
                break;
        }
        src["sound"] = sound;
        json events = json::array();
        for (const Event& e : s.events) {
            json j = {{"time", e.time}, {"frame", e.frame}, {"sample", e.sample}, {"duration", e.duration}};
            if (info.sound == SoundKind::Midi) {
                j["key"] = e.key;
                j["velocity"] = e.velocity;
            }
            if (info.sound == SoundKind::Speech) j["word"] = e.word;
            if (info.sound == SoundKind::Sample) {
                j["file"] = e.sample_file;
                j["velocity"] = e.velocity;
            }
            if (info.sound == SoundKind::Water) j["x"] = e.key / 100.0;
            if (info.sound == SoundKind::Water || info.sound == SoundKind::Engine) j["strength"] = e.strength;
            events.push_back(j);
        }
        src["events"] = events;
        sources.push_back(src);
    }
    const Background& bg = spec.background;
    static const char* kinds[] = {"flat", "gradient", "checker", "noise", "stripes"};
    return {{"id", spec.id},
            {"split", spec.split},
            {"index", spec.index},
            {"seed", spec.seed},
            {"label", all_classes().at(size_t(spec.main().class_id)).name},
            {"caption", spec.caption},
            {"loudness_db", spec.loudness_db},
            {"duration", spec.config.seconds},
            {"n_frames", spec.config.n_frames()},
            {"n_samples", spec.config.n_samples()},
            {"config", config_to_json(spec.config, spec.dataset_seed)},
            {"background", {{"kind", kinds[std::clamp(bg.kind, 0, 4)]}, {"c1", bg.c1}, {"c2", bg.c2}, {"period", bg.period}}},
            {"sources", sources}};
}

}  // namespace v2a::synth
