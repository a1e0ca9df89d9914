#include "v2a/judge/train_judges.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/judge/judges.h"
#include "v2a/train/train_loop.h"

namespace v2a::judge {

namespace stdfs = std::filesystem;

int64_t default_steps(const std::string& kind) {
    if (kind == kCnn) return 400;
    if (kind == kTransformer) return 600;
    if (kind == kVideoAudio) return 800;
    if (kind == kTextAudio) return 500;
    if (kind == kSync) return 1200;
    judge_role(kind);  // throws on an unknown name
    return 0;
}

namespace {

int64_t count_parameters(torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
}

nlohmann::json train_one(const std::string& kind, const io::ClipDataset& train, const io::ClipDataset& val,
                         const io::ClipDataset& test, const JudgeTrainOptions& options) {
    torch::manual_seed(options.seed);
    auto module = new_judge(kind, train, options.setup);
    const int64_t steps = options.steps.count(kind) ? options.steps.at(kind) : default_steps(kind);
    const auto items = trainable_indices(kind, train);
    const int64_t batch = std::min<int64_t>(options.batch_size, int64_t(items.size()));
    train::BatchSampler sampler(int64_t(items.size()), batch, options.seed);
    torch::optim::AdamW optimizer(module->parameters(),
                                  torch::optim::AdamWOptions(options.lr).weight_decay(1e-4).betas({0.9, 0.98}));
    train::TrainLoopOptions lo;
    lo.name = "judge " + kind;
    lo.run_dir = options.out / "runs" / kind;
    lo.steps = steps;
    lo.log_every = 10;
    lo.val_every = std::max<int64_t>(1, steps / 5);
    lo.checkpoint_every = std::max<int64_t>(1, steps / 4);
    lo.grad_clip = 1.0;
    lo.ema_decay = 0.0;  // short runs: EMA would lag the final weights
    lo.schedule.base_lr = options.lr;
    lo.schedule.warmup_steps = std::min<int64_t>(50, steps / 10);
    lo.schedule.kind = train::LrSchedule::Kind::Cosine;
    lo.schedule.total_steps = steps;
    lo.schedule.min_lr = options.lr * 0.05;
    lo.resume = options.resume;
    lo.seed = options.seed;
    lo.config_json = module->config().to_json();
    train::TrainLoop loop(lo, *module, optimizer, &sampler);
    const auto start = std::chrono::steady_clock::now();
    loop.run(
        [&](int64_t step, torch::Generator& loop_gen) {
            // Data parallel: each rank trains its slice of the batch with augmentation of its own (the
            // contrastive judges then see N smaller batches: not the one-process run, docs/DISTRIBUTED.md).
            torch::Generator rank_gen = at::detail::createCPUGenerator(dist::rank_seed(options.seed, step));
            torch::Generator& gen = dist::active() ? rank_gen : loop_gen;
            std::vector<int64_t> idx;
            for (int64_t i : dist::shard_rows(sampler.next(), "--batch")) idx.push_back(items[size_t(i)]);
            std::map<std::string, double> metrics;
            auto loss = judge_loss(*module, train, idx, gen, &metrics);
            return train::StepResult{loss, metrics, int64_t(idx.size())};
        },
        [&] { return std::map<std::string, double>{{"loss", validation_loss(*module, val)}}; });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    module->eval();
    const auto path = options.out / (kind + ".safetensors");
    if (dist::is_writer()) save_judge(path, *module);
    dist::barrier();
    V2A_LOG_INFO("judge %s: scoring on %lld held-out clips", kind.c_str(), (long long)test.size());
    nlohmann::json entry = {{"file", path.filename().string()},
                            {"stand_in_for", judge_role(kind)},
                            {"steps", steps},
                            {"batch_size", batch},
                            {"train_clips", int64_t(items.size())},
                            {"parameters", count_parameters(*module)},
                            {"train_seconds", seconds},
                            {"run_dir", lo.run_dir.string()},
                            {"test", judge_quality(*module, test)}};
    V2A_LOG_INFO("judge %s: %s", kind.c_str(), entry["test"].dump().c_str());
    return entry;
}

}  // namespace

nlohmann::json train_judges(const io::ClipDataset& train, const io::ClipDataset& val, const io::ClipDataset& test,
                            const JudgeTrainOptions& options) {
    V2A_CHECK(!options.out.empty(), Usage, "train-judges: an output directory is required");
    std::vector<std::string> kinds = options.only.empty() ? judge_kinds() : options.only;
    for (const auto& k : kinds) judge_role(k);  // unknown names fail before any training
    fs::ensure_dir(options.out);
    const auto summary_path = options.out / "judges.json";
    nlohmann::json summary = {{"judges", nlohmann::json::object()}};
    if (stdfs::exists(summary_path)) {
        try {
            summary = nlohmann::json::parse(fs::read_text(summary_path));
        } catch (const nlohmann::json::exception&) {
            V2A_LOG_WARN("train-judges: %s is not valid JSON; starting a new summary", summary_path.string().c_str());
        }
    }
    summary["note"] =
        "Stand-in judges: small models trained only on the benchmark's ground-truth train clips, in the roles of "
        "ImageBind, LAION-CLAP, Synchformer, PANNs and PaSST. Test numbers are on the held-out test split.";
    summary["data"] = options.data;
    summary["seed"] = options.seed;
    summary["train_clips"] = train.size();
    summary["test_clips"] = test.size();
    for (const auto& kind : kinds) {
        summary["judges"][kind] = train_one(kind, train, val, test, options);
        if (dist::is_writer()) fs::write_atomic(summary_path, summary.dump(2) + "\n");  // after each judge: a crash keeps finished ones
    }
    return summary;
}

}  // namespace v2a::judge
