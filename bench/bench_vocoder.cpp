// Quality ceiling of the weight-free vocoder (issue 3): ground truth -> log-mel -> Griffin-Lim, and
// ground truth -> log-mel -> VAE (posterior mean) -> log-mel -> Griffin-Lim, the path every generated
// clip takes. Per clip: SI-SDR (waveform; Griffin-Lim does not recover the true phase, so expect it
// low), spectral convergence of linear STFT magnitudes, and log-mel L1 (log10 units) of the result.
//
//   bench_vocoder --manifest M [--split test] [--vae vae.safetensors] [--iterations 8,32,100]
//                 [--limit N] [--out result.json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "v2a/audio/vae.h"
#include "v2a/audio/vocoder.h"
#include "v2a/core/fs.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/metrics/sisdr.h"

using Clock = std::chrono::steady_clock;

namespace {

struct Accumulator {
    std::vector<double> si_sdr, sc, mel_l1;
    double seconds = 0;
    static double mean(const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return v.empty() ? 0.0 : s / double(v.size());
    }
    nlohmann::json json(const std::string& path, int iterations, double audio_seconds) const {
        return {{"path", path},
                {"griffin_lim_iterations", iterations},
                {"clips", si_sdr.size()},
                {"si_sdr_db", mean(si_sdr)},
                {"spectral_convergence", mean(sc)},
                {"log_mel_l1", mean(mel_l1)},
                {"vocoder_rtf", seconds / audio_seconds}};
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string manifest, split = "test", vae_path, iterations_arg = "8,32,100", out;
    int limit = 0;
    CLI::App app{"Griffin-Lim quality: GT -> mel (-> VAE) -> Griffin-Lim on a manifest split"};
    app.add_option("--manifest", manifest, "manifest.csv")->required();
    app.add_option("--split", split, "split")->capture_default_str();
    app.add_option("--vae", vae_path, "also score the path through this VAE");
    app.add_option("--iterations", iterations_arg, "comma-separated Griffin-Lim iteration counts")->capture_default_str();
    app.add_option("--limit", limit, "first N clips only (0 = all)")->capture_default_str();
    app.add_option("--out", out, "write the JSON result here");
    CLI11_PARSE(app, argc, argv);
    try {
        torch::NoGradGuard no_grad;
        std::vector<int> iterations;
        std::stringstream ss(iterations_arg);
        for (std::string item; std::getline(ss, item, ',');) iterations.push_back(std::stoi(item));
        auto sp = v2a::io::parse_split(split);
        if (!sp) throw std::runtime_error("--split must be train, val or test");
        auto rows = v2a::io::read_manifest(manifest).filter(*sp);
        if (limit > 0 && int64_t(rows.rows.size()) > limit) rows.rows.resize(size_t(limit));
        v2a::io::ClipDatasetOptions o;
        o.load_frames = false;
        o.load_truth = false;
        v2a::io::ClipDataset clips(rows, o, "bench_vocoder");
        v2a::audio::MelSpectrogram mel;
        v2a::audio::MelVae vae{nullptr};
        if (!vae_path.empty()) vae = v2a::audio::load_vae(vae_path);

        std::map<std::string, Accumulator> acc;  // "<path>/<iterations>"
        auto score = [&](Accumulator& a, const torch::Tensor& est, const torch::Tensor& ref,
                         const torch::Tensor& ref_mel) {
            const int64_t n = std::min(est.size(-1), ref.size(-1));
            auto e = est.narrow(-1, 0, n), r = ref.narrow(-1, 0, n);
            a.si_sdr.push_back(v2a::metrics::mean_si_sdr(e, r));
            a.sc.push_back(v2a::audio::spectral_convergence(mel.magnitude(r), mel.magnitude(e)));
            auto em = mel(e);
            const int64_t f = std::min(em.size(-1), ref_mel.size(-1));
            a.mel_l1.push_back((em.narrow(-1, 0, f) - ref_mel.narrow(-1, 0, f)).abs().mean().item<double>());
        };
        for (int64_t i = 0; i < clips.size(); ++i) {
            auto wav = clips.audio({i});          // [1, S]
            auto log_mel = mel(wav);              // [1, M, F]
            torch::Tensor vae_mel;
            if (vae) vae_mel = vae->decode(vae->encode(v2a::audio::trim_mel_frames(log_mel, vae->options().downsample)).mean);
            for (int it : iterations) {
                v2a::audio::GriffinLimOptions go;
                go.iterations = it;
                v2a::audio::GriffinLimVocoder gl({}, go);
                const auto t0 = Clock::now();
                auto est = gl.decode(log_mel);
                auto& a = acc["mel/" + std::to_string(it)];
                a.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
                score(a, est, wav, log_mel);
                if (vae) {
                    auto& b = acc["vae/" + std::to_string(it)];
                    const auto t1 = Clock::now();
                    auto est_vae = gl.decode(vae_mel);
                    b.seconds += std::chrono::duration<double>(Clock::now() - t1).count();
                    score(b, est_vae, wav, log_mel);
                }
            }
            if ((i + 1) % 20 == 0) std::fprintf(stderr, "bench_vocoder: %lld/%lld clips\n", (long long)(i + 1), (long long)clips.size());
        }
        const double audio_seconds = double(clips.size()) * o.duration;
        nlohmann::json result = {{"manifest", manifest}, {"split", split}, {"clips", clips.size()}, {"rows", nlohmann::json::array()}};
        for (const auto& [key, a] : acc) {
            const auto slash = key.find('/');
            const std::string path = key.substr(0, slash) == "mel" ? "GT -> mel -> Griffin-Lim"
                                                                  : "GT -> mel -> VAE -> Griffin-Lim";
            result["rows"].push_back(a.json(path, std::stoi(key.substr(slash + 1)), audio_seconds));
        }
        if (!out.empty()) v2a::fs::write_atomic(out, result.dump(2) + "\n");
        std::cout << result.dump(2) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "bench_vocoder: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
