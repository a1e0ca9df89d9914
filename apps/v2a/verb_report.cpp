// `v2a report`: the results as a static site that opens from disk (report/site.h): clips side by side
// with each system's audio and spectrogram, metric tables with intervals, result tables, curves and
// AudioScore's calibration.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "v2a/report/site.h"
#include "verbs.h"

namespace v2a::cli {

void add_report(CLI::App& app) {
    auto* cmd = app.add_subcommand("report", "write a static results site: clips x systems, tables, curves");
    auto o = std::make_shared<report::SiteOptions>();
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto no_gt = std::make_shared<bool>(false);
    cmd->add_option("--runs", *inputs,
                    "systems and runs, each [name=]path: an eval JSON (v2a eval), a folder of generated audio "
                    "(its <folder>.json eval beside it is read), or a training/DPO run folder (metrics.jsonl: curves)");
    cmd->add_option("--manifest", o->manifest, "the clips' manifest (videos, captions, ground-truth audio)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--out", o->out, "site folder (index.html, clips_<k>.html, media/, curves/)")->required();
    cmd->add_option("--split", o->split, "the clips' split")->capture_default_str();
    cmd->add_option("--clips", o->clips, "clips shown (the first of the split every system has)")->capture_default_str();
    cmd->add_option("--clip-ids", o->clip_ids, "exactly these clips, in this order");
    cmd->add_option("--page-size", o->page_size, "clip rows per page")->capture_default_str();
    cmd->add_option("--tables", o->tables, "result tables (docs/results/*.json rows: system, metrics, vs_base...)");
    cmd->add_option("--audioscore", o->audioscore, "AudioScore report (<model>.report.json) or demo.json");
    cmd->add_option("--title", o->title, "page title")->capture_default_str();
    cmd->add_flag("--no-ground-truth", *no_gt, "no ground-truth column");
    cmd->callback([o, inputs, no_gt] {
        o->ground_truth = !*no_gt;
        for (const auto& spec : *inputs) {
            const auto c = report::classify_input(spec);
            if (c.kind == report::InputKind::Run) o->runs.push_back(c.run);
            else o->systems.push_back(c.system);
        }
        const auto s = report::write_site(*o);
        std::printf("report: %lld clips x %zu systems on %lld page(s), %lld curves, %lld media files written -> %s\n",
                    (long long)s.clips, o->systems.size() + (o->ground_truth ? 1 : 0), (long long)s.pages,
                    (long long)s.curves, (long long)s.media_files, s.index.c_str());
    });
}

}  // namespace v2a::cli
