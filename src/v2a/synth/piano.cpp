#include "v2a/synth/piano.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/progress.h"
#include "v2a/core/threads.h"
#include "v2a/io/media.h"
#include "v2a/io/safetensors.h"
#include "v2a/synth/clip.h"
#include "v2a/synth/dataset.h"
#include "v2a/synth/rng.h"
#include "v2a/synth/sound_sources.h"

namespace v2a::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kGmAcousticGrand = 0;
constexpr int kSustainPedal = 64;
const char* const kNoteNames[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};

bool is_black(int key) {
    const int pc = key % 12;
    return pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10;
}

/// Index among the 52 white keys of the white key at or just below `key`.
int white_index(int key) {
    int w = -1;
    for (int k = kPianoLowKey; k <= key; ++k) w += is_black(k) ? 0 : 1;
    return w;
}

/// Seconds on the 64-sample grid FluidSynth applies commands on (so the audio's onsets are exact).
double on_render_grid(double t, int sample_rate) {
    return double(std::llround(t * sample_rate / 64.0) * 64) / double(sample_rate);
}

/// Scale degree d (any integer) of the piece -> MIDI key.
int degree_key(int tonic, bool minor, int d) {
    static const int major[7] = {0, 2, 4, 5, 7, 9, 11}, natural_minor[7] = {0, 2, 3, 5, 7, 8, 10};
    const int octave = d >= 0 ? d / 7 : -((6 - d) / 7);
    const int step = d - 7 * octave;
    return tonic + 12 * octave + (minor ? natural_minor : major)[step];
}

using Col = cv::Scalar;  // RGB order (frames are RGB)

}  // namespace

const std::vector<PianistStyle>& pianists() {
    static const std::vector<PianistStyle> p{
        {"lyrical", 62.0, 8.0, 24.0, 0.0, 0.025, 0.25, 1.15, true},
        {"metronomic", 92.0, 4.0, 0.0, 14.0, 0.003, 0.0, 0.5, false},
    };
    return p;
}

