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

/// Removes a wrapper every key shares: one of `wrappers` ("weights", "model", "state_dict", "ema", ...)
/// as the first component, then DataParallel's "module.". Returns the wrapper path removed ("" if none).
std::string strip_common_wrapper(TensorMap& tensors, const std::vector<std::string>& wrappers);

}  // namespace v2a::io
