// `v2a generate`: audio for a video (or a prompt alone), or for every clip of a manifest.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

#include "common.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/progress.h"
#include "v2a/flow/feature_generation.h"
#include "v2a/io/checkpoint.h"
#include "v2a/flow/pipeline.h"
#include "v2a/io/media.h"
#include "v2a/score/labels.h"
#include "v2a/core/distributed.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

struct GenerateArgs {
    std::string model, vae, video, prompt, negative, out, manifest, out_dir, split = "test";
    std::string video_source = "own";  // --manifest: own | shuffled | none (controls for onset F1)
    bool no_text = false;
    bool reconstruct = false;   // --manifest: the ground truth through VAE + vocoder (the ceiling), no generation
    double duration = 0.0, cfg = 4.5;
    int steps = 25, batch = 8, vocoder_iterations = 32, samples_per_clip = 0;
    uint64_t seed = 42;
    std::string dtype = "fp32";
    std::vector<std::string> features;  // MMAudio feature files (converted MMAudio network)
};

bool model_takes_features(const std::string& model) {
    return flow::takes_precomputed_features(flow::GeneratorConfig::from_json(io::read_checkpoint_config(model)));
}

// MMAudio's extracted features per clip through a converted MMAudio network; the VAE may be ours or a
// converted MMAudio VAE. --features: one file -> --out, several -> --out-dir/<file stem>.wav, all from
// --seed. --manifest (its `features` column, for such a network): --out-dir/<id>.wav, clip i of the split
// from --seed + i, split over processes like video generation.
void run_features(const GenerateArgs& args) {
    V2A_CHECK(args.video.empty() && args.prompt.empty() && args.negative.empty() && !args.no_text &&
                  args.video_source == "own" && !args.reconstruct && args.samples_per_clip == 0,
              Usage, "generate: a network converted from MMAudio reads feature files (--features, or a manifest's "
                     "features column): no --video, prompts, --no-text, --video-source, --reconstruct or "
                     "--samples-per-clip (the text is in the features)");
    V2A_CHECK(args.features.empty() || args.manifest.empty(), Usage, "generate: give --features or --manifest, not both");
    std::vector<flow::FeatureJob> jobs;
    if (!args.manifest.empty()) {
        V2A_CHECK(!args.out_dir.empty(), Usage, "generate: --manifest needs --out-dir");
        const auto split = io::parse_split(args.split);
        V2A_CHECK(split.has_value(), Usage, "generate: --split must be train, val or test");
        jobs = flow::feature_jobs(io::read_manifest(args.manifest), *split, args.out_dir, args.seed);
    } else {
        V2A_CHECK(args.features.size() == 1 ? !args.out.empty() : !args.out_dir.empty(), Usage,
                  "generate: one --features file needs --out FILE, several need --out-dir");
        for (const auto& file : args.features) {
            const std::filesystem::path out =
                args.features.size() == 1
                    ? std::filesystem::path(args.out)
                    : std::filesystem::path(args.out_dir) / (std::filesystem::path(file).stem().string() + ".wav");
            jobs.push_back({std::filesystem::path(file).stem().string(), file, out, args.seed});
        }
    }
    // The Pipeline checks the VAE against the network and picks the vocoder's mel setting from the VAE.
    audio::GriffinLimOptions gl;
    gl.iterations = args.vocoder_iterations;
    auto pipeline = flow::Pipeline::load(args.model, args.vae, gl);
    auto& generator = pipeline.generator();
    flow::GenerateOptions go;
    go.sampler.steps = args.steps;
    go.sampler.cfg_strength = args.cfg;
    go.seed = args.seed;
    go.precision = parse_precision(args.dtype);
    if (!args.out_dir.empty()) {
        fs::ensure_dir(args.out_dir);
        fs::remove_stale_temp_files(args.out_dir);  // a killed earlier run's half-written files
    }
    for (size_t j = 0; j < jobs.size(); ++j) {
        if (int64_t(j) % dist::world_size() != dist::rank()) continue;  // data parallel: round robin
        const auto& job = jobs[j];
        const auto clip = flow::read_feature_clip(job.features, generator);
        go.seed = job.seed;
        Progress progress("generate " + job.id, args.steps, "step");
        const auto latents =
            flow::sample_from_features(generator, clip, go, [&](const flow::StepInfo&) { progress.advance(); });
        progress.finish();
        const auto wav = pipeline.latents_to_audio(latents);
        io::write_audio_file(job.out, flow::to_audio(wav[0], pipeline.sample_rate()));
        std::printf("generate: %s (%.2f s) -> %s\n", job.features.c_str(), clip.duration, job.out.c_str());
    }
    dist::barrier();
}