PianoSpec sample_piano_spec(const ClipConfig& cfg, uint64_t seed, const std::string& split, int64_t index) {
    V2A_CHECK(cfg.seconds >= 1.0 && cfg.seconds <= 30.0 && cfg.fps >= 5 && cfg.sample_rate >= 8000, Usage,
              "piano: bad clip config (", cfg.seconds, " s, ", cfg.fps, " fps, ", cfg.sample_rate, " Hz)");
    PianoSpec s;
    char id[64];
    std::snprintf(id, sizeof id, "piano_%s_%05lld", split.c_str(), (long long)index);
    s.id = id;
    s.split = split;
    s.seed = clip_seed(seed ^ 0x9140ull, split, index);
    Rng rng(s.seed);
    Rng piece = rng.fork("piece"), play = rng.fork("performance"), scene = rng.fork("scene");
    // Clips 2i and 2i+1 have one pianist each, in a random order: balanced, yet not alternating.
    s.pianist = int((index + Rng(clip_seed(seed ^ 0x9141ull, split, index / 2)).randint(0, 1)) % 2);
    const PianistStyle& style = pianists()[size_t(s.pianist)];
    s.tempo_bpm = piece.uniform(80.0, 130.0);
    s.tonic = 55 + piece.randint(0, 11);
    s.minor = piece.bernoulli(0.4);
    s.brightness = scene.uniform(0.8, 1.1);
    s.light_tilt = scene.uniform(-0.3, 0.3);

    const double beat = 60.0 / s.tempo_bpm, slot = beat / 2.0, T = cfg.seconds;
    const double start = piece.uniform(0.1, 0.35), end = T - 0.15;
    // The performance clock: a ritardando stretches the last 40% of the clip.
    auto perform = [&](double t) {
        const double from = 0.6 * T;
        return t <= from ? t : t + style.ritardando * (t - from) * (t - from) / (0.4 * T);
    };
    auto velocity = [&](double t, bool on_beat, bool left) {
        double v = style.velocity_mean + style.velocity_spread * play.normal() +
                   style.phrase_arc * std::sin(kPi * std::clamp(t / T, 0.0, 1.0)) + (on_beat ? style.beat_accent : 0.0) -
                   (left ? 10.0 : 0.0);
        return std::clamp(int(std::lround(v)), 20, 127);
    };
    auto add = [&](int key, double score_onset, double score_length, bool on_beat, bool left) {
        double on = perform(score_onset) + style.timing_sd * play.normal();
        double off = perform(score_onset) + style.hold * score_length * (1.0 + 0.3 * style.ritardando);
        on = on_render_grid(std::max(0.02, on), cfg.sample_rate);
        off = on_render_grid(std::min(T, std::max(off, on + 0.05)), cfg.sample_rate);
        if (on >= end || key < kPianoLowKey || key >= kPianoLowKey + kPianoKeys) return;
        s.notes.push_back({key, on, off, velocity(score_onset, on_beat, left), left});
    };
    // Right hand: a melody in eighths (a quarter now and then) walking the scale an octave above the tonic.
    int degree = piece.randint(0, 4);
    for (double t = start; perform(t) < end;) {
        const bool quarter = piece.bernoulli(0.25);
        add(degree_key(s.tonic, s.minor, 7 + degree), t, quarter ? beat : slot,
            std::fmod(t - start + 1e-9, beat) < 1e-6, false);
        degree = std::clamp(degree + piece.randint(-2, 2), -2, 9);
        t += quarter ? beat : slot;
    }
    // Left hand: per bar a chord of I-IV-V-vi, arpeggiated on the beats (root, fifth, octave, fifth).
    static const int progression[4] = {0, 3, 4, 5};
    const int arp[4] = {0, 4, 7, 4};
    for (int b = 0; start + b * beat < end + beat; ++b) {
        const int chord = progression[(b / 4) % 4];
        add(degree_key(s.tonic, s.minor, chord + arp[b % 4] - 14), start + b * beat, beat, true, true);
    }
    std::sort(s.notes.begin(), s.notes.end(), [](const PianoNote& a, const PianoNote& b) {
        return a.onset != b.onset ? a.onset < b.onset : a.key < b.key;
    });
    if (style.pedal && !s.notes.empty()) {
        // Down just after the first onset; lifted for 60 ms at every bar (legato pedalling).
        const double bar = 4 * beat;
        for (double b = start; perform(b) < end; b += bar) {
            const double down = on_render_grid(perform(b) + 0.06, cfg.sample_rate);
            const double up = on_render_grid(std::min(T, perform(b + bar)), cfg.sample_rate);
            if (up > down) s.pedal.push_back({down, up});
        }
    }
    char caption[160];
    std::snprintf(caption, sizeof caption, "a %s piano performance in %s %s, %.0f bpm", style.name.c_str(),
                  kNoteNames[s.tonic % 12], s.minor ? "minor" : "major", s.tempo_bpm);
    s.caption = caption;
    return s;
}

torch::Tensor piano_roll(const PianoSpec& spec, const ClipConfig& cfg, bool binary) {
    const int T = cfg.n_frames();
    auto roll = torch::zeros({T, kPianoKeys}, torch::kUInt8);
    auto r = roll.accessor<uint8_t, 2>();
    for (const auto& n : spec.notes) {
        for (int k = std::max(0, int(std::ceil(n.onset * cfg.fps - 1e-9))); k < T && k / cfg.fps < n.offset; ++k) {
            auto& cell = r[k][n.key - kPianoLowKey];
            cell = binary ? uint8_t(1) : std::max<uint8_t>(cell, uint8_t(n.velocity));
        }
    }
    return roll;
}

std::vector<float> render_piano_audio(const PianoSpec& spec, const ClipConfig& cfg) {
    std::vector<MidiCommand> cmds;
    auto sample = [&](double t) { return std::llround(t * cfg.sample_rate); };
    for (const auto& n : spec.notes) {
        cmds.push_back({sample(n.onset), MidiCommand::NoteOn, n.key, n.velocity});
        cmds.push_back({sample(n.offset), MidiCommand::NoteOff, n.key, 0});
    }
    for (const auto& p : spec.pedal) {
        cmds.push_back({sample(p.down), MidiCommand::Control, kSustainPedal, 127});
        cmds.push_back({sample(p.up), MidiCommand::Control, kSustainPedal, 0});
    }
    return render_midi_commands(std::move(cmds), 0, kGmAcousticGrand, false, cfg);
}

