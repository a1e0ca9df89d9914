#include "v2a/io/checkpoint.h"

#include <sstream>

#include "v2a/core/error.h"

namespace v2a::io {
namespace {

std::string shape_text(const torch::Tensor& t) {
    std::ostringstream out;
    out << "[";
    for (int64_t d = 0; d < t.dim(); ++d) out << (d ? ", " : "") << t.size(d);
    out << "]";
    return out.str();
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

int parse_version(const MetadataMap& metadata, const std::string& what) {
    const auto it = metadata.find(kCheckpointFormatKey);
    V2A_CHECK(it != metadata.end(), Data, what, ": not a v2a checkpoint (no \"", kCheckpointFormatKey,
              "\" in __metadata__); load plain weights with load_safetensors + load_state_dict");
    int version = 0;
    try {
        size_t used = 0;
        version = std::stoi(it->second, &used);
        V2A_CHECK(used == it->second.size(), Data, what, ": bad checkpoint format version '", it->second, "'");
    } catch (const std::logic_error&) {
        fail(ErrorKind::Data, what, ": bad checkpoint format version '", it->second, "'");
    }
    V2A_CHECK(version >= 1 && version <= kCheckpointFormatVersion, Data, what, ": checkpoint format version ",
              version, " is not supported (this build reads 1..", kCheckpointFormatVersion, ")");
    return version;
}

}  // namespace

std::string StateDictReport::describe() const {
    std::string out;
    if (!missing.empty()) out += "missing keys (" + std::to_string(missing.size()) + "): " + join(missing) + "\n";
    if (!unexpected.empty())
        out += "unexpected keys (" + std::to_string(unexpected.size()) + "): " + join(unexpected) + "\n";
    if (!mismatched.empty())
        out += "shape mismatches (" + std::to_string(mismatched.size()) + "): " + join(mismatched) + "\n";
    if (!out.empty()) out.pop_back();
    return out;
}

TensorMap state_dict(const torch::nn::Module& module) {
    TensorMap out;
    for (const auto& item : module.named_parameters(true)) out[item.key()] = item.value().detach();
    for (const auto& item : module.named_buffers(true)) out[item.key()] = item.value().detach();
    return out;
}

StateDictReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors, bool strict,
                                const std::string& what) {
    StateDictReport report;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (destination, source)
    std::map<std::string, torch::Tensor> targets;
    for (const auto& item : module.named_parameters(true)) targets[item.key()] = item.value();
    for (const auto& item : module.named_buffers(true)) targets[item.key()] = item.value();
    for (const auto& [name, target] : targets) {
        const auto it = tensors.find(name);
        if (it == tensors.end()) {
            report.missing.push_back(name);
        } else if (!it->second.defined() || it->second.sizes() != target.sizes()) {
            report.mismatched.push_back(name + ": module " + shape_text(target) + " vs file " +
                                        (it->second.defined() ? shape_text(it->second) : "undefined"));
        } else {
            copies.emplace_back(target, it->second);
        }
    }
    for (const auto& [name, tensor] : tensors)
        if (!targets.count(name)) report.unexpected.push_back(name);
    // Strict: check everything before touching the module, so a failed load changes nothing.
    if (strict && !report.ok()) fail(ErrorKind::Model, what, ": does not match the model:\n", report.describe());
    torch::NoGradGuard no_grad;
    for (auto& [target, source] : copies) target.copy_(source);
    report.n_loaded = copies.size();
    return report;
}

void save_checkpoint(const stdfs::path& path, const torch::nn::Module& module, const std::string& config_json,
                     const MetadataMap& extra_metadata) {
    MetadataMap metadata = extra_metadata;
    metadata[kCheckpointConfigKey] = config_json;
    metadata[kCheckpointFormatKey] = std::to_string(kCheckpointFormatVersion);
    metadata.emplace("format", "pt");
    save_safetensors(path, state_dict(module), metadata);
}

Checkpoint read_checkpoint(const stdfs::path& path) {
    SafetensorsFile file = load_safetensors(path);
    Checkpoint out;
    out.format_version = parse_version(file.metadata, path.string());
    const auto it = file.metadata.find(kCheckpointConfigKey);
    if (it != file.metadata.end()) out.config = it->second;
    out.tensors = std::move(file.tensors);
    out.metadata = std::move(file.metadata);
    return out;
}

std::string read_checkpoint_config(const stdfs::path& path) {
    const SafetensorsHeader header = read_safetensors_header(path);
    parse_version(header.metadata, path.string());
    const auto it = header.metadata.find(kCheckpointConfigKey);
    return it == header.metadata.end() ? std::string() : it->second;
}

StateDictReport load_checkpoint(const stdfs::path& path, torch::nn::Module& module, bool strict,
                                std::string* config_out) {
    Checkpoint checkpoint = read_checkpoint(path);
    StateDictReport report = load_state_dict(module, checkpoint.tensors, strict, path.string());
    if (config_out) *config_out = checkpoint.config;
    return report;
}

}  // namespace v2a::io