// K samples per clip (--samples-per-clip): sample k of a clip uses seed + k and the clip's own noise
// stream (flow::noise_seed), so a sample is the same whatever batch it lands in and matches the
// candidates `v2a pairs` draws. Files D/<sample_id>.wav; existing ones are kept (resumable).
void generate_samples(const GenerateArgs& args, flow::Pipeline& pipeline, flow::GenerateOptions go,
                      const io::ClipDataset& clips) {
    const std::filesystem::path dir = args.out_dir;
    std::vector<score::SampleRecord> samples;
    std::vector<std::pair<int64_t, size_t>> pending;   // (clip row, index into samples)
    for (int64_t i = 0; i < clips.size(); ++i) {
        for (int k = 0; k < args.samples_per_clip; ++k) {
            score::SampleRecord s;
            s.clip_id = clips[i].id;
            s.seed = args.seed + uint64_t(k);
            s.sample_id = score::sample_id(s.clip_id, s.seed);
            s.audio = dir / (s.sample_id + ".wav");
            if (!std::filesystem::exists(s.audio)) pending.emplace_back(i, samples.size());
            samples.push_back(std::move(s));
        }
    }
    // Data parallel: every rank must see the same pending list before any of them writes a file.
    dist::barrier();
    if (pending.size() < samples.size())
        std::printf("generate: %zu of %zu samples already exist, generating the other %zu\n",
                    samples.size() - pending.size(), samples.size(), pending.size());
    Progress progress("generate", int64_t(pending.size()), "sample");
    for (size_t b = 0; b < pending.size(); b += size_t(args.batch)) {
        // Rank r makes batches r, r + N, ...: a sample's noise is its own (clip, seed), whoever makes it.
        if (int64_t(b / size_t(args.batch)) % dist::world_size() != dist::rank()) continue;
        const size_t e = std::min(pending.size(), b + size_t(args.batch));
        std::vector<int64_t> rows;
        std::vector<uint64_t> noise;
        for (size_t k = b; k < e; ++k) {
            const auto& s = samples[pending[k].second];
            rows.push_back(pending[k].first);
            noise.push_back(flow::noise_seed(s.clip_id, s.seed));
        }
        auto captions = args.prompt.empty() ? clips.captions(rows) : std::vector<std::string>(rows.size(), args.prompt);
        go.negative = args.negative.empty() ? std::vector<std::string>{}
                                            : std::vector<std::string>(rows.size(), args.negative);
        auto wav = pipeline.latents_to_audio(pipeline.sample_latents_seeded(clips.frames(rows), captions, noise, go));
        for (size_t k = b; k < e; ++k) {
            io::write_audio_file(samples[pending[k].second].audio,
                                 flow::to_audio(wav[int64_t(k - b)], pipeline.sample_rate()));
        }
        progress.advance(int64_t(e - b));
    }
    progress.finish();
    dist::barrier();  // every rank's files exist before the list names them
    if (!dist::is_writer()) return;
    score::write_samples(dir / "samples.csv", samples);
    std::printf("generate: %zu samples (%d per clip, seeds %llu..%llu) in %s, listed in %s\n", samples.size(),
                args.samples_per_clip, (unsigned long long)args.seed,
                (unsigned long long)(args.seed + uint64_t(args.samples_per_clip) - 1), dir.c_str(),
                (dir / "samples.csv").c_str());
}

// For --video-source shuffled: row i is fed the video of row source[i] != i (a seeded derangement),
// so each clip keeps its own caption and output name but its audio cannot follow its own video.
std::vector<int64_t> shuffled_rows(int64_t n, uint64_t seed) {
    std::vector<int64_t> source(static_cast<size_t>(n));
    std::iota(source.begin(), source.end(), 0);
    if (n < 2) return source;
    std::mt19937_64 rng(seed);
    std::shuffle(source.begin(), source.end(), rng);
    for (int64_t i = 0; i < n; ++i) {  // fix the fixed points by swapping with a neighbour
        if (source[size_t(i)] == i) std::swap(source[size_t(i)], source[size_t((i + 1) % n)]);
    }
    return source;
}