torch::Tensor render_piano_video(const PianoSpec& spec, const ClipConfig& cfg, const PianoVideoOptions& o) {
    V2A_CHECK(o.white_key_px >= 2 && o.view_height >= 16 && o.margin >= 0, Usage,
              "piano video: white keys need >= 2 px and views >= 16 px");
    const int T = cfg.n_frames(), W = o.width(), H = o.height(), vh = o.view_height, px = o.white_key_px;
    const auto roll = piano_roll(spec, cfg);
    const auto r = roll.accessor<uint8_t, 2>();
    Rng noise(spec.seed ^ 0x5eedull);
    auto frames = torch::empty({T, H, W, 3}, torch::kUInt8);
    cv::Mat prev;
    // Hands follow the keys they play (smoothed), so they move before a jump and hide keys on the way.
    double hand_x[2] = {W * 0.3, W * 0.7};
    // Each key's left edge, width and centre (pixels), the same in both views; computed once.
    struct KeyGeometry {
        int x0, width;
        double centre;
    };
    std::vector<KeyGeometry> geometry;
    for (int key = kPianoLowKey; key < kPianoLowKey + kPianoKeys; ++key) {
        const int w = white_index(key);
        if (is_black(key)) {
            const int bw = std::max(2, px * 3 / 5);
            const double centre = o.margin + (w + 1) * px;
            geometry.push_back({int(centre - bw / 2.0), bw, centre});
        } else {
            geometry.push_back({o.margin + w * px, px - 1, o.margin + w * px + px / 2.0});
        }
    }
    auto key_x = [&](int key) { return geometry[size_t(key - kPianoLowKey)].centre; };
    for (int k = 0; k < T; ++k) {
        const double t = k / cfg.fps;
        cv::Mat img(H, W, CV_8UC3, Col(70, 58, 52));
        // Top view: the keys from above.
        cv::rectangle(img, cv::Rect(0, 0, W, int(vh * 0.12)), Col(40, 30, 28), cv::FILLED);  // the fallboard
        const int top0 = int(vh * 0.12), top1 = int(vh * 0.97), black1 = int(vh * 0.62);
        for (int key = kPianoLowKey; key < kPianoLowKey + kPianoKeys; ++key) {
            if (is_black(key)) continue;
            const bool down = r[k][key - kPianoLowKey] > 0;
            const auto& g = geometry[size_t(key - kPianoLowKey)];
            cv::rectangle(img, cv::Rect(g.x0, top0, g.width, top1 - top0), down ? Col(176, 178, 196) : Col(236, 234, 226),
                          cv::FILLED);
            if (down) cv::rectangle(img, cv::Rect(g.x0, top0, g.width, 3), Col(120, 118, 130), cv::FILLED);  // its shadow
        }
        for (int key = kPianoLowKey; key < kPianoLowKey + kPianoKeys; ++key) {
            if (!is_black(key)) continue;
            const bool down = r[k][key - kPianoLowKey] > 0;
            const auto& g = geometry[size_t(key - kPianoLowKey)];
            cv::rectangle(img, cv::Rect(g.x0, top0, g.width, black1 - top0 - (down ? 2 : 0)),
                          down ? Col(92, 90, 104) : Col(24, 22, 22), cv::FILLED);
        }
        // Front view: the key fronts, pressed ones lower and darker, and the sustain pedal below.
        const int f0 = vh + int(vh * 0.30), f1 = vh + int(vh * 0.52), fb0 = vh + int(vh * 0.18);
        cv::rectangle(img, cv::Rect(0, vh, W, int(vh * 0.16)), Col(40, 30, 28), cv::FILLED);
        for (int key = kPianoLowKey; key < kPianoLowKey + kPianoKeys; ++key) {
            const bool down = r[k][key - kPianoLowKey] > 0;
            const int drop = down ? std::max(1, vh / 24) : 0;
            const auto& g = geometry[size_t(key - kPianoLowKey)];
            if (!is_black(key)) {
                cv::rectangle(img, cv::Rect(g.x0, f0 + drop, g.width, f1 - f0), down ? Col(190, 190, 205) : Col(240, 238, 230),
                              cv::FILLED);
            } else {
                cv::rectangle(img, cv::Rect(g.x0, fb0 + drop, g.width, f0 - fb0), down ? Col(90, 88, 100) : Col(20, 18, 18),
                              cv::FILLED);
            }
        }
        bool pedal_down = false;
        for (const auto& p : spec.pedal) pedal_down = pedal_down || (p.down <= t && t < p.up);
        const int pedal_y = vh + int(vh * 0.74) + (pedal_down ? std::max(2, vh / 16) : 0);
        cv::rectangle(img, cv::Rect(W / 2 - 3 * px, pedal_y, 6 * px, std::max(2, vh / 12)),
                      pedal_down ? Col(230, 200, 90) : Col(170, 150, 80), cv::FILLED);
        if (o.hands) {
            for (int hand = 0; hand < 2; ++hand) {
                double target = hand_x[hand], sum = 0;
                int n = 0;
                for (const auto& note : spec.notes) {  // keys this hand holds now, else its next note
                    if (note.left_hand != (hand == 0)) continue;
                    if (note.onset <= t + 0.08 && t < note.offset) sum += key_x(note.key), ++n;
                }
                if (n > 0) target = sum / n;
                hand_x[hand] += 0.5 * (target - hand_x[hand]);
                const int cx = int(hand_x[hand]);
                const Col skin(214, 170, 140);
                cv::ellipse(img, cv::Point(cx, int(vh * 0.22)), cv::Size(5 * px, int(vh * 0.16)), 0, 0, 360, skin, cv::FILLED);
                for (int f = -2; f <= 2; ++f)  // fingers reach over the keys' back half
                    cv::ellipse(img, cv::Point(cx + f * 2 * px, int(vh * 0.40)), cv::Size(std::max(1, px * 2 / 3), int(vh * 0.14)),
                                0, 0, 360, skin, cv::FILLED);
                cv::ellipse(img, cv::Point(cx, vh + int(vh * 0.12)), cv::Size(5 * px, int(vh * 0.10)), 0, 0, 360,
                            Col(200, 156, 128), cv::FILLED);
            }
        }
        cv::Mat out = img.clone();
        if (o.imperfections) {
            // Uneven light, motion blur (the shutter sees part of the previous frame), noise, a shaking camera.
            cv::Mat f;
            img.convertTo(f, CV_32FC3);
            for (int y = 0; y < H; ++y) {
                auto* row = f.ptr<cv::Vec3f>(y);
                for (int x = 0; x < W; ++x) {
                    const float light = float(spec.brightness * (1.0 + spec.light_tilt * (double(x) / W - 0.5)));
                    const float grain = float(6.0 * (noise.uniform() + noise.uniform() - 1.0));
                    for (int c = 0; c < 3; ++c) row[x][c] = row[x][c] * light + grain;
                }
            }
            if (!prev.empty()) f = 0.7f * f + 0.3f * prev;
            prev = f.clone();
            f.convertTo(out, CV_8UC3);  // saturates to [0, 255]
            if (noise.bernoulli(0.15)) {
                const int dx = noise.randint(-1, 1), dy = noise.randint(-1, 1);
                cv::Mat shifted(H, W, CV_8UC3, Col(0, 0, 0));
                out(cv::Rect(std::max(0, -dx), std::max(0, -dy), W - std::abs(dx), H - std::abs(dy)))
                    .copyTo(shifted(cv::Rect(std::max(0, dx), std::max(0, dy), W - std::abs(dx), H - std::abs(dy))));
                out = shifted;
            }
        }
        std::memcpy(frames[k].data_ptr<uint8_t>(), out.data, size_t(H) * size_t(W) * 3);
    }
    return frames;
}

