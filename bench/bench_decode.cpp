// Decode throughput of v2a::io: decode_video (25 fps, 96x96, the sync-feature input) and
// decode_audio (16 kHz mono) over mp4 files, in clips/s and real-time factor (media seconds decoded
// per wall-clock second, single thread: the dataset tools parallelise across clips).
//
//   bench_decode [files or directories of .mp4 ...] [--out result.json] [--clips N] [--seconds S]
//
// With no inputs it first encodes N synthetic clips (320x240, 25 fps, 44.1 kHz tone + noise) with
// write_mp4 into a temporary directory and also reports that encode rate.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A clip with motion and texture so that the H.264 stream is not trivially small: a gradient that
/// scrolls, a moving square and mild noise; audio is a 440 Hz tone plus noise.
/// Returns the seconds spent in write_mp4 (the rest is making the pixels).
double make_clip(const stdfs::path& path, int index, double seconds) {
    const int W = 320, H = 240;
    const double fps = 25.0;
    const int64_t T = int64_t(std::llround(seconds * fps));
    // Plain loops with a small LCG for the noise: building this with tensor ops costs seconds.
    auto frames = torch::empty({T, H, W, 3}, torch::kUInt8);
    uint8_t* px = frames.data_ptr<uint8_t>();
    uint32_t state = 12345u + uint32_t(index) * 7919u;
    for (int64_t i = 0; i < T; ++i) {
        const int64_t sx = (i * 5) % (W - 40), sy = (i * 3) % (H - 40);
        for (int y = 0; y < H; ++y) {
            for (int x = 0; x < W; ++x, px += 3) {
                state = state * 1664525u + 1013904223u;
                const int noise = int(state >> 28) - 8;  // +-8 levels
                const bool square = x >= sx && x < sx + 40 && y >= sy && y < sy + 40;
                const int64_t v[3] = {int64_t(x * 0.8) + i * 3, y + i * 2, (x + y) / 2 + 4 * (1 << 20) - i * 4};
                for (int c = 0; c < 3; ++c) px[c] = uint8_t(square ? 255 : std::clamp(int(v[c] % 256) + noise, 0, 255));
            }
        }
    }

    v2a::io::Audio audio;
    audio.sample_rate = 44100;
    audio.samples.resize(size_t(std::llround(seconds * audio.sample_rate)));
    for (size_t i = 0; i < audio.samples.size(); ++i) {
        state = state * 1664525u + 1013904223u;
        const double noise = (double(state >> 8) / double(1u << 24) - 0.5) * 0.1;
        audio.samples[i] = float(0.3 * std::sin(2 * M_PI * 440.0 * double(i) / audio.sample_rate) + noise);
    }
    const auto t0 = Clock::now();
    v2a::io::write_mp4(path, frames, fps, audio);
    return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        std::vector<stdfs::path> inputs;
        stdfs::path out_json;
        int n_clips = 8;
        double clip_seconds = 8.0;
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            auto next = [&]() -> std::string {
                V2A_CHECK(i + 1 < argc, Usage, arg, " needs a value");
                return argv[++i];
            };
            if (arg == "--out") out_json = next();
            else if (arg == "--clips") n_clips = std::stoi(next());
            else if (arg == "--seconds") clip_seconds = std::stod(next());
            else if (arg == "-h" || arg == "--help") {
                std::cout << "usage: bench_decode [files|dirs ...] [--out result.json] [--clips N] [--seconds S]\n";
                return 0;
            } else inputs.emplace_back(arg);
        }

        std::vector<stdfs::path> clips;
        for (const auto& in : inputs) {
            if (stdfs::is_directory(in)) {
                for (const auto& e : stdfs::recursive_directory_iterator(in))
                    if (e.is_regular_file() && e.path().extension() == ".mp4") clips.push_back(e.path());
            } else {
                clips.push_back(in);
            }
        }
        std::sort(clips.begin(), clips.end());

        nlohmann::json result;
        stdfs::path tmp_dir;
        if (inputs.empty()) {
            tmp_dir = stdfs::temp_directory_path() / ("v2a_bench_decode_" + std::to_string(::getpid()));
            v2a::fs::ensure_dir(tmp_dir);
            double dt = 0.0;
            for (int i = 0; i < n_clips; ++i) {
                clips.push_back(tmp_dir / ("clip_" + std::to_string(i) + ".mp4"));
                dt += make_clip(clips.back(), i, clip_seconds);
            }
            result["synthetic"] = {{"clips", n_clips},
                                   {"seconds_per_clip", clip_seconds},
                                   {"size", "320x240"},
                                   {"fps", 25},
                                   {"audio_rate", 44100},
                                   {"write_mp4_wall_s", dt},
                                   {"encode_clips_per_s", n_clips / dt}};
        }
        V2A_CHECK(!clips.empty(), Usage, "bench_decode: no .mp4 files found in the given inputs");

        double media_seconds = 0.0;
        for (const auto& c : clips) media_seconds += v2a::io::probe(c).duration;

        v2a::io::VideoDecodeOptions vopt;
        vopt.fps = 25.0;
        vopt.width = 96;
        vopt.height = 96;
        v2a::io::AudioDecodeOptions aopt;
        aopt.sample_rate = 16000;

        int64_t frames = 0, samples = 0;
        auto t0 = Clock::now();
        for (const auto& c : clips) frames += v2a::io::decode_video(c, vopt).frames.size(0);
        const double video_s = seconds_since(t0);
        t0 = Clock::now();
        for (const auto& c : clips) samples += int64_t(v2a::io::decode_audio(c, aopt).samples.size());
        const double audio_s = seconds_since(t0);

        const double n = double(clips.size());
        result["clips"] = clips.size();
        result["media_seconds"] = media_seconds;
        result["decode_video"] = {{"fps", vopt.fps},
                                  {"size", "96x96"},
                                  {"frames", frames},
                                  {"wall_s", video_s},
                                  {"clips_per_s", n / video_s},
                                  {"realtime_factor", media_seconds / video_s}};
        result["decode_audio"] = {{"sample_rate", aopt.sample_rate},
                                  {"samples", samples},
                                  {"wall_s", audio_s},
                                  {"clips_per_s", n / audio_s},
                                  {"realtime_factor", media_seconds / audio_s}};
        result["threads"] = 1;

        std::printf("bench_decode: %zu clips, %.1f s of media\n", clips.size(), media_seconds);
        std::printf("  decode_video 25 fps 96x96 : %7.2f clips/s  %7.1fx real time  (%.2f s)\n", n / video_s,
                    media_seconds / video_s, video_s);
        std::printf("  decode_audio 16 kHz mono  : %7.2f clips/s  %7.1fx real time  (%.2f s)\n", n / audio_s,
                    media_seconds / audio_s, audio_s);
        if (result.contains("synthetic"))
            std::printf("  (write_mp4 of the synthetic clips: %.2f clips/s)\n",
                        result["synthetic"]["encode_clips_per_s"].get<double>());
        if (!out_json.empty()) v2a::fs::write_atomic(out_json, result.dump(2) + "\n");
        if (!tmp_dir.empty()) stdfs::remove_all(tmp_dir);
        return 0;
    } catch (const v2a::Error& e) {
        std::fprintf(stderr, "bench_decode: %s\n", e.what());
        return 1;
    }
}
