// `v2a convert`: a PyTorch checkpoint of MMAudio's (its .pth files, or a safetensors state dict) -> a
// v2a safetensors file with the config v2a needs in its metadata.
//   network (mmaudio_small_16k.pth, ..., large_44k_v2): architecture read off the shapes
//     (model::infer_network_config), written as a v2a generator (keys "net.<MMAudio key>", every
//     condition stream precomputed: flow::GeneratorConfig::mmaudio) that load_generator reads;
//   VAE (v1-16.pth, v1-44.pth): MMAudio's own keys and weights as the checkpoint holds them, with
//     kind "mmaudio_vae" and the VAE options (audio::load_mmaudio_vae folds the weight norm).
// Wrappers are found and stripped ({"weights": ...}, {"generator": ...}, EMA dicts, "module."), or named
// with `key`. fp16 / bf16 / fp32 inputs; the output is fp32 unless keep_dtype.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace v2a::flow {

enum class CheckpointKind { Auto, Network, Vae };

struct ConvertOptions {
    CheckpointKind kind = CheckpointKind::Auto;
    std::string key;          // dotted path of the state dict inside the file ("" = find it)
    double duration = 8.0;    // seconds the network's sequence lengths are built for (MMAudio: 8)
    bool keep_dtype = false;  // write the tensors' own dtypes instead of fp32
};

struct ConvertReport {
    CheckpointKind kind = CheckpointKind::Auto;  // what the file was
    std::string wrapper;                         // the wrapper stripped ("" = none)
    size_t tensors = 0;                          // tensors written
    std::vector<std::string> ignored;            // derived buffers and non-tensor leaves left out
    std::vector<std::string> converted_dtypes;   // "name: BFloat16 -> Float" (first few)
    std::string config;                          // the config written (JSON)
};

/// Converts `in` (.pth zip or .safetensors) to `out` (written atomically). Throws v2a::Error(Model)
/// listing missing / unexpected / reshaped keys when the tensors do not map onto the architecture,
/// v2a::Error(Data) for a file that is not a checkpoint or whose kind cannot be told.
ConvertReport convert_mmaudio_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out,
                                         const ConvertOptions& options = {});

std::string to_string(CheckpointKind kind);
/// "auto" | "network" | "vae"; throws v2a::Error(Usage) otherwise.
CheckpointKind checkpoint_kind_from_string(const std::string& text);

}  // namespace v2a::flow