nlohmann::json piano_spec_to_json(const PianoSpec& s, const ClipConfig& cfg) {
    nlohmann::json notes = nlohmann::json::array(), pedal = nlohmann::json::array();
    for (const auto& n : s.notes)
        notes.push_back({{"key", n.key}, {"onset", n.onset}, {"offset", n.offset}, {"velocity", n.velocity},
                         {"hand", n.left_hand ? "left" : "right"}, {"onset_frame", n.onset * cfg.fps},
                         {"onset_sample", std::llround(n.onset * cfg.sample_rate)}});
    for (const auto& p : s.pedal) pedal.push_back({{"down", p.down}, {"up", p.up}});
    return {{"id", s.id},
            {"split", s.split},
            {"task", "piano"},
            {"pianist", pianists()[size_t(s.pianist)].name},
            {"tempo_bpm", s.tempo_bpm},
            {"tonic", s.tonic},
            {"mode", s.minor ? "minor" : "major"},
            {"caption", s.caption},
            {"notes", notes},
            {"sustain_pedal", pedal},
            {"lighting", {{"brightness", s.brightness}, {"tilt", s.light_tilt}}},
            {"roll", "clips/" + s.id + ".roll.safetensors: \"roll\" [T, 88] uint8 velocity per video frame, key 0 = A0 (MIDI 21)"}};
}

