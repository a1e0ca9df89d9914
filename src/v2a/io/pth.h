// Reading PyTorch checkpoints (`torch.save`'s zip format, as MMAudio ships its .pth files) without
// Python: LibTorch's unpickler reads the archive, and the object is flattened to tensors by dotted path
// ({"weights": {"a.b": T}} -> "weights.a.b"). Non-tensor leaves (step counters, strings, optimizer
// hyper-parameters) are listed, not kept. Objects the unpickler cannot rebuild (arbitrary Python
// classes) give a v2a::Error(Data) naming the file.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "v2a/io/safetensors.h"

namespace v2a::io {

struct PthFile {
    TensorMap tensors;                       // dotted path -> tensor (CPU, contiguous, original dtype)
    std::vector<std::string> non_tensors;    // dotted paths of the leaves that are not tensors
};

/// Reads a torch.save file. Throws v2a::Error(IO) when it cannot be read, v2a::Error(Data) when it is
/// not a zip-format PyTorch file or holds objects LibTorch cannot unpickle.
PthFile load_pth(const std::filesystem::path& path);

/// The tensors under `prefix` (a dotted path, "" = all) with the prefix removed. Throws
/// v2a::Error(Data) naming the prefix and the top-level keys when nothing is under it.
TensorMap select_prefix(const TensorMap& tensors, const std::string& prefix, const std::string& what);

/// Removes DataParallel's "module." when every key starts with it (once: a model may hold a real
/// submodule named "module"). Returns whether it did.
bool strip_module_prefix(TensorMap& tensors);

}  // namespace v2a::io