void run(const GenerateArgs& args) {
    V2A_CHECK(!dist::active() || (!args.manifest.empty() && args.features.empty()), Usage,
              "generate: only --manifest generation is split over processes (", dist::describe(), ")");
    if (!args.features.empty() || (!args.manifest.empty() && model_takes_features(args.model))) return run_features(args);
    V2A_CHECK(args.video.empty() || args.manifest.empty(), Usage, "generate: give --video or --manifest, not both");
    V2A_CHECK(args.samples_per_clip == 0 || !args.manifest.empty(), Usage,
              "generate: --samples-per-clip needs --manifest and --out-dir");
    V2A_CHECK(args.video_source == "own" || args.video_source == "shuffled" || args.video_source == "none", Usage,
              "generate: --video-source must be own, shuffled or none, got '", args.video_source, "'");
    V2A_CHECK((args.video_source == "own" && !args.no_text) || (!args.manifest.empty() && args.samples_per_clip == 0),
              Usage, "generate: --video-source and --no-text apply to --manifest generation (without --samples-per-clip)");
    audio::GriffinLimOptions gl;
    gl.iterations = args.vocoder_iterations;
    auto pipeline = flow::Pipeline::load(args.model, args.vae, gl);
    auto& generator = pipeline.generator();
    const double duration = args.duration > 0 ? args.duration : generator->duration();
    if (std::abs(duration - generator->duration()) > 1e-9) generator->set_duration(duration);
    flow::GenerateOptions go;
    go.sampler.steps = args.steps;
    go.sampler.cfg_strength = args.cfg;
    go.seed = args.seed;
    go.precision = parse_precision(args.dtype);
    const int frame_size = generator->config().frame_size;

    if (args.manifest.empty()) {  // one clip
        V2A_CHECK(!args.out.empty(), Usage, "generate: --out FILE is required");
        torch::Tensor frames;
        if (!args.video.empty()) {
            io::VideoDecodeOptions vo;
            vo.fps = 25.0;
            vo.width = vo.height = frame_size;
            vo.duration = duration;
            frames = io::decode_video(args.video, vo).frames.unsqueeze(0);
        } else {
            V2A_CHECK(!args.prompt.empty(), Usage, "generate: without --video a --prompt is required (text-to-audio)");
        }
        if (!args.negative.empty()) go.negative = {args.negative};
        Progress progress("generate", args.steps, "step");
        auto wav = pipeline.generate(frames, {args.prompt}, go, [&](const flow::StepInfo&) { progress.advance(); });
        progress.finish();
        auto audio = flow::to_audio(wav[0], pipeline.sample_rate());
        std::filesystem::path out = args.out;
        if (out.extension() == ".mp4") {
            auto wav_path = out;
            wav_path.replace_extension(".wav");
            io::write_audio_file(wav_path, audio);
            V2A_CHECK(!args.video.empty(), Usage, "generate: an .mp4 output needs --video (use .wav for text-to-audio)");
            io::mux_audio_into_video(args.video, audio, out);
            std::printf("generate: wrote %s and %s\n", wav_path.c_str(), out.c_str());
        } else {
            io::write_audio_file(out, audio);
            std::printf("generate: wrote %s\n", out.c_str());
        }
        return;
    }

    // A manifest split, in batches.
    V2A_CHECK(!args.out_dir.empty(), Usage, "generate: --manifest needs --out-dir");
    auto split = io::parse_split(args.split);
    V2A_CHECK(split.has_value(), Usage, "generate: --split must be train, val or test");
    DataArgs data;
    data.manifest = args.manifest;
    data.duration = duration;
    data.frame_size = frame_size;
    V2A_CHECK(!args.reconstruct || (args.video_source == "own" && !args.no_text && args.samples_per_clip == 0), Usage,
              "generate: --reconstruct writes the ground truth's round trip; no --video-source / --no-text / "
              "--samples-per-clip");
    auto clips = data.load(*split, !args.reconstruct, args.reconstruct, "generate");
    fs::ensure_dir(args.out_dir);
    fs::remove_stale_temp_files(args.out_dir);  // a killed earlier run's half-written files
    if (args.samples_per_clip > 0) {
        generate_samples(args, pipeline, go, clips);
        return;
    }
    const auto video_rows = shuffled_rows(clips.size(), 2020);
    Progress progress("generate", clips.size(), "clip");
    for (int64_t s = 0; s < clips.size(); s += args.batch) {
        // Data parallel: rank r makes batches r, r + N, ... (a batch's noise depends only on its start).
        if ((s / args.batch) % dist::world_size() != dist::rank()) continue;
        std::vector<int64_t> rows, frame_rows;
        for (int64_t i = s; i < std::min<int64_t>(clips.size(), s + args.batch); ++i) {
            rows.push_back(i);
            frame_rows.push_back(args.video_source == "shuffled" ? video_rows[size_t(i)] : i);
        }
        auto captions = args.no_text          ? std::vector<std::string>(rows.size(), "")
                        : args.prompt.empty() ? clips.captions(rows)
                                              : std::vector<std::string>(rows.size(), args.prompt);
        go.negative = args.negative.empty() ? std::vector<std::string>{}
                                            : std::vector<std::string>(rows.size(), args.negative);
        go.seed = args.seed + uint64_t(s);  // batch-dependent noise, reproducible for the same batch size
        torch::Tensor wav;
        if (args.reconstruct) {
            // The ceiling of every generator with this VAE and vocoder: the ground truth encoded (posterior
            // mean), decoded and vocoded, exactly as generated latents are turned into audio.
            torch::NoGradGuard no_grad;
            wav = pipeline.latents_to_audio(pipeline.audio_to_latents(clips.audio(rows)));
        } else {
            auto frames = args.video_source == "none" ? torch::Tensor() : clips.frames(frame_rows);
            wav = pipeline.generate(frames, captions, go);
        }
        for (size_t k = 0; k < rows.size(); ++k) {
            io::write_audio_file(std::filesystem::path(args.out_dir) / (clips[rows[k]].id + ".wav"),
                                 flow::to_audio(wav[int64_t(k)], pipeline.sample_rate()));
        }
        progress.advance(int64_t(rows.size()));
    }
    progress.finish();
    dist::barrier();
    if (dist::is_writer()) std::printf("generate: wrote %lld clips to %s\n", (long long)clips.size(), args.out_dir.c_str());
}

}  // namespace

