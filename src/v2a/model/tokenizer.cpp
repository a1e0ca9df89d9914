#include "v2a/model/tokenizer.h"

#include "v2a/core/error.h"

namespace v2a::model {

uint32_t fnv1a32(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

Tokenizer::Tokenizer(TokenizerOptions options) : options_(options) {
    V2A_CHECK(options_.buckets >= 1, Config, "tokenizer: buckets must be >= 1, got ", options_.buckets);
    V2A_CHECK(options_.seq_len >= 2, Config, "tokenizer: seq_len must be >= 2 (BOS + EOS), got ",
              options_.seq_len);
}

std::vector<std::string> Tokenizer::words(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (unsigned char c : text) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (alnum) {
            cur.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
        } else if (!cur.empty()) {
            out.push_back(std::move(cur));
            cur.clear();
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

int64_t Tokenizer::word_id(const std::string& word) const {
    return kFirstWord + static_cast<int64_t>(fnv1a32(word) % static_cast<uint32_t>(options_.buckets));
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
    std::vector<int64_t> ids(static_cast<size_t>(options_.seq_len), kPad);
    const auto ws = words(text);
    const size_t n = std::min(ws.size(), static_cast<size_t>(options_.seq_len - 2));
    ids[0] = kBos;
    for (size_t i = 0; i < n; ++i) ids[i + 1] = word_id(ws[i]);
    ids[n + 1] = kEos;
    return ids;
}

torch::Tensor Tokenizer::encode_batch(const std::vector<std::string>& texts) const {
    const auto B = static_cast<int64_t>(texts.size());
    auto out = torch::empty({B, options_.seq_len}, torch::kLong);
    auto acc = out.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
        const auto ids = encode(texts[static_cast<size_t>(b)]);
        for (int64_t i = 0; i < options_.seq_len; ++i) acc[b][i] = ids[static_cast<size_t>(i)];
    }
    return out;
}

torch::Tensor Tokenizer::padding_mask(const torch::Tensor& tokens) { return tokens.eq(kPad); }

}  // namespace v2a::model
