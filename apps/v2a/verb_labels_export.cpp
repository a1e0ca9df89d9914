// `v2a labels export`: the ratings collected by `v2a serve` as a labels file (CSV or JSONL) for
// `v2a audioscore train` and `v2a pairs --human-labels`; optionally the A/B comparisons as CSV.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "v2a/serve/label_export.h"
#include "verbs.h"

namespace v2a::cli {

void add_labels_export(CLI::App& labels) {
    auto* cmd = labels.add_subcommand("export", "write the labels of a v2a serve database as CSV or JSONL");
    auto o = std::make_shared<serve::LabelExportOptions>();
    cmd->add_option("--db", o->db, "database written by v2a serve")->required()->check(CLI::ExistingFile);
    cmd->add_option("--out", o->out, "labels.csv (clip_id,label,annotator,time,version,response_ms) or labels.jsonl")
        ->required();
    cmd->add_option("--comparisons", o->comparisons_out, "also write the A/B comparisons to this CSV");
    cmd->callback([o] {
        const auto s = serve::export_labels(*o);
        std::printf("labels export: %zu labels from %zu annotators -> %s\n", s.labels, s.annotators, o->out.c_str());
        if (!o->comparisons_out.empty())
            std::printf("labels export: %zu comparisons -> %s\n", s.comparisons, o->comparisons_out.c_str());
    });
}

}  // namespace v2a::cli
