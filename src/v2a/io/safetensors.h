// safetensors reader and writer (the Python <-> C++ weight interchange format).
//
// Layout: 8-byte little-endian u64 N | N bytes of UTF-8 JSON header | raw little-endian data.
// Header: {"__metadata__": {str: str} (optional), name: {"dtype", "shape", "data_offsets": [begin, end]}},
// offsets relative to the data section, which the tensors must cover exactly (no gaps, no overlap).
//
// Every problem with a file is a v2a::Error(Data) naming the file (and the tensor) and the problem.
// Files we write follow the reference library's conventions: compact JSON, "__metadata__" first,
// tensors in sorted-name order both in the header and in the data, header padded with spaces so the
// data section starts at a multiple of 8.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace v2a::io {

namespace stdfs = std::filesystem;

using TensorMap = std::map<std::string, torch::Tensor>;
using MetadataMap = std::map<std::string, std::string>;

struct SafetensorsFile {
    TensorMap tensors;       // CPU, contiguous, owning their memory
    MetadataMap metadata;    // "__metadata__" (empty when absent)
};

/// One tensor's entry in the header (no data read).
struct SafetensorsEntry {
    std::string name;
    std::string dtype;            // as in the file: "F32", "BF16", "U16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets relative to the data section
};

/// The validated header of a file: enough for config detection without touching tensor data.
struct SafetensorsHeader {
    std::vector<SafetensorsEntry> entries;  // sorted by name
    MetadataMap metadata;
    uint64_t header_size = 0;               // N
    uint64_t data_size = 0;                 // bytes after the header
    const SafetensorsEntry* find(const std::string& name) const;
};

/// Reads the whole file. Throws v2a::Error(IO) if it cannot be read, v2a::Error(Data) if it is not a
/// valid safetensors file or holds a dtype LibTorch 1.13 has no type for (U16/U32/U64, FP8).
SafetensorsFile load_safetensors(const stdfs::path& path);

/// Reads only the named tensors (each must exist); the rest of the data is never read.
TensorMap load_safetensors_subset(const stdfs::path& path, const std::vector<std::string>& names);

/// Parses an in-memory file image; `what` names it in error messages.
SafetensorsFile load_safetensors_from_buffer(const void* data, size_t size, const std::string& what = "<buffer>");

/// Reads and validates the header only (file size is checked against the offsets).
SafetensorsHeader read_safetensors_header(const stdfs::path& path);

/// Serializes to bytes (tensors are moved to CPU and made contiguous). Throws v2a::Error(Data) for a
/// dtype safetensors cannot represent through LibTorch (complex, quantized) or a bad name.
std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const MetadataMap& metadata = {});

/// Writes atomically (temp file + rename): a crash never leaves a half-written file.
void save_safetensors(const stdfs::path& path, const TensorMap& tensors, const MetadataMap& metadata = {});

/// safetensors dtype name for a torch dtype ("F32", ...); throws v2a::Error(Data) if none.
std::string safetensors_dtype_name(torch::ScalarType type);

/// Sharded checkpoints (`model.safetensors.index.json`: {"metadata": {...}, "weight_map": {name: file}}):
/// loads every shard named in the weight map (files relative to the index), checking each tensor is in
/// the shard the map says and that no tensor appears twice.
SafetensorsFile load_safetensors_sharded(const stdfs::path& index_path);

}  // namespace v2a::io
