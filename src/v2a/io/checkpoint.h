// Model checkpoints: a module's parameters and buffers as one safetensors file, with the resolved
// config (JSON text) and a format version in "__metadata__", so a checkpoint alone says how to
// rebuild its network. Keys are the module's registered names (= the Python state_dict keys).
#pragma once
#include <torch/nn/module.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "v2a/io/safetensors.h"

namespace v2a::io {

/// Bumped when the layout of a checkpoint changes; older readers refuse newer files.
constexpr int kCheckpointFormatVersion = 1;
constexpr const char* kCheckpointConfigKey = "v2a_config";
constexpr const char* kCheckpointFormatKey = "v2a_format";

/// Parameters and buffers by their full dotted names (recursive), detached, sharing storage.
TensorMap state_dict(const torch::nn::Module& module);

/// What did not line up between a module and a set of tensors.
struct StateDictReport {
    std::vector<std::string> missing;      // in the module, not in the tensors
    std::vector<std::string> unexpected;   // in the tensors, not in the module
    std::vector<std::string> mismatched;   // "name: module [a, b] vs file [c, d]"
    size_t n_loaded = 0;
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    /// One line per problem kind, for errors and logs.
    std::string describe() const;
};

/// Copies `tensors` into the module's parameters and buffers (dtype/device converted by copy_).
/// strict: any missing / unexpected / shape-mismatched key throws v2a::Error(Model) listing them
/// all, naming `what`, and the module is left unchanged. Non-strict: loads every matching key and
/// returns the lists.
StateDictReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors, bool strict = true,
                                const std::string& what = "state dict");

struct Checkpoint {
    TensorMap tensors;
    std::string config;        // JSON text stored under "v2a_config" ("" if none)
    int format_version = 0;
    MetadataMap metadata;      // everything in "__metadata__"
};

/// Writes parameters + buffers atomically with `config_json` and the format version in the metadata
/// (plus "format": "pt", which Python's transformers expects of torch safetensors files).
void save_checkpoint(const stdfs::path& path, const torch::nn::Module& module, const std::string& config_json,
                     const MetadataMap& extra_metadata = {});

/// Reads a checkpoint; throws v2a::Error(Data) if it is not a v2a checkpoint or is from a newer format.
Checkpoint read_checkpoint(const stdfs::path& path);

/// The stored config only (reads the header, not the weights).
std::string read_checkpoint_config(const stdfs::path& path);

/// read_checkpoint + load_state_dict; `config_out` receives the stored config when not null.
StateDictReport load_checkpoint(const stdfs::path& path, torch::nn::Module& module, bool strict = true,
                                std::string* config_out = nullptr);

}  // namespace v2a::io
