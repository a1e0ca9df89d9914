// Every `v2a <verb>` registers itself here; one file per verb (verb_<name>.cpp).
#pragma once

namespace CLI {
class App;
}

namespace v2a::cli {

void add_synth(CLI::App& app);
void add_demo(CLI::App& app);
void add_train_vae(CLI::App& app);
void add_train(CLI::App& app);
void add_generate(CLI::App& app);
void add_train_judges(CLI::App& app);
void add_eval(CLI::App& app);
void add_labels(CLI::App& app);
/// `labels export` (verb_labels_export.cpp), added to the `labels` command by add_labels.
void add_labels_export(CLI::App& labels);
void add_audioscore(CLI::App& app);
void add_pairs(CLI::App& app);
void add_dpo(CLI::App& app);
void add_ddpo(CLI::App& app);
void add_serve(CLI::App& app);
void add_convert(CLI::App& app);
void add_launch(CLI::App& app);
void add_report(CLI::App& app);
void add_cop(CLI::App& app);

}  // namespace v2a::cli
