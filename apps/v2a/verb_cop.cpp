// `v2a cop ...`: Chain-of-Perform, piano performance video to audio step by step (issue 18).
//   v2a cop train-roll   the Roll Predictor (5 frames -> 88 keys) on `v2a synth --task piano` data
//   v2a cop eval-roll    its frame-level P / R / Acc / F1 on a split, optionally the predicted rolls
//   v2a cop audeo        the Audeo-style baseline: predicted roll -> notes -> FluidSynth's acoustic grand, scored
//                        against the ground-truth audio (frequency-domain SI-SDR); --true-roll: from the true roll
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"
#include "v2a/io/safetensors.h"
#include "v2a/metrics/sisdr.h"
#include "v2a/report/site.h"
#include "v2a/synth/piano.h"
#include "v2a/train/roll_trainer.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

void print_eval(const char* what, const train::RollEval& e) {
    std::printf("%s: %lld frames; Audeo convention P %.3f R %.3f Acc %.3f F1 %.3f; mir_eval P %.3f R %.3f F1 %.3f\n",
                what, (long long)e.frames, e.audeo.precision, e.audeo.recall, e.audeo.accuracy, e.audeo.f1,
                e.mir_eval.precision, e.mir_eval.recall, e.mir_eval.f1);
}

struct AudeoArgs {
    std::string data, model, split = "test", out_dir, out;
    double threshold = 0.4;
    int velocity = 80, min_frames = 2;
    bool true_roll = false;
};

// The Audeo-style pipeline (Roll Predictor -> MIDI -> synthesiser). A strong baseline HERE: the benchmark's
// audio was made by the same FluidSynth piano, so a right roll is most of the way to the right audio.
void run_audeo(const AudeoArgs& a) {
    const auto split = io::parse_split(a.split);
    V2A_CHECK(split.has_value(), Usage, "cop audeo: --split must be train, val or test");
    V2A_CHECK(a.true_roll || !a.model.empty(), Usage, "cop audeo: --model (a Roll Predictor) or --true-roll");
    const auto manifest = io::read_manifest(a.data);
    const auto clips = train::load_piano_frames(manifest, *split);
    std::optional<model::RollPredictor> net;
    if (!a.true_roll) net = train::load_roll_predictor(a.model);
    fs::ensure_dir(a.out_dir);
    std::vector<double> freq, time_sdr;
    std::vector<torch::Tensor> est_rolls, ref_rolls;
    nlohmann::json per_clip = nlohmann::json::object();
    for (size_t i = 0; i < clips.ids.size(); ++i) {
        const auto* row = manifest.find(clips.ids[i]);
        V2A_CHECK(row && row->audio, Data, a.data, ": clip '", clips.ids[i], "' has no ground-truth audio");
        const auto truth = io::decode_audio(*row->audio);
        const auto roll = a.true_roll ? clips.rolls[i] : (train::predict_roll(*net, clips.frames[i]) >= a.threshold).to(torch::kUInt8);
        synth::ClipConfig cfg;
        cfg.seconds = double(truth.samples.size()) / truth.sample_rate;
        cfg.sample_rate = truth.sample_rate;
        synth::PianoSpec spec;
        spec.notes = synth::roll_to_notes(roll, cfg.fps, a.velocity, a.true_roll ? 1 : a.min_frames);
        io::Audio audio{synth::render_piano_audio(spec, cfg), cfg.sample_rate};
        io::write_audio_file(std::filesystem::path(a.out_dir) / (clips.ids[i] + ".wav"), audio);
        const auto p = torch::from_blob(audio.samples.data(), {int64_t(audio.samples.size())}, torch::kFloat).clone();
        const auto t = torch::from_blob(const_cast<float*>(truth.samples.data()), {int64_t(truth.samples.size())},
                                        torch::kFloat).clone();
        const int64_t n = std::min(p.size(0), t.size(0));
        freq.push_back(metrics::stft_magnitude_si_sdr(p.narrow(0, 0, n), t.narrow(0, 0, n)).item<double>());
        time_sdr.push_back(metrics::si_sdr(p.narrow(0, 0, n), t.narrow(0, 0, n)).item<double>());
        per_clip[clips.ids[i]] = {{"freq_si_sdr", freq.back()}, {"si_sdr", time_sdr.back()}, {"notes", spec.notes.size()}};
        est_rolls.push_back(roll > 0);
        ref_rolls.push_back(clips.rolls[i] > 0);
    }
    const auto f = report::bootstrap_mean(freq, 0), s = report::bootstrap_mean(time_sdr, 0);
    metrics::FrameMetricsOptions audeo;
    audeo.convention = metrics::FrameConvention::Audeo;
    const auto roll_scores = metrics::frame_metrics(torch::cat(est_rolls), torch::cat(ref_rolls), audeo);
    std::printf("cop audeo (%s): %zu %s clips -> %s\n  frequency-domain SI-SDR %.2f dB [%.2f, %.2f], SI-SDR %.2f dB "
                "[%.2f, %.2f]; roll F1 (Audeo) %.3f\n",
                a.true_roll ? "ground-truth roll" : "predicted roll", clips.ids.size(), a.split.c_str(), a.out_dir.c_str(),
                f.mean, f.lo, f.hi, s.mean, s.lo, s.hi, roll_scores.f1);
    if (!a.out.empty()) {
        nlohmann::json j = {{"system", a.true_roll ? "audeo_style_true_roll" : "audeo_style"},
                            {"split", a.split},
                            {"clips", clips.ids.size()},
                            {"freq_si_sdr", {{"mean", f.mean}, {"lo", f.lo}, {"hi", f.hi}}},
                            {"si_sdr", {{"mean", s.mean}, {"lo", s.lo}, {"hi", s.hi}}},
                            {"roll_f1_audeo", roll_scores.f1},
                            {"note", "FluidSynth renders both the benchmark and this baseline: a strong baseline here"},
                            {"per_clip", per_clip}};
        fs::write_atomic(a.out, j.dump(2) + "\n");
    }
}

}  // namespace

