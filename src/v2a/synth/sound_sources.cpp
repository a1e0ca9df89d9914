#include "v2a/synth/sound_sources.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fluidsynth.h>
#include <sndfile.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "v2a/core/error.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/rng.h"

extern "C" char** environ;

namespace v2a::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------------------------
// FluidSynth: the SoundFont is loaded once per worker thread (by a "loader" synth that is never
// played); every clip gets a fresh synth with that SoundFont added, so its audio depends on the
// clip alone (a reused synth keeps voice/filter state that changes later notes). Reverb and
// chorus are off.
// ---------------------------------------------------------------------------------------------
struct FluidSettings {
    fluid_settings_t* settings = nullptr;
    explicit FluidSettings(int sample_rate) {
        static std::once_flag quiet_once;
        std::call_once(quiet_once, [] {
            // FluidSynth prints warnings/info to stderr by default; errors surface as return codes.
            fluid_set_log_function(FLUID_WARN, nullptr, nullptr);
            fluid_set_log_function(FLUID_INFO, nullptr, nullptr);
            fluid_set_log_function(FLUID_DBG, nullptr, nullptr);
        });
        settings = new_fluid_settings();
        V2A_CHECK(settings != nullptr, Internal, "fluidsynth: cannot create settings");
        fluid_settings_setnum(settings, "synth.sample-rate", double(sample_rate));
        fluid_settings_setint(settings, "synth.reverb.active", 0);
        fluid_settings_setint(settings, "synth.chorus.active", 0);
        fluid_settings_setint(settings, "synth.cpu-cores", 1);
        fluid_settings_setnum(settings, "synth.gain", 0.5);
        fluid_settings_setint(settings, "synth.polyphony", 64);
    }
    ~FluidSettings() { delete_fluid_settings(settings); }
};

struct FluidWorker {
    int rate = 0;
    FluidSettings settings;
    fluid_synth_t* loader = nullptr;
    fluid_sfont_t* sfont = nullptr;

    explicit FluidWorker(int sample_rate) : rate(sample_rate), settings(sample_rate) {
        loader = new_fluid_synth(settings.settings);
        V2A_CHECK(loader != nullptr, Internal, "fluidsynth: cannot create a synth at ", sample_rate, " Hz");
        const std::string sf = default_soundfont();
        const int id = fluid_synth_sfload(loader, sf.c_str(), 1);
        if (id == FLUID_FAILED) {
            delete_fluid_synth(loader);
            fail(ErrorKind::IO, sf, ": cannot load the SoundFont (install fluid-soundfont-gm)");
        }
        sfont = fluid_synth_get_sfont_by_id(loader, id);
    }
    ~FluidWorker() { delete_fluid_synth(loader); }
};

/// A synth for one clip, playing the worker's SoundFont.
struct ClipSynth {
    fluid_synth_t* synth = nullptr;
    fluid_sfont_t* sfont = nullptr;
    int sfid = -1;
    ClipSynth(FluidWorker& worker) : sfont(worker.sfont) {
        synth = new_fluid_synth(worker.settings.settings);
        V2A_CHECK(synth != nullptr, Internal, "fluidsynth: cannot create a synth");
        sfid = fluid_synth_add_sfont(synth, sfont);
        if (sfid == FLUID_FAILED) {
            delete_fluid_synth(synth);
            fail(ErrorKind::Internal, "fluidsynth: cannot share the SoundFont");
        }
    }
    ~ClipSynth() {
        fluid_synth_remove_sfont(synth, sfont);   // the loader owns it
        delete_fluid_synth(synth);
    }
    /// Renders n samples (stereo mixed to mono) into out[0..n).
    void render(float* out, int64_t n) {
        std::vector<float> l(4096), r(4096);
        while (n > 0) {
            const int len = int(std::min<int64_t>(n, 4096));
            std::fill(l.begin(), l.begin() + len, 0.0f);
            std::fill(r.begin(), r.begin() + len, 0.0f);
            V2A_CHECK(fluid_synth_write_float(synth, len, l.data(), 0, 1, r.data(), 0, 1) == FLUID_OK, Internal,
                      "fluidsynth: render failed");
            for (int i = 0; i < len; ++i) out[i] = 0.5f * (l[i] + r[i]);
            out += len;
            n -= len;
        }
    }
};

thread_local std::unique_ptr<FluidWorker> t_fluid;

FluidWorker& fluid_worker(int rate) {
    if (!t_fluid || t_fluid->rate != rate) {
        t_fluid.reset();
        t_fluid = std::make_unique<FluidWorker>(rate);
    }
    return *t_fluid;
}