std::vector<PianoNote> roll_to_notes(const torch::Tensor& roll, double fps, int velocity, int min_frames) {
    V2A_CHECK(roll.dim() == 2 && roll.size(1) == kPianoKeys, Usage, "roll to notes: the roll must be [T, 88], got ",
              roll.sizes());
    V2A_CHECK(fps > 0 && velocity >= 1 && velocity <= 127 && min_frames >= 1, Usage, "roll to notes: bad fps, velocity or min_frames");
    const auto r = roll.to(torch::kFloat).contiguous();
    const auto a = r.accessor<float, 2>();
    const bool velocities = r.max().item<float>() > 1.0f;
    const int64_t T = r.size(0);
    std::vector<PianoNote> notes;
    for (int key = 0; key < kPianoKeys; ++key) {
        for (int64_t k = 0; k < T;) {
            if (a[k][key] <= 0) {
                ++k;
                continue;
            }
            int64_t end = k;
            float peak = 0;
            while (end < T && a[end][key] > 0) peak = std::max(peak, a[end++][key]);
            if (end - k >= min_frames) {
                const int v = velocities ? std::clamp(int(std::lround(peak)), 1, 127) : velocity;
                notes.push_back({kPianoLowKey + key, double(k) / fps, double(end) / fps, v, false});
            }
            k = end;
        }
    }
    std::sort(notes.begin(), notes.end(), [](const PianoNote& x, const PianoNote& y) {
        return x.onset != y.onset ? x.onset < y.onset : x.key < y.key;
    });
    return notes;
}

