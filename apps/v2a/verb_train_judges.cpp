// `v2a train-judges`: trains the stand-in judges (ImageBind / LAION-CLAP / Synchformer / PANNs /
// PaSST roles) on the ground-truth train clips of a manifest; see judge/train_judges.h.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/io/manifest.h"
#include "v2a/judge/train_judges.h"
#include "verbs.h"

namespace v2a::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// "500" (every judge) or "sync=800,cnn=200".
std::map<std::string, int64_t> parse_steps(const std::string& text) {
    std::map<std::string, int64_t> steps;
    if (text.empty()) return steps;
    for (const auto& item : split_list(text)) {
        const auto eq = item.find('=');
        try {
            if (eq == std::string::npos) {
                for (const auto& k : judge::judge_kinds()) steps[k] = std::stoll(item);
            } else {
                const std::string kind = item.substr(0, eq);
                judge::judge_role(kind);
                steps[kind] = std::stoll(item.substr(eq + 1));
            }
        } catch (const std::logic_error&) {
            fail(ErrorKind::Usage, "--steps '", text, "': expected N or judge=N,... (e.g. sync=800,cnn=200)");
        }
    }
    for (const auto& [k, n] : steps) V2A_CHECK(n >= 1, Usage, "--steps: ", k, " needs at least 1 step");
    return steps;
}

}  // namespace

void add_train_judges(CLI::App& app) {
    auto* cmd = app.add_subcommand("train-judges",
                                   "train the stand-in judges (ImageBind/CLAP/Synchformer/PANNs/PaSST roles) on the "
                                   "ground-truth train clips; writes DIR/<judge>.safetensors and DIR/judges.json");
    struct Args {
        std::string data, out, only, steps, cache;
        uint64_t seed = 0;
        int64_t batch = 32;
        double lr = 2e-3;
        bool resume = false, mmaudio_grid = false, no_cache = false;
        double window = 2.0;
        int workers = 0;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--data", a->data, "benchmark manifest.csv")->required();
    cmd->add_option("--out", a->out, "output directory for the judges")->required();
    cmd->add_option("--only", a->only, "comma-separated subset: cnn,transformer,video_audio,text_audio,sync");
    cmd->add_option("--steps", a->steps, "optimizer steps: N for every judge or judge=N,... (default per judge)");
    cmd->add_option("--seed", a->seed, "seed")->capture_default_str();
    cmd->add_option("--batch", a->batch, "mini-batch size")->capture_default_str();
    cmd->add_option("--lr", a->lr, "peak learning rate (AdamW, warmup + cosine)")->capture_default_str();
    cmd->add_option("--sync-window", a->window, "sync judge window in seconds")->capture_default_str();
    cmd->add_flag("--mmaudio-grid", a->mmaudio_grid, "sync grid of MMAudio/av-benchmark (+-2 s, 0.2 s steps; needs long clips)");
    cmd->add_flag("--resume", a->resume, "continue interrupted runs from DIR/runs/<judge>/checkpoint");
    cmd->add_option("--cache", a->cache, "decoded-clip cache directory (default: <manifest folder>/cache)");
    cmd->add_flag("--no-cache", a->no_cache, "decode every clip without the cache");
    cmd->add_option("--workers", a->workers, "parallel clip decoders (0 = all cores)");
    cmd->callback([a] {
        judge::JudgeTrainOptions o;
        o.out = a->out;
        o.only = split_list(a->only);
        o.steps = parse_steps(a->steps);
        o.seed = a->seed;
        o.batch_size = a->batch;
        o.lr = a->lr;
        o.resume = a->resume;
        o.data = a->data;
        o.setup.sync_window = a->window;
        if (a->mmaudio_grid) o.setup.grid = judge::OffsetGrid::mmaudio();
        V2A_CHECK(a->batch >= 2, Usage, "--batch must be >= 2 (contrastive judges need negatives)");
        const auto manifest = io::read_manifest(a->data);
        io::ClipDatasetOptions d;
        d.frame_size = int(o.setup.frame_size);  // the judges' own input size: decode small
        d.workers = a->workers;
        if (!a->no_cache) d.cache_dir = a->cache.empty() ? manifest.path.parent_path() / "cache" : std::filesystem::path(a->cache);
        auto load = [&](io::Split s) {
            auto m = manifest.filter(s);
            V2A_CHECK(!m.rows.empty(), Data, a->data, ": has no ", io::split_name(s), " clips");
            return io::ClipDataset(m, d, std::string("train-judges ") + io::split_name(s));
        };
        const auto train = load(io::Split::Train), val = load(io::Split::Val), test = load(io::Split::Test);
        const auto summary = judge::train_judges(train, val, test, o);
        std::printf("%s\n", summary["judges"].dump(2).c_str());
        std::printf("wrote %s/judges.json\n", a->out.c_str());
    });
}

}  // namespace v2a::cli
