#include "v2a/io/pth.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>
#include <set>

#include "v2a/core/error.h"

namespace v2a::io {
namespace {

void flatten(const c10::IValue& value, const std::string& path, PthFile& out) {
    auto join = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
    if (value.isTensor()) {
        out.tensors[path.empty() ? std::string("tensor") : path] = value.toTensor().cpu().contiguous();
    } else if (value.isGenericDict()) {
        for (const auto& item : value.toGenericDict()) {
            const auto& key = item.key();
            std::string name;
            if (key.isString()) {
                name = key.toStringRef();
            } else if (key.isInt()) {
                name = std::to_string(key.toInt());
            } else {
                out.non_tensors.push_back(join("<" + key.tagKind() + " key>"));
                continue;
            }
            flatten(item.value(), join(name), out);
        }
    } else if (value.isList() || value.isTuple()) {
        const auto items = value.isList() ? value.toListRef().vec() : value.toTupleRef().elements().vec();
        for (size_t i = 0; i < items.size(); ++i) flatten(items[i], join(std::to_string(i)), out);
    } else {
        out.non_tensors.push_back(path);
    }
}

}  // namespace

PthFile load_pth(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    V2A_CHECK(in.good(), IO, path.string(), ": cannot open");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    V2A_CHECK(!in.bad(), IO, path.string(), ": read error");
    // torch.save's zip format starts with a local file header "PK\3\4"; the legacy format is a raw pickle.
    V2A_CHECK(bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K', Data, path.string(),
              ": not a zip-format PyTorch file (torch.save since 1.6 writes one; re-save an older file with "
              "torch.save(torch.load(f), f2))");
    c10::IValue value;
    try {
        value = torch::jit::pickle_load(bytes);
    } catch (const c10::Error& e) {
        fail(ErrorKind::Data, path.string(), ": LibTorch cannot unpickle it (", e.what_without_backtrace(),
             "); save a plain state dict of tensors");
    } catch (const std::exception& e) {
        fail(ErrorKind::Data, path.string(), ": LibTorch cannot unpickle it (", e.what(), ")");
    }
    PthFile file;
    flatten(value, "", file);
    V2A_CHECK(!file.tensors.empty(), Data, path.string(), ": holds no tensors");
    return file;
}

TensorMap select_prefix(const TensorMap& tensors, const std::string& prefix, const std::string& what) {
    if (prefix.empty()) return tensors;
    TensorMap out;
    const std::string p = prefix + ".";
    for (const auto& [k, t] : tensors) {
        if (k.compare(0, p.size(), p) == 0) out[k.substr(p.size())] = t;
    }
    if (out.empty()) {
        std::set<std::string> top;
        for (const auto& [k, t] : tensors) top.insert(k.substr(0, k.find('.')));
        std::string list;
        for (const auto& k : top) list += (list.empty() ? "" : ", ") + k;
        fail(ErrorKind::Data, what, ": nothing under '", prefix, "' (top-level keys: ", list, ")");
    }
    return out;
}

bool strip_module_prefix(TensorMap& tensors) {
    const std::string p = "module.";
    if (tensors.empty()) return false;
    for (const auto& [k, t] : tensors) {
        if (k.compare(0, p.size(), p) != 0) return false;
    }
    TensorMap out;
    for (auto& [k, t] : tensors) out[k.substr(p.size())] = t;
    tensors.swap(out);
    return true;
}

}  // namespace v2a::io
