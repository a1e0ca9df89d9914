// `v2a train-judges`: trains the stand-in judges on the ground-truth TRAIN clips of a benchmark
// through the shared train::TrainLoop (lr warmup + cosine, grad clipping, JSONL, loss plot,
// checkpoints, exact resume), writes DIR/<kind>.safetensors and DIR/judges.json with each judge's
// quality on the held-out TEST clips. Never sees generated audio.
// Link note: this file uses v2a_train, which CMake links after v2a_judge only in the CLI (v2a_all).
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/judge/training.h"

namespace v2a::judge {

struct JudgeTrainOptions {
    std::filesystem::path out;
    std::vector<std::string> only;            // empty = every judge
    std::map<std::string, int64_t> steps;     // per kind; missing kinds use default_steps(kind)
    int64_t batch_size = 32;
    double lr = 2e-3;
    uint64_t seed = 0;
    bool resume = false;                      // continue DIR/runs/<kind>/checkpoint
    JudgeSetup setup;
    std::string data;                         // manifest path, recorded in judges.json
};

/// Default optimizer steps per judge (about 15 minutes for all five on 2 cores at 400 clips).
int64_t default_steps(const std::string& kind);

/// Trains the selected judges; returns the judges.json content (also written, merged with an
/// existing DIR/judges.json so `--only` keeps the other judges' entries).
nlohmann::json train_judges(const io::ClipDataset& train, const io::ClipDataset& val, const io::ClipDataset& test,
                            const JudgeTrainOptions& options);

}  // namespace v2a::judge
