// A tiny results set for the report tests: three test clips (mp4 + ground-truth wav), two systems
// (A: every clip, with an eval JSON; B: the first two clips, with an eval JSON whose onset F1 is
// higher on every clip), a DPO-like run (metrics.jsonl), a results table and an AudioScore report.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "support/temp_dir.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"
#include "v2a/report/site.h"

namespace v2a::report::test {

using nlohmann::json;

inline io::Audio tone(double hz, double seconds = 1.0) {
    io::Audio a;
    a.sample_rate = 16000;
    a.samples.resize(size_t(seconds * 16000));
    for (size_t i = 0; i < a.samples.size(); ++i)
        a.samples[i] = float(0.3 * std::sin(2 * M_PI * hz * double(i) / 16000.0));
    return a;
}

struct SiteFixture {
    v2a::test::TempDir dir;
    std::filesystem::path manifest, sys_a, sys_b, run, table, audioscore;
    std::vector<std::string> ids{"clip_a", "clip_b", "clip_c"};

    SiteFixture() {
        std::filesystem::create_directories(dir / "clips");
        std::string m = "id,video,caption,label,split,audio\n";
        for (size_t i = 0; i < ids.size(); ++i) {
            auto video = torch::full({25, 32, 48, 3}, 40 + 60 * int(i), torch::kUInt8);
            io::write_mp4(dir / "clips" / (ids[i] + ".mp4"), video, 25.0, tone(220.0 * double(i + 1)));
            io::write_audio_file(dir / "clips" / (ids[i] + ".wav"), tone(220.0 * double(i + 1)));
            m += ids[i] + ",clips/" + ids[i] + ".mp4,\"a <tone> & more\",tone,test,clips/" + ids[i] + ".wav\n";
        }
        manifest = dir / "manifest.csv";
        fs::write_atomic(manifest, m);

        sys_a = dir / "eval" / "sys_a";
        sys_b = dir / "eval" / "sys_b";
        std::filesystem::create_directories(sys_a);
        std::filesystem::create_directories(sys_b);
        json pa = json::object(), pb = json::object();
        for (size_t i = 0; i < ids.size(); ++i) {
            io::write_audio_file(sys_a / (ids[i] + ".wav"), tone(300.0 + 50.0 * double(i)));
            pa[ids[i]] = {{"onset_f1", 0.2 + 0.05 * double(i)}, {"desync_offsets", {0.1, -0.3}},
                          {"sim_quality", 0.5}};
            if (i < 2) {
                io::write_audio_file(sys_b / (ids[i] + ".wav"), tone(500.0 + 50.0 * double(i)));
                pb[ids[i]] = {{"onset_f1", 0.9 + 0.01 * double(i)}, {"desync_offsets", {0.0, 0.0}},
                              {"sim_quality", 0.6}};
            }
        }
        fs::write_atomic(dir / "eval" / "sys_a.json",
                         json{{"pred", sys_a.string()}, {"metrics", {{"fd_cnn", 12.5}, {"kl_cnn", nullptr}}},
                              {"per_clip", pa}}
                             .dump());
        fs::write_atomic(dir / "eval" / "sys_b.json",
                         json{{"pred", sys_b.string()}, {"metrics", {{"fd_cnn", 10.0}}}, {"per_clip", pb}}.dump());

        run = dir / "dpo_run";
        std::filesystem::create_directories(run);
        std::string lines;
        for (int s = 1; s <= 5; ++s) {
            lines += json{{"kind", "train"}, {"step", s}, {"loss", 1.0 / s}, {"implicit_acc", 0.1 * s},
                          {"gradient_factor", 0.5 - 0.05 * s}}
                         .dump() +
                     "\n";
            if (s % 2 == 0) lines += json{{"kind", "val"}, {"step", s}, {"heldout_flow_loss", 0.2 - 0.01 * s}}.dump() + "\n";
        }
        fs::write_atomic(run / "metrics.jsonl", lines);

        table = dir / "table.json";
        fs::write_atomic(table, json::array({json{{"system", "base"}, {"seeds", {0}},
                                                  {"metrics", {{"sim_quality", {{"mean", 0.7}, {"lo", 0.6}, {"hi", 0.8}}}}}},
                                             json{{"system", "dpo"},
                                                  {"seeds", {0, 1}},
                                                  {"metrics", {{"sim_quality", {{"mean", 0.75}, {"lo", 0.65}, {"hi", 0.85}}}}},
                                                  {"vs_base", {{"sim_quality", {{"delta", 0.05}, {"lo", 0.01}, {"hi", 0.09}}}}}}})
                                    .dump());
        audioscore = dir / "audioscore.report.json";
        json bins = json::array();
        for (int b = 0; b < 5; ++b)
            bins.push_back({{"lower", 0.2 * b}, {"upper", 0.2 * (b + 1)}, {"count", b == 0 ? 0 : 10},
                            {"confidence", 0.2 * b + 0.1}, {"accuracy", 0.2 * b + 0.05}});
        fs::write_atomic(audioscore, json{{"held_out", {{"n", 40}, {"accuracy", 0.6}, {"cross_entropy", 0.9},
                                                        {"ece", 0.05}, {"majority_accuracy", 0.5},
                                                        {"confusion", {{"labels", {"good", "medium", "bad"}},
                                                                       {"matrix", {{5, 2, 1}, {3, 10, 2}, {1, 4, 12}}}}},
                                                        {"reliability", bins}}}}
                                         .dump());
    }

    SiteOptions options(const std::string& out = "site") const {
        SiteOptions o;
        o.manifest = manifest;
        o.out = dir / out;
        o.systems = {classify_input("A=" + (dir / "eval" / "sys_a.json").string()).system,
                     classify_input(sys_b.string()).system};
        o.runs = {run};
        o.tables = {table};
        o.audioscore = audioscore;
        return o;
    }
};

}  // namespace v2a::report::test