nlohmann::json write_piano_dataset(const PianoDatasetOptions& o) {
    V2A_CHECK(!o.out.empty(), Usage, "synth --task piano: no output folder");
    V2A_CHECK(o.n_train >= 0 && o.n_val >= 0 && o.n_test >= 0 && o.n_train + o.n_val + o.n_test >= 1, Usage,
              "synth --task piano: clip counts must be >= 0 and not all 0");
    V2A_CHECK(o.config.seconds >= 1.0 && o.config.seconds <= 30.0, Usage, "synth --task piano: --seconds must be in [1, 30]");
    V2A_CHECK(o.config.fps >= 5 && o.config.fps <= 60, Usage, "synth --task piano: --fps must be in [5, 60]");
    V2A_CHECK(o.config.sample_rate >= 8000 && o.config.sample_rate <= 48000, Usage,
              "synth --task piano: --sample-rate must be in [8000, 48000]");
    const auto start = std::chrono::steady_clock::now();
    const auto clips_dir = o.out / "clips";
    fs::ensure_dir(clips_dir);
    const auto items = split_items(o.n_train, o.n_val, o.n_test);
    const nlohmann::json config = {{"seconds", o.config.seconds}, {"fps", o.config.fps},
                                   {"sample_rate", o.config.sample_rate}, {"dataset_seed", o.seed},
                                   {"white_key_px", o.video.white_key_px}, {"margin", o.video.margin},
                                   {"view_height", o.video.view_height}, {"hands", o.video.hands},
                                   {"imperfections", o.video.imperfections}, {"generator", "v2a-synth-piano-1"}};
    std::atomic<int64_t> rendered{0}, skipped{0};
    {
        Progress progress("synth piano", int64_t(items.size()), "clips");
        parallel_for(int64_t(items.size()), o.workers > 0 ? o.workers : thread_count(), [&](int64_t i) {
            const auto spec = sample_piano_spec(o.config, o.seed, items[size_t(i)].split, items[size_t(i)].index);
            const auto json_path = clips_dir / (spec.id + ".json");
            auto truth = piano_spec_to_json(spec, o.config);
            truth["config"] = config;
            bool done = std::filesystem::exists(json_path) && std::filesystem::exists(clips_dir / (spec.id + ".wav")) &&
                        std::filesystem::exists(clips_dir / (spec.id + ".mp4")) &&
                        std::filesystem::exists(clips_dir / (spec.id + ".roll.safetensors"));
            if (done) {
                try {
                    done = nlohmann::json::parse(fs::read_text(json_path)) == truth;
                } catch (const std::exception&) {
                    done = false;
                }
            }
            if (done) {
                ++skipped;
            } else {
                io::Audio audio{render_piano_audio(spec, o.config), o.config.sample_rate};
                io::write_audio_file(clips_dir / (spec.id + ".wav"), audio);
                io::write_mp4(clips_dir / (spec.id + ".mp4"), render_piano_video(spec, o.config, o.video), o.config.fps, audio);
                io::save_safetensors(clips_dir / (spec.id + ".roll.safetensors"), {{"roll", piano_roll(spec, o.config)}},
                                     {{"fps", std::to_string(o.config.fps)}, {"low_key", "21"}});
                fs::write_atomic(json_path, truth.dump(2) + "\n");  // last: marks the clip complete
                ++rendered;
            }
            progress.advance();
        });
        progress.finish();
    }
    std::ostringstream csv;
    csv << "id,video,caption,label,split,audio\n";
    nlohmann::json per_split = nlohmann::json::object(), per_pianist = nlohmann::json::object();
    int64_t notes = 0;
    for (const auto& item : items) {
        const auto spec = sample_piano_spec(o.config, o.seed, item.split, item.index);
        const auto& name = pianists()[size_t(spec.pianist)].name;
        csv << spec.id << ",clips/" << spec.id << ".mp4," << csv_field(spec.caption) << "," << name << "," << spec.split
            << ",clips/" << spec.id << ".wav\n";
        per_split[spec.split] = per_split.value(spec.split, 0) + 1;
        per_pianist[name] = per_pianist.value(name, 0) + 1;
        notes += int64_t(spec.notes.size());
    }
    fs::write_atomic(o.out / "manifest.csv", csv.str());
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json summary = {{"task", "piano"},
                              {"out", o.out.string()},
                              {"clips", int64_t(items.size())},
                              {"rendered", rendered.load()},
                              {"skipped", skipped.load()},
                              {"per_split", per_split},
                              {"per_pianist", per_pianist},
                              {"notes", notes},
                              {"frame", {{"width", o.video.width()}, {"height", o.video.height()}, {"views", {"top", "front"}}}},
                              {"total_duration_s", double(items.size()) * o.config.seconds},
                              {"elapsed_s", elapsed},
                              {"clips_per_s", rendered.load() > 0 ? double(rendered.load()) / elapsed : 0.0},
                              {"stand_in_for", "the seed's piano performance data (procedural, FluidSynth-rendered)"}};
    fs::write_atomic(o.out / "summary.json", summary.dump(2) + "\n");
    return summary;
}

}  // namespace v2a::synth