void add_cop(CLI::App& app) {
    auto* cop = app.add_subcommand("cop", "Chain-of-Perform: piano performance video to audio (issue 18)");
    cop->require_subcommand(1);

    auto* tr = cop->add_subcommand("train-roll", "train the Roll Predictor (5 frames -> 88 keys; Audeo's Video2Roll role)");
    auto o = std::make_shared<train::RollTrainOptions>();
    tr->add_option("--data", o->manifest, "piano manifest (v2a synth --task piano)")->required()->check(CLI::ExistingFile);
    tr->add_option("--out", o->run_dir, "run folder (model.safetensors, result.json, metrics.jsonl)")->required();
    tr->add_option("--steps", o->steps, "optimizer updates")->capture_default_str();
    tr->add_option("--batch", o->batch_size, "frames per update")->capture_default_str();
    tr->add_option("--lr", o->lr, "peak learning rate (AdamW)")->capture_default_str();
    tr->add_option("--channels", o->model.channels, "stem width (stages C, 2C, 4C)")->capture_default_str();
    tr->add_option("--loss", o->loss, "mse (Audeo, on sigmoid outputs) | bce")->capture_default_str();
    tr->add_option("--threshold", o->threshold, "a key is predicted held when sigmoid >= this (Audeo 0.4)")
        ->capture_default_str();
    tr->add_option("--val-every", o->val_every, "updates between validations")->capture_default_str();
    tr->add_option("--max-train-clips", o->max_train_clips, "use only the first N train clips (0 = all)");
    tr->add_option("--max-val-clips", o->max_val_clips, "use only the first N val clips (0 = all)");
    tr->add_option("--seed", o->seed, "seed")->capture_default_str();
    tr->add_flag("--resume", o->resume, "continue exactly from <out>/checkpoint");
    tr->callback([o] {
        const auto r = train::train_roll_predictor(*o);
        print_eval("cop train-roll: val", r.val);
        std::printf("cop train-roll: %s (%.1f min)\n", r.model_path.c_str(), r.seconds / 60.0);
    });

    auto* au = cop->add_subcommand("audeo", "the Audeo-style baseline: Roll Predictor -> notes -> FluidSynth piano");
    auto b = std::make_shared<AudeoArgs>();
    au->add_option("--data", b->data, "piano manifest")->required()->check(CLI::ExistingFile);
    au->add_option("--model", b->model, "Roll Predictor (cop train-roll)");
    au->add_flag("--true-roll", b->true_roll, "use the ground-truth roll instead (the pipeline's own ceiling)");
    au->add_option("--split", b->split, "split")->capture_default_str();
    au->add_option("--out-dir", b->out_dir, "folder for <id>.wav")->required();
    au->add_option("--out", b->out, "summary JSON");
    au->add_option("--threshold", b->threshold, "sigmoid threshold")->capture_default_str();
    au->add_option("--velocity", b->velocity, "velocity of predicted notes (the roll has none)")->capture_default_str();
    au->add_option("--min-frames", b->min_frames, "drop predicted notes shorter than this many frames")->capture_default_str();
    au->callback([b] { run_audeo(*b); });

    auto* ev = cop->add_subcommand("eval-roll", "score a Roll Predictor on a split of a piano manifest");
    struct EvalArgs {
        std::string data, model, split = "test", out, rolls;
        double threshold = 0.4;
    };
    auto a = std::make_shared<EvalArgs>();
    ev->add_option("--data", a->data, "piano manifest")->required()->check(CLI::ExistingFile);
    ev->add_option("--model", a->model, "model.safetensors of cop train-roll")->required()->check(CLI::ExistingFile);
    ev->add_option("--split", a->split, "split")->capture_default_str();
    ev->add_option("--threshold", a->threshold, "sigmoid threshold")->capture_default_str();
    ev->add_option("--out", a->out, "write the scores as JSON here");
    ev->add_option("--rolls", a->rolls, "also write each clip's predicted roll as <dir>/<id>.roll.safetensors");
    ev->callback([a] {
        const auto split = io::parse_split(a->split);
        V2A_CHECK(split.has_value(), Usage, "cop eval-roll: --split must be train, val or test");
        auto net = train::load_roll_predictor(a->model);
        const auto clips = train::load_piano_frames(io::read_manifest(a->data), *split);
        const auto e = train::evaluate_roll_predictor(net, clips, a->threshold);
        print_eval(("cop eval-roll: " + a->split).c_str(), e);
        if (!a->out.empty()) {
            auto j = e.to_json();
            j["model"] = a->model;
            j["split"] = a->split;
            j["threshold"] = a->threshold;
            fs::write_atomic(a->out, j.dump(2) + "\n");
        }
        if (!a->rolls.empty()) {
            fs::ensure_dir(a->rolls);
            for (size_t i = 0; i < clips.ids.size(); ++i)
                io::save_safetensors(std::filesystem::path(a->rolls) / (clips.ids[i] + ".roll.safetensors"),
                                     {{"probability", train::predict_roll(net, clips.frames[i])}});
        }
    });
}

}  // namespace v2a::cli
