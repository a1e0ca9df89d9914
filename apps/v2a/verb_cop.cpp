// `v2a cop ...`: Chain-of-Perform, piano performance video to audio step by step (issue 18).
//   v2a cop train-roll   the Roll Predictor (5 frames -> 88 keys) on `v2a synth --task piano` data
//   v2a cop eval-roll    its frame-level P / R / Acc / F1 on a split, optionally the predicted rolls
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/safetensors.h"
#include "v2a/train/roll_trainer.h"
#include "verbs.h"

namespace v2a::cli {
namespace {

void print_eval(const char* what, const train::RollEval& e) {
    std::printf("%s: %lld frames; Audeo convention P %.3f R %.3f Acc %.3f F1 %.3f; mir_eval P %.3f R %.3f F1 %.3f\n",
                what, (long long)e.frames, e.audeo.precision, e.audeo.recall, e.audeo.accuracy, e.audeo.f1,
                e.mir_eval.precision, e.mir_eval.recall, e.mir_eval.f1);
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