std::vector<float> render_midi(const SourceSpec& src, const ClipConfig& cfg, std::vector<double>& durations) {
    const ClassInfo& info = all_classes().at(size_t(src.class_id));
    std::vector<MidiCommand> cmds;
    for (const Event& e : src.events) {
        cmds.push_back({e.sample, MidiCommand::NoteOn, e.key, e.velocity});
        cmds.push_back({e.sample + std::llround(e.duration * cfg.sample_rate), MidiCommand::NoteOff, e.key, 0});
        durations.push_back(e.duration);
    }
    return render_midi_commands(std::move(cmds), info.percussion ? 128 : src.bank, src.program, info.percussion, cfg);
}

// ---------------------------------------------------------------------------------------------
// espeak-ng: each word is synthesised by a fresh `espeak-ng --stdout` process. The library keeps
// state between utterances (libc rand() noise, glottal phase / flutter counters), so the same word
// comes out different depending on what was spoken before - i.e. on thread scheduling - and
// espeak_ng_Terminate + re-initialise hangs in 1.51. A fresh process per word is byte-identical.
// ---------------------------------------------------------------------------------------------
std::vector<float> run_espeak(const std::string& word, const std::string& voice, int pitch, int wpm, int& rate) {
    int fds[2];
    V2A_CHECK(::pipe(fds) == 0, IO, "espeak-ng: cannot create a pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const std::string p = std::to_string(pitch), s = std::to_string(wpm);
    std::vector<std::string> args = {"espeak-ng", "-v", voice, "-p", p, "-s", s, "--stdout", word};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, "espeak-ng", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        fail(ErrorKind::Config, "espeak-ng: cannot run the espeak-ng program (apt install espeak-ng)");
    }
    std::vector<uint8_t> bytes;
    uint8_t chunk[65536];
    for (ssize_t got; (got = ::read(fds[0], chunk, sizeof chunk)) != 0;) {
        if (got < 0) {
            if (errno == EINTR) continue;
            break;
        }
        bytes.insert(bytes.end(), chunk, chunk + got);
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    V2A_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, Config, "espeak-ng: synthesis of '", word,
              "' with voice '", voice, "' failed");
    // RIFF/WAVE, 16-bit mono PCM; the streamed header's data size is a placeholder: read to the end.
    V2A_CHECK(bytes.size() > 44 && std::memcmp(bytes.data(), "RIFF", 4) == 0, Data, "espeak-ng: output for '", word,
              "' is not a WAV stream");
    std::memcpy(&rate, bytes.data() + 24, 4);
    size_t pos = 12;
    while (pos + 8 <= bytes.size() && std::memcmp(bytes.data() + pos, "data", 4) != 0) {
        uint32_t len = 0;
        std::memcpy(&len, bytes.data() + pos + 4, 4);
        pos += 8 + len;
    }
    V2A_CHECK(pos + 8 <= bytes.size(), Data, "espeak-ng: no data chunk for '", word, "'");
    pos += 8;
    std::vector<float> x((bytes.size() - pos) / 2);
    for (size_t i = 0; i < x.size(); ++i) {
        int16_t v = 0;
        std::memcpy(&v, bytes.data() + pos + 2 * i, 2);
        x[i] = float(v) / 32768.0f;
    }
    return x;
}

