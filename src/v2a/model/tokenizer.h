// Deterministic word-hashing tokenizer: the stand-in for CLIP's BPE tokenizer (MMAudio uses open_clip
// ViT-H-14-378-quickgelu, 77 tokens). It needs no downloaded vocabulary, so every build tokenizes the
// same way: ASCII-lowercase, split on anything that is not [a-z0-9] (bytes >= 0x80 count as letters so
// UTF-8 words stay whole), hash each word with 32-bit FNV-1a into `buckets` ids, then
// [BOS, w1, ..., wn, EOS, PAD, ...] padded or truncated to `seq_len` (EOS is always kept, as open_clip
// does when it truncates). The empty string is [BOS, EOS, PAD, ...]: its encoding is the null text
// condition for classifier-free guidance.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace v2a::model {

/// 32-bit FNV-1a of the bytes of `s` (offset basis 2166136261, prime 16777619).
uint32_t fnv1a32(const std::string& s);

struct TokenizerOptions {
    int64_t buckets = 4096;  // hashed word ids; vocabulary = buckets + 3 special ids
    int64_t seq_len = 77;    // CLIP context length (MMAudio text_seq_len)
};

class Tokenizer {
public:
    static constexpr int64_t kPad = 0;
    static constexpr int64_t kBos = 1;
    static constexpr int64_t kEos = 2;
    static constexpr int64_t kFirstWord = 3;

    /// Throws v2a::Error(Config) when buckets < 1 or seq_len < 2 (BOS and EOS must fit).
    explicit Tokenizer(TokenizerOptions options = {});

    /// Lowercased words of `text` in order ("Dog-barking, LOUD!" -> {"dog", "barking", "loud"}).
    static std::vector<std::string> words(const std::string& text);
    /// Token id of one (already lowercased) word: kFirstWord + fnv1a32(word) % buckets.
    int64_t word_id(const std::string& word) const;
    /// Exactly seq_len ids: BOS, words (at most seq_len - 2), EOS, PAD...
    std::vector<int64_t> encode(const std::string& text) const;
    /// [B, seq_len] int64 (CPU).
    torch::Tensor encode_batch(const std::vector<std::string>& texts) const;
    /// [B, seq_len] bool, true where the id is PAD (attention ignores those keys).
    static torch::Tensor padding_mask(const torch::Tensor& tokens);

    int64_t vocab_size() const { return options_.buckets + kFirstWord; }
    int64_t seq_len() const { return options_.seq_len; }
    const TokenizerOptions& options() const { return options_; }

private:
    TokenizerOptions options_;
};

}  // namespace v2a::model
