// Text helpers shared by the readers of user files (manifests, safetensors headers, labels).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace v2a {

/// Offset of the first byte that is not valid UTF-8, or std::string::npos (overlong forms,
/// surrogates and code points past U+10FFFF are invalid).
size_t utf8_invalid_at(const uint8_t* s, size_t n);
inline size_t utf8_invalid_at(const std::string& s) {
    return utf8_invalid_at(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace v2a
