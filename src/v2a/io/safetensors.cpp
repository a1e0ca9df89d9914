#include "v2a/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/text.h"
#include "v2a/core/fs.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

namespace v2a::io {
namespace {

using json = nlohmann::json;

// Same limit as the reference library: a larger header is a corrupt or hostile file.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DtypeInfo {
    const char* name;
    int itemsize;
    bool supported;              // LibTorch 1.13 has a tensor type for it
    torch::ScalarType type;      // valid when supported
};

// Every dtype the reference format defines that we can size; unsupported ones are named in the error.
const DtypeInfo kDtypes[] = {
    {"BOOL", 1, true, torch::kBool},     {"U8", 1, true, torch::kUInt8},
    {"I8", 1, true, torch::kInt8},       {"I16", 2, true, torch::kInt16},
    {"I32", 4, true, torch::kInt32},     {"I64", 8, true, torch::kInt64},
    {"F16", 2, true, torch::kHalf},      {"BF16", 2, true, torch::kBFloat16},
    {"F32", 4, true, torch::kFloat},     {"F64", 8, true, torch::kDouble},
    {"U16", 2, false, torch::kByte},     {"U32", 4, false, torch::kByte},
    {"U64", 8, false, torch::kByte},     {"F8_E5M2", 1, false, torch::kByte},
    {"F8_E4M3", 1, false, torch::kByte},
};

const DtypeInfo* find_dtype(const std::string& name) {
    for (const DtypeInfo& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

const char* json_type(const json& j) { return j.type_name(); }

std::string quote_name(const std::string& s) { return "'" + s + "'"; }

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

uint64_t as_unsigned(const json& j, const std::string& what, const std::string& tensor, const char* field) {
    V2A_CHECK(j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0), Data, what,
              ": tensor ", quote_name(tensor), ": ", field, " must hold non-negative integers, got ", j.dump());
    return j.get<uint64_t>();
}

/// Parses and validates a header. `data_size` = bytes after the header (the data section).
SafetensorsHeader parse_header(const uint8_t* text, uint64_t n, uint64_t data_size, const std::string& what) {
    const size_t bad = utf8_invalid_at(text, n);
    V2A_CHECK(bad == std::string::npos, Data, what, ": header is not valid UTF-8 (byte ", bad, " of the header)");

    // Track keys per JSON object to reject duplicates (nlohmann silently keeps the last one).
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
        } else if (event == json::parse_event_t::key && !open_objects.empty()) {
            const std::string key = parsed.get<std::string>();
            if (!open_objects.back().insert(key).second && duplicate.empty()) duplicate = key;
        }
        return true;
    };
    json root;
    try {
        root = json::parse(text, text + n, callback, /*allow_exceptions=*/true);
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, what, ": header is not JSON (", e.what(), ")");
    }
    V2A_CHECK(duplicate.empty(), Data, what, ": header has the key ", quote_name(duplicate), " more than once");
    V2A_CHECK(root.is_object(), Data, what, ": header is not a JSON object (it is ", json_type(root), ")");

    SafetensorsHeader header;
    header.header_size = n;
    header.data_size = data_size;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& name = it.key();
        const json& value = it.value();
        if (name == "__metadata__") {
            V2A_CHECK(value.is_object(), Data, what, ": __metadata__ must be an object of strings, got ",
                      json_type(value));
            for (auto m = value.begin(); m != value.end(); ++m) {
                V2A_CHECK(m.value().is_string(), Data, what, ": __metadata__ value of ", quote_name(m.key()),
                          " must be a string, got ", json_type(m.value()));
                header.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        V2A_CHECK(value.is_object(), Data, what, ": tensor ", quote_name(name), ": entry must be an object, got ",
                  json_type(value));
        SafetensorsEntry entry;
        entry.name = name;
        const auto dtype = value.find("dtype");
        V2A_CHECK(dtype != value.end() && dtype->is_string(), Data, what, ": tensor ", quote_name(name),
                  ": missing string field \"dtype\"");
        entry.dtype = dtype->get<std::string>();
        const DtypeInfo* info = find_dtype(entry.dtype);
        V2A_CHECK(info != nullptr, Data, what, ": tensor ", quote_name(name), ": unknown dtype ", quote_name(entry.dtype));

        const auto shape = value.find("shape");
        V2A_CHECK(shape != value.end() && shape->is_array(), Data, what, ": tensor ", quote_name(name),
                  ": missing array field \"shape\"");
        uint64_t n_elements = 1;
        for (const json& dim : *shape) {
            const uint64_t d = as_unsigned(dim, what, name, "shape");
            V2A_CHECK(d <= uint64_t(INT64_MAX) && !__builtin_mul_overflow(n_elements, d, &n_elements), Data, what,
                      ": tensor ", quote_name(name), ": shape ", shape->dump(), " overflows");
            entry.shape.push_back(int64_t(d));
        }
        const auto offsets = value.find("data_offsets");
        V2A_CHECK(offsets != value.end() && offsets->is_array() && offsets->size() == 2, Data, what,
                  ": tensor ", quote_name(name), ": \"data_offsets\" must be [begin, end]");
        entry.begin = as_unsigned((*offsets)[0], what, name, "data_offsets");
        entry.end = as_unsigned((*offsets)[1], what, name, "data_offsets");
        V2A_CHECK(entry.begin <= entry.end, Data, what, ": tensor ", quote_name(name), ": data_offsets [", entry.begin,
                  ", ", entry.end, "] end before they begin");
        V2A_CHECK(entry.end <= data_size, Data, what, ": tensor ", quote_name(name), ": data_offsets [", entry.begin,
                  ", ", entry.end, "] out of range (the data section has ", data_size, " bytes)");
        uint64_t n_bytes = 0;
        V2A_CHECK(!__builtin_mul_overflow(n_elements, uint64_t(info->itemsize), &n_bytes) &&
                      n_bytes == entry.end - entry.begin,
                  Data, what, ": tensor ", quote_name(name), ": shape ", shape->dump(), " of ", entry.dtype, " needs ",
                  n_elements, " x ", info->itemsize, " bytes but data_offsets [", entry.begin, ", ", entry.end,
                  "] span ", entry.end - entry.begin);
        header.entries.push_back(std::move(entry));
    }

    // The tensors must tile the data section exactly, in offset order.
    std::vector<const SafetensorsEntry*> by_offset;
    for (const auto& e : header.entries) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t expected = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const SafetensorsEntry* e : by_offset) {
        V2A_CHECK(e->begin >= expected, Data, what, ": tensor ", quote_name(e->name), " [", e->begin, ", ", e->end,
                  ") overlaps tensor ", quote_name(previous ? previous->name : ""), " [", previous ? previous->begin : 0,
                  ", ", expected, ")");
        V2A_CHECK(e->begin == expected, Data, what, ": gap in the data section: bytes [", expected, ", ", e->begin,
                  ") before tensor ", quote_name(e->name), " belong to no tensor");
        expected = e->end;
        previous = e;
    }
    V2A_CHECK(expected == data_size, Data, what, ": the data section has ", data_size, " bytes but the tensors cover ",
              expected, " (", data_size - expected, " trailing bytes belong to no tensor)");
    std::sort(header.entries.begin(), header.entries.end(),
              [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
    return header;
}

/// Checks the 8-byte prefix against the total size; returns N.
uint64_t header_length(const uint8_t* prefix, uint64_t total_size, const std::string& what) {
    V2A_CHECK(total_size >= 8, Data, what, ": file too short (", total_size,
              " bytes; a safetensors file starts with an 8-byte header length)");
    const uint64_t n = read_u64_le(prefix);
    V2A_CHECK(n <= kMaxHeaderSize, Data, what, ": header length ", n, " is larger than the ", kMaxHeaderSize,
              "-byte limit (not a safetensors file?)");
    V2A_CHECK(8 + n <= total_size, Data, what, ": header length ", n, " runs past the end of the file (",
              total_size, " bytes)");
    V2A_CHECK(n >= 2, Data, what, ": header length ", n, " is too short for a JSON object");
    return n;
}

torch::Tensor make_tensor(const SafetensorsEntry& entry, const std::string& what) {
    const DtypeInfo* info = find_dtype(entry.dtype);
    V2A_ASSERT(info != nullptr);
    V2A_CHECK(info->supported, Data, what, ": tensor ", quote_name(entry.name), " has dtype ", entry.dtype,
              ", which LibTorch 1.13 has no tensor type for");
    return torch::empty(entry.shape, torch::TensorOptions().dtype(info->type));
}

void check_bool_bytes(const torch::Tensor& t, const SafetensorsEntry& entry, const std::string& what) {
    if (t.scalar_type() != torch::kBool) return;
    const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
    for (int64_t i = 0; i < t.numel(); ++i)
        V2A_CHECK(bytes[i] <= 1, Data, what, ": tensor ", quote_name(entry.name), ": BOOL element ", i, " has byte value ",
                  int(bytes[i]), " (must be 0 or 1)");
}

/// A read-only file with positioned reads (pread: no stdio buffer copy) and named errors.
class InputFile {
public:
    explicit InputFile(const stdfs::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        V2A_CHECK(fd_ >= 0, IO, path.string(), ": cannot open for reading (", std::strerror(errno), ")");
        struct stat st {};
        const bool stat_ok = ::fstat(fd_, &st) == 0;
        const int err = errno;
        if (!stat_ok || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            fail(ErrorKind::IO, path.string(), stat_ok ? ": is not a regular file" : ": cannot stat (",
                 stat_ok ? "" : std::strerror(err), stat_ok ? "" : ")");
        }
        size_ = uint64_t(st.st_size);
    }
    ~InputFile() { ::close(fd_); }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    uint64_t size() const { return size_; }
    void read(uint64_t offset, void* out, uint64_t n) {
        auto* dst = static_cast<uint8_t*>(out);
        while (n > 0) {
            const ssize_t got = ::pread(fd_, dst, size_t(std::min<uint64_t>(n, 1u << 30)), off_t(offset));
            if (got < 0 && errno == EINTR) continue;
            V2A_CHECK(got >= 0, IO, path_.string(), ": read failed at offset ", offset, " (", std::strerror(errno), ")");
            V2A_CHECK(got > 0, Data, path_.string(), ": truncated: ", n, " bytes missing at offset ", offset);
            dst += got;
            offset += uint64_t(got);
            n -= uint64_t(got);
        }
    }

private:
    stdfs::path path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

SafetensorsHeader read_header(InputFile& file, const std::string& what) {
    const uint64_t total = file.size();
    uint8_t prefix[8] = {0};
    if (total >= 8) file.read(0, prefix, 8);
    const uint64_t n = header_length(prefix, total, what);
    std::vector<uint8_t> text(n);
    file.read(8, text.data(), n);
    return parse_header(text.data(), n, total - 8 - n, what);
}

struct Prepared {
    std::string name;
    torch::Tensor tensor;  // CPU contiguous
    std::string dtype;
    uint64_t n_bytes = 0;
};

/// Tensors in sorted-name order, converted to CPU contiguous, plus the padded header text.
std::string build_header(const TensorMap& tensors, const MetadataMap& metadata, std::vector<Prepared>& out,
                         const std::string& what) {
    auto escape = [&](const std::string& s, const char* role) {
        try {
            return json(s).dump();
        } catch (const json::exception&) {
            fail(ErrorKind::Data, what, ": ", role, " ", quote_name(s), " is not valid UTF-8");
        }
    };
    std::string text = "{";
    if (!metadata.empty()) {
        text += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [key, value] : metadata) {
            if (!first) text += ",";
            first = false;
            text += escape(key, "metadata key") + ":" + escape(value, "metadata value");
        }
        text += "}";
    }
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        V2A_CHECK(name != "__metadata__", Data, what, ": a tensor cannot be named \"__metadata__\"");
        V2A_CHECK(tensor.defined(), Data, what, ": tensor ", quote_name(name), " is undefined");
        Prepared p;
        p.name = name;
        try {
            p.dtype = safetensors_dtype_name(tensor.scalar_type());
        } catch (const Error&) {
            fail(ErrorKind::Data, what, ": tensor ", quote_name(name), " has dtype ", c10::toString(tensor.scalar_type()),
                 ", which safetensors cannot store through LibTorch");
        }
        p.tensor = tensor.detach().to(torch::kCPU).contiguous();
        p.n_bytes = uint64_t(p.tensor.numel()) * p.tensor.element_size();
        if (text.size() > 1) text += ",";
        text += escape(name, "tensor name") + ":{\"dtype\":\"" + p.dtype + "\",\"shape\":[";
        for (int64_t d = 0; d < p.tensor.dim(); ++d) {
            if (d > 0) text += ",";
            text += std::to_string(p.tensor.size(d));
        }
        text += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + p.n_bytes) + "]}";
        offset += p.n_bytes;
        out.push_back(std::move(p));
    }
    text += "}";
    // Pad so the data section (at 8 + N) starts 8-byte aligned, as the reference writer does.
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