std::vector<float> render_speech(const SourceSpec& src, const ClipConfig& cfg, std::vector<double>& durations) {
    const int64_t n = cfg.n_samples();
    std::vector<float> out(size_t(n), 0.0f);
    for (size_t i = 0; i < src.events.size(); ++i) {
        const Event& e = src.events[i];
        std::vector<float> w = speak_word(e.word, src.voice, src.pitch, src.rate, cfg.sample_rate);
        // A word never runs into the next event: cut with a 20 ms fade (the gap is >= 0.64 s).
        int64_t limit = n - e.sample;
        if (i + 1 < src.events.size()) limit = std::min(limit, src.events[i + 1].sample - e.sample - cfg.sample_rate / 50);
        if (int64_t(w.size()) > limit) {
            w.resize(size_t(std::max<int64_t>(limit, 0)));
            const int fade = std::min<int>(int(w.size()), cfg.sample_rate / 50);
            for (int k = 0; k < fade; ++k) w[w.size() - 1 - k] *= float(k) / float(fade);
        }
        for (size_t k = 0; k < w.size(); ++k) out[size_t(e.sample) + k] += w[k];
        durations.push_back(double(w.size()) / cfg.sample_rate);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Freedesktop samples.
// ---------------------------------------------------------------------------------------------
std::vector<float> read_mono_sndfile(const std::string& path, int& rate) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    V2A_CHECK(f != nullptr, IO, path, ": cannot read sound file (", sf_strerror(nullptr), ")");
    std::vector<float> inter(size_t(info.frames) * size_t(std::max(1, info.channels)));
    const sf_count_t got = sf_readf_float(f, inter.data(), info.frames);
    sf_close(f);
    V2A_CHECK(got > 0, Data, path, ": no audio frames");
    std::vector<float> mono(static_cast<size_t>(got));
    for (sf_count_t i = 0; i < got; ++i) {
        float s = 0;
        for (int c = 0; c < info.channels; ++c) s += inter[size_t(i) * info.channels + c];
        mono[size_t(i)] = s / float(info.channels);
    }
    rate = info.samplerate;
    return mono;
}

std::vector<float> render_samples(const SourceSpec& src, const ClipConfig& cfg, std::vector<double>& durations) {
    const int64_t n = cfg.n_samples();
    std::vector<float> out(size_t(n), 0.0f);
    for (const Event& e : src.events) {
        const std::vector<float>& s = load_sample(e.sample_file, cfg.sample_rate);
        const float g = float(e.velocity) / 127.0f;
        for (size_t k = 0; k < s.size() && e.sample + int64_t(k) < n; ++k) out[size_t(e.sample) + k] += g * s[k];
        durations.push_back(double(s.size()) / cfg.sample_rate);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Procedural sources.
// ---------------------------------------------------------------------------------------------
/// One-pole low-pass coefficient for cutoff fc (Hz) at rate sr.
float one_pole(double fc, int sr) { return float(1.0 - std::exp(-2.0 * kPi * fc / sr)); }

std::vector<float> render_water(const SourceSpec& src, const ClipConfig& cfg, std::vector<double>& durations) {
    const int sr = cfg.sample_rate;
    const int64_t n = cfg.n_samples();
    std::vector<float> out(size_t(n), 0.0f);
    Rng rng(src.seed ^ 0x57A7E5ull);
    // Bed: band-passed noise (difference of two one-pole low-passes) with a slow swell: a stream.
    const float a_hi = one_pole(1800.0, sr), a_lo = one_pole(250.0, sr);
    const double ph1 = rng.uniform(0, 2 * kPi), ph2 = rng.uniform(0, 2 * kPi);
    float lp_hi = 0, lp_lo = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float w = float(rng.uniform(-1.0, 1.0));
        lp_hi += a_hi * (w - lp_hi);
        lp_lo += a_lo * (w - lp_lo);
        const double t = double(i) / sr;
        const double swell = 0.75 + 0.15 * std::sin(2 * kPi * 0.31 * t + ph1) + 0.1 * std::sin(2 * kPi * 0.73 * t + ph2);
        out[size_t(i)] = float(src.bed_level * 0.6 * swell) * (lp_hi - lp_lo) * 4.0f;
    }
    // Splash: a bright noise burst plus the rising "bloop" of a drop, from the event sample on.
    for (const Event& e : src.events) {
        const double f0 = rng.uniform(500.0, 900.0);
        const int64_t len = int64_t(0.35 * sr);
        double phase = 0;
        float hp_state = 0;
        const float a_hp = one_pole(2500.0, sr);
        for (int64_t k = 0; k < len && e.sample + k < n; ++k) {
            const double t = double(k) / sr;
            const double attack = std::min(1.0, t / 0.001);
            const float w = float(rng.uniform(-1.0, 1.0));
            hp_state += a_hp * (w - hp_state);
            const double burst = (w - hp_state) * std::exp(-t / 0.04);
            phase += 2 * kPi * f0 * (1.0 + 1.2 * (1.0 - std::exp(-t / 0.03))) / sr;
            const double bloop = std::sin(phase) * std::exp(-t / 0.07);
            out[size_t(e.sample + k)] += float(e.strength * attack * (0.9 * burst + 0.7 * bloop));
        }
        durations.push_back(0.35);
    }
    return out;
}

std::vector<float> render_engine(const SourceSpec& src, const ClipConfig& cfg, std::vector<double>& durations) {
    const int sr = cfg.sample_rate;
    const int64_t n = cfg.n_samples();
    std::vector<float> out(size_t(n), 0.0f);
    Rng rng(src.seed ^ 0xE4613Eull);
    constexpr int kHarmonics = 10;
    double amp[kHarmonics], off[kHarmonics];
    for (int h = 0; h < kHarmonics; ++h) {
        amp[h] = std::pow(h + 1.0, -0.7) * rng.uniform(0.7, 1.3);
        off[h] = rng.uniform(0, 2 * kPi);
    }
    double phase = 0;   // firing phase (radians of the fundamental)
    const float a_lp = one_pole(900.0, sr);
    float lp = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double t = double(i) / sr;
        const double rev = engine_rev(src.events, t);
        const double f = engine_rpm(src, t) / 60.0 * 2.0;   // 4-stroke, 4 cylinders: 2 firings per turn
        phase += 2 * kPi * f / sr;
        double s = 0;
        for (int h = 0; h < kHarmonics; ++h) s += amp[h] * std::sin((h + 1) * phase + off[h]);
        const double throttle = src.bed_level + (1.0 - src.bed_level) * rev;
        // Exhaust roughness: noise gated by the firing phase.
        const float w = float(rng.uniform(-1.0, 1.0));
        lp += a_lp * (w - lp);
        const double rough = lp * (0.5 + 0.5 * std::cos(phase));
        out[size_t(i)] = float(0.25 * throttle * (s + 1.5 * rough));
    }
    // Exhaust puff at each rev: a low-passed noise burst starting on the event sample.
    for (const Event& e : src.events) {
        float p = 0;
        const float a = one_pole(1200.0, sr);
        for (int64_t k = 0; k < int64_t(0.3 * sr) && e.sample + k < n; ++k) {
            const double t = double(k) / sr;
            const float w = float(rng.uniform(-1.0, 1.0));
            p += a * (w - p);
            out[size_t(e.sample + k)] += float(e.strength * 1.6 * std::min(1.0, t / 0.001) * std::exp(-t / 0.07)) * p * 3.0f;
        }
        durations.push_back(0.8);
    }
    return out;
}

}  // namespace