void add_generate(CLI::App& app) {
    auto* cmd = app.add_subcommand("generate", "generate audio for a video (or a prompt), or a manifest split");
    auto a = std::make_shared<GenerateArgs>();
    cmd->add_option("--model", a->model, "generator checkpoint (generator.safetensors)")->required();
    cmd->add_option("--vae", a->vae, "VAE checkpoint: ours (v2a train-vae) or a converted MMAudio VAE (v2a convert)")->required();
    cmd->add_option("--video", a->video, "input video (any container FFmpeg reads); omit for text-to-audio");
    cmd->add_option("--features", a->features,
                    "MMAudio feature files (clip_features, sync_features, text_features) for a network converted "
                    "with v2a convert; --vae may then be a converted MMAudio VAE")
        ->check(CLI::ExistingFile);
    cmd->add_option("--prompt", a->prompt, "text prompt (optional with --video)");
    cmd->add_option("--negative-prompt", a->negative, "replaces the empty text in the unconditional CFG pass");
    cmd->add_option("--duration", a->duration, "seconds (default: the model's training duration)");
    cmd->add_option("--cfg", a->cfg, "classifier-free guidance strength")->capture_default_str();
    cmd->add_option("--steps", a->steps, "Euler steps")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_option("--dtype", a->dtype, "compute precision of the sampler: fp32 | bf16 (CPU autocast)")
        ->capture_default_str();
    cmd->add_option("--seed", a->seed, "noise seed")->capture_default_str();
    cmd->add_option("--out", a->out, "output .wav/.flac, or .mp4 (writes the .wav too and muxes it with --video)");
    cmd->add_option("--manifest", a->manifest, "generate for every clip of a manifest split instead");
    cmd->add_option("--split", a->split, "split of --manifest")->capture_default_str();
    cmd->add_option("--out-dir", a->out_dir, "folder for <id>.wav with --manifest");
    cmd->add_option("--batch", a->batch, "clips per batch with --manifest")->capture_default_str()->check(CLI::Range(1, 4096));
    cmd->add_option("--samples-per-clip", a->samples_per_clip,
                    "with --manifest: K samples per clip (seeds seed..seed+K-1) as <out-dir>/<clip>__s<seed>.wav "
                    "and <out-dir>/samples.csv; existing samples are kept")
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--video-source", a->video_source,
                    "--manifest: own video, shuffled (each clip gets another clip's video, a fixed derangement) "
                    "or none (null video: text-to-audio)")
        ->capture_default_str();
    cmd->add_flag("--reconstruct", a->reconstruct,
                  "--manifest: write each clip's ground truth through the VAE (posterior mean) and the vocoder instead "
                  "of generating: the ceiling any generator with this VAE and vocoder can reach");
    cmd->add_flag("--no-text", a->no_text, "--manifest: empty text for every clip (with --video-source none: unconditional)");
    cmd->add_option("--vocoder-iterations", a->vocoder_iterations, "Griffin-Lim iterations")->capture_default_str();
    cmd->callback([a] { run(*a); });
}

}  // namespace v2a::cli