std::string u64_le(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = char((v >> (8 * i)) & 0xFF);
    return s;
}

}  // namespace

const SafetensorsEntry* SafetensorsHeader::find(const std::string& name) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), name,
                               [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
    return it != entries.end() && it->name == name ? &*it : nullptr;
}

std::string safetensors_dtype_name(torch::ScalarType type) {
    for (const DtypeInfo& d : kDtypes)
        if (d.supported && d.type == type) return d.name;
    fail(ErrorKind::Data, "safetensors: tensors of dtype ", c10::toString(type), " cannot be stored");
}

SafetensorsHeader read_safetensors_header(const stdfs::path& path) {
    InputFile file(path);
    return read_header(file, path.string());
}

SafetensorsFile load_safetensors(const stdfs::path& path) {
    const std::string what = path.string();
    InputFile file(path);
    SafetensorsHeader header = read_header(file, what);
    SafetensorsFile out;
    out.metadata = std::move(header.metadata);
    const uint64_t data_start = 8 + header.header_size;
    for (const SafetensorsEntry& e : header.entries) {
        torch::Tensor t = make_tensor(e, what);
        file.read(data_start + e.begin, t.data_ptr(), e.end - e.begin);
        check_bool_bytes(t, e, what);
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

TensorMap load_safetensors_subset(const stdfs::path& path, const std::vector<std::string>& names) {
    const std::string what = path.string();
    InputFile file(path);
    const SafetensorsHeader header = read_header(file, what);
    TensorMap out;
    for (const std::string& name : names) {
        const SafetensorsEntry* e = header.find(name);
        V2A_CHECK(e != nullptr, Data, what, ": has no tensor named ", quote_name(name));
        torch::Tensor t = make_tensor(*e, what);
        file.read(8 + header.header_size + e->begin, t.data_ptr(), e->end - e->begin);
        check_bool_bytes(t, *e, what);
        out[name] = std::move(t);
    }
    return out;
}

SafetensorsFile load_safetensors_from_buffer(const void* data, size_t size, const std::string& what) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    const uint64_t n = header_length(bytes, size, what);
    SafetensorsHeader header = parse_header(bytes + 8, n, size - 8 - n, what);
    SafetensorsFile out;
    out.metadata = std::move(header.metadata);
    const uint8_t* section = bytes + 8 + n;
    for (const SafetensorsEntry& e : header.entries) {
        torch::Tensor t = make_tensor(e, what);
        if (e.end > e.begin) std::memcpy(t.data_ptr(), section + e.begin, e.end - e.begin);
        check_bool_bytes(t, e, what);
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const MetadataMap& metadata) {
    std::vector<Prepared> prepared;
    const std::string header = build_header(tensors, metadata, prepared, "safetensors buffer");
    std::string prefix = u64_le(header.size());
    uint64_t total = 8 + header.size();
    for (const auto& p : prepared) total += p.n_bytes;
    std::vector<uint8_t> out;
    out.reserve(total);
    out.insert(out.end(), prefix.begin(), prefix.end());
    out.insert(out.end(), header.begin(), header.end());
    for (const auto& p : prepared) {
        const auto* b = static_cast<const uint8_t*>(p.tensor.data_ptr());
        out.insert(out.end(), b, b + p.n_bytes);
    }
    return out;
}

void save_safetensors(const stdfs::path& path, const TensorMap& tensors, const MetadataMap& metadata) {
    std::vector<Prepared> prepared;
    const std::string header = build_header(tensors, metadata, prepared, path.string());
    // Streamed tensor by tensor so a large checkpoint is never copied into one buffer.
    fs::write_atomic_with(path, [&](const stdfs::path& tmp) {
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        V2A_CHECK(f != nullptr, IO, tmp.string(), ": cannot create (", std::strerror(errno), ")");
        auto put = [&](const void* data, size_t n) {
            if (n > 0 && std::fwrite(data, 1, n, f) != n) {
                const int err = errno;
                std::fclose(f);
                fail(ErrorKind::IO, tmp.string(), ": write failed (", std::strerror(err), ")");
            }
        };
        const std::string prefix = u64_le(header.size());
        put(prefix.data(), prefix.size());
        put(header.data(), header.size());
        for (const auto& p : prepared) put(p.tensor.data_ptr(), p.n_bytes);
        const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        const bool closed = std::fclose(f) == 0;
        V2A_CHECK(flushed && closed, IO, tmp.string(), ": flush/close failed (", std::strerror(errno), ")");
    });
}

SafetensorsFile load_safetensors_sharded(const stdfs::path& index_path) {
    const std::string what = index_path.string();
    json index;
    try {
        index = json::parse(fs::read_text(index_path));
    } catch (const json::exception& e) {
        fail(ErrorKind::Data, what, ": not JSON (", e.what(), ")");
    }
    V2A_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), Data, what,
              ": missing object \"weight_map\"");
    std::map<std::string, std::vector<std::string>> by_file;  // shard -> tensor names
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        V2A_CHECK(it.value().is_string(), Data, what, ": weight_map entry ", quote_name(it.key()), " is not a file name");
        by_file[it.value().get<std::string>()].push_back(it.key());
    }
    SafetensorsFile out;
    if (index.contains("metadata") && index["metadata"].is_object())
        for (auto it = index["metadata"].begin(); it != index["metadata"].end(); ++it)
            out.metadata[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    for (const auto& [file, names] : by_file) {
        const stdfs::path shard_path = index_path.parent_path() / file;
        SafetensorsFile shard = load_safetensors(shard_path);
        for (const std::string& name : names) {
            auto it = shard.tensors.find(name);
            V2A_CHECK(it != shard.tensors.end(), Data, what, ": tensor ", quote_name(name), " is mapped to ", file,
                      " but that shard does not hold it");
            out.tensors[name] = it->second;
        }
        for (const auto& [name, tensor] : shard.tensors)
            V2A_CHECK(std::find(names.begin(), names.end(), name) != names.end(), Data, what, ": shard ", file,
                      " holds tensor ", quote_name(name), " that the weight_map maps elsewhere or not at all");
    }
    return out;
}

}  // namespace v2a::io