std::vector<float> render_midi_commands(std::vector<MidiCommand> cmds, int bank, int program, bool percussion,
                                        const ClipConfig& cfg) {
    // A fresh synth starts on a 64-sample block boundary, so a command at sample s (a multiple of 64,
    // true on the 25 fps / 16 kHz frame grid: 640 samples per frame) takes effect at s.
    ClipSynth fw(fluid_worker(cfg.sample_rate));
    const int channel = percussion ? 9 : 0;
    V2A_CHECK(fluid_synth_program_select(fw.synth, channel, fw.sfid, bank, program) == FLUID_OK, Internal,
              "fluidsynth: no preset ", program, " (bank ", bank, ") in ", default_soundfont());
    // At one sample: note-offs first (a repeated key is released and struck again), then controls, then note-ons.
    std::stable_sort(cmds.begin(), cmds.end(), [](const MidiCommand& a, const MidiCommand& b) {
        return a.sample != b.sample ? a.sample < b.sample : int(a.kind) < int(b.kind);
    });
    const int64_t n = cfg.n_samples();
    std::vector<float> out(size_t(n), 0.0f);
    int64_t pos = 0;
    for (const MidiCommand& c : cmds) {
        const int64_t at = std::min(std::max<int64_t>(c.sample, 0), n);
        if (at > pos) {
            fw.render(out.data() + pos, at - pos);
            pos = at;
        }
        if (c.sample >= n) continue;
        switch (c.kind) {
            case MidiCommand::NoteOn: fluid_synth_noteon(fw.synth, channel, c.number, c.value); break;
            case MidiCommand::NoteOff: fluid_synth_noteoff(fw.synth, channel, c.number); break;
            case MidiCommand::Control: fluid_synth_cc(fw.synth, channel, c.number, c.value); break;
        }
    }
    if (pos < n) fw.render(out.data() + pos, n - pos);
    return out;
}

std::vector<float> resample_linear_phase(const std::vector<float>& in, int in_rate, int out_rate) {
    V2A_CHECK(in_rate > 0 && out_rate > 0, Usage, "resample: bad rates ", in_rate, " -> ", out_rate);
    if (in_rate == out_rate || in.empty()) return in;
    const double ratio = double(out_rate) / in_rate;
    const double cutoff = std::min(1.0, ratio) * 0.95;   // of the input Nyquist
    const int half = int(std::ceil(16.0 / std::min(1.0, ratio)));
    const int64_t n_out = int64_t(std::floor(double(in.size()) * ratio));
    std::vector<float> out(static_cast<size_t>(n_out));
    for (int64_t j = 0; j < n_out; ++j) {
        const double center = double(j) / ratio;
        const int64_t k0 = int64_t(std::floor(center)) - half + 1, k1 = int64_t(std::floor(center)) + half;
        double acc = 0;
        for (int64_t k = std::max<int64_t>(k0, 0); k <= std::min<int64_t>(k1, int64_t(in.size()) - 1); ++k) {
            const double d = double(k) - center;
            const double x = cutoff * d;
            const double sinc = std::abs(x) < 1e-9 ? 1.0 : std::sin(kPi * x) / (kPi * x);
            const double u = d / half;   // Blackman window over [-1, 1]
            const double win = std::abs(u) >= 1 ? 0.0 : 0.42 + 0.5 * std::cos(kPi * u) + 0.08 * std::cos(2 * kPi * u);
            acc += in[size_t(k)] * cutoff * sinc * win;
        }
        out[size_t(j)] = float(acc);
    }
    return out;
}

std::vector<float> trim_leading_silence(const std::vector<float>& x, float rel_threshold) {
    float peak = 0;
    for (float v : x) peak = std::max(peak, std::abs(v));
    if (peak <= 0) return {};
    size_t first = 0;
    while (first < x.size() && std::abs(x[first]) < rel_threshold * peak) ++first;
    return std::vector<float>(x.begin() + long(first), x.end());
}

const std::vector<float>& load_sample(const std::string& file_name, int rate) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, int>, std::vector<float>> cache;
    std::lock_guard<std::mutex> lock(mutex);
    auto key = std::make_pair(file_name, rate);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    int file_rate = 0;
    std::vector<float> x = read_mono_sndfile(freedesktop_sound_dir() + "/" + file_name, file_rate);
    x = trim_leading_silence(resample_linear_phase(x, file_rate, rate));
    return cache.emplace(key, std::move(x)).first->second;
}

std::vector<float> speak_word(const std::string& word, const std::string& voice, int pitch, int wpm, int rate) {
    int espeak_rate = 0;
    std::vector<float> x = run_espeak(word, voice, pitch, wpm, espeak_rate);
    V2A_CHECK(espeak_rate > 0, Data, "espeak-ng: bad sample rate for '", word, "'");
    x = trim_leading_silence(resample_linear_phase(x, espeak_rate, rate), 0.05f);
    // Trailing silence too, so the recorded word length is the audible length.
    float peak = 0;
    for (float v : x) peak = std::max(peak, std::abs(v));
    size_t end = x.size();
    while (end > 0 && std::abs(x[end - 1]) < 0.02f * peak) --end;
    x.resize(end);
    return x;
}

double engine_rev(const std::vector<Event>& events, double t) {
    double rev = 0;
    for (const Event& e : events) {
        const double s = t - e.time;
        if (s < 0) continue;
        rev = std::max(rev, e.strength * (1.0 - std::exp(-s / 0.03)) * std::exp(-s / 0.5));
    }
    return std::min(rev, 1.0);
}

double engine_rpm(const SourceSpec& source, double t) { return source.base_rpm * (1.0 + 1.3 * engine_rev(source.events, t)); }

const std::vector<std::string>& speech_words() {
    static const std::vector<std::string> words = {
        "hello", "yes", "no", "stop", "go", "one", "two", "three", "red", "blue", "cat", "dog",
        "sun", "hat", "tree", "book", "good", "right", "left", "up", "down", "look", "run", "jump",
        "fish", "bird", "milk", "time", "home", "play", "ball", "cake", "door", "green", "king", "moon"};
    return words;
}

const std::vector<std::pair<std::string, bool>>& speech_voices() {
    static const std::vector<std::pair<std::string, bool>> voices = {
        {"en-us+m1", false}, {"en-us+m3", false}, {"en+m2", false}, {"en-us+m7", false},
        {"en-us+f1", true},  {"en-us+f3", true},  {"en+f2", true},  {"en-us+f4", true}};
    return voices;
}

SourceAudio render_source_audio(const SourceSpec& source, const ClipConfig& config) {
    SourceAudio a;
    switch (all_classes().at(size_t(source.class_id)).sound) {
        case SoundKind::Midi: a.samples = render_midi(source, config, a.event_durations); break;
        case SoundKind::Speech: a.samples = render_speech(source, config, a.event_durations); break;
        case SoundKind::Sample: a.samples = render_samples(source, config, a.event_durations); break;
        case SoundKind::Water: a.samples = render_water(source, config, a.event_durations); break;
        case SoundKind::Engine: a.samples = render_engine(source, config, a.event_durations); break;
    }
    V2A_ASSERT(int64_t(a.samples.size()) == config.n_samples());
    return a;
}

}  // namespace v2a::synth
