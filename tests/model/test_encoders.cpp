// Conditioning encoders (stand-ins for CLIP image/text and Synchformer) and the Conditioner: shapes over
// durations and frame sizes, MMAudio's segmentation, the hashing tokenizer, temporal locality of the
// sync encoder, precomputed-feature validation, gradients, a tiny learning task. Timing is in the
// DISABLED_ benchmark at the end (no timing assertions).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/io/safetensors.h"
#include "v2a/model/conditioner.h"
#include "v2a/model/mmaudio.h"

namespace v2a::model {
namespace {

using Ids = std::vector<int64_t>;

// Runs f, expects v2a::Error of `kind` whose message contains every part.
void expect_error(const std::function<void()>& f, ErrorKind kind, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "no error thrown";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    return (a - b).abs().max().item<double>();
}

torch::Tensor random_frames(std::vector<int64_t> shape, uint64_t seed) {
    auto g = torch::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randint(0, 256, shape, g, torch::kByte);
}

// ---- tokenizer ----------------------------------------------------------------------------------

TEST(TokenizerTest, Fnv1aMatchesReferenceVectors) {
    // FNV-1a 32-bit reference values (offset basis for "", published vectors for "a" and "foobar").
    EXPECT_EQ(fnv1a32(""), 0x811c9dc5u);
    EXPECT_EQ(fnv1a32("a"), 0xe40c292cu);
    EXPECT_EQ(fnv1a32("foobar"), 0xbf9cf968u);
}

TEST(TokenizerTest, WordsAreLowercasedAndSplitOnNonAlphanumerics) {
    EXPECT_EQ(Tokenizer::words("Dog-barking, LOUD!  v2a 42x"),
              (std::vector<std::string>{"dog", "barking", "loud", "v2a", "42x"}));
    EXPECT_TRUE(Tokenizer::words(" ,,!? \t\n").empty());
    // UTF-8 bytes are word characters (kept as is); ASCII letters around them are lowercased.
    EXPECT_EQ(Tokenizer::words("CAF\xc3\xa9 noir"), (std::vector<std::string>{"caf\xc3\xa9", "noir"}));
}

TEST(TokenizerTest, LayoutIsBosWordsEosPad) {
    Tokenizer tok(TokenizerOptions{4096, 8});
    EXPECT_EQ(tok.vocab_size(), 4099);
    // Word ids by hand: 3 + FNV-1a % 4096: dog 0xe668bd09 -> 3340, barks 0x90ebcab0 -> 2739, a -> 2351.
    EXPECT_EQ(tok.word_id("dog"), 3340);
    EXPECT_EQ(tok.encode("A dog barks"), (Ids{1, 2351, 3340, 2739, 2, 0, 0, 0}));
    EXPECT_EQ(tok.encode("Dog, BARKS!!"), tok.encode("dog barks"));
    EXPECT_NE(tok.encode("dog barks"), tok.encode("barks dog"));  // order matters
}

TEST(TokenizerTest, TruncationKeepsEosAndPadsNothing) {
    Tokenizer tok(TokenizerOptions{4096, 6});
    const auto a = tok.word_id("a"), b = tok.word_id("b"), c = tok.word_id("c"), d = tok.word_id("d");
    EXPECT_EQ(tok.encode("a b c d"), (Ids{1, a, b, c, d, 2}));        // exactly fits
    EXPECT_EQ(tok.encode("a b c d e f g"), (Ids{1, a, b, c, d, 2}));  // truncated, EOS kept
    Tokenizer clip_len;                                                // 77 like CLIP
    std::string many;
    for (int i = 0; i < 100; ++i) many += "w" + std::to_string(i) + " ";
    const auto ids = clip_len.encode(many);
    ASSERT_EQ(ids.size(), 77u);
    EXPECT_EQ(ids.front(), Tokenizer::kBos);
    EXPECT_EQ(ids.back(), Tokenizer::kEos);
    EXPECT_EQ(ids[75], clip_len.word_id("w74"));
    EXPECT_EQ(std::count(ids.begin(), ids.end(), Tokenizer::kPad), 0);
}

TEST(TokenizerTest, EmptyStringAndBatch) {
    Tokenizer tok;
    Ids expected(77, Tokenizer::kPad);
    expected[0] = Tokenizer::kBos;
    expected[1] = Tokenizer::kEos;
    EXPECT_EQ(tok.encode(""), expected);
    EXPECT_EQ(tok.encode("?! ..."), expected);  // no words at all = empty caption
    const auto batch = tok.encode_batch({"a dog barks", "", "rain"});
    EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{3, 77}));
    EXPECT_EQ(batch.scalar_type(), torch::kLong);
    EXPECT_EQ(batch[1][1].item<int64_t>(), Tokenizer::kEos);
    EXPECT_EQ(batch[2][1].item<int64_t>(), tok.word_id("rain"));
    EXPECT_EQ(Tokenizer::padding_mask(batch).sum().item<int64_t>(), (77 - 5) + (77 - 2) + (77 - 3));
    // Deterministic: a second tokenizer gives identical ids.
    EXPECT_TRUE(torch::equal(batch, Tokenizer().encode_batch({"a dog barks", "", "rain"})));
}

TEST(TokenizerTest, BadOptionsAreConfigErrors) {
    expect_error([] { Tokenizer(TokenizerOptions{4096, 1}); }, ErrorKind::Config, {"seq_len"});
    expect_error([] { Tokenizer(TokenizerOptions{0, 77}); }, ErrorKind::Config, {"buckets"});
}

// ---- text encoder -------------------------------------------------------------------------------

TEST(TextEncoderTest, ShapesUnitNormsAndDeterministicEmptyString) {
    torch::manual_seed(1);
    TextEncoder enc(TextEncoderOptions(24).width(16).heads(2));
    torch::NoGradGuard no_grad;
    const auto f = enc->encode({"a dog barks", "", "rain on a roof"});
    EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, 77, 24}));
    EXPECT_LT(max_abs_diff(f.norm(2, -1), torch::ones({3, 77})), 1e-5);  // L2-normalised per token
    const auto e1 = enc->empty_string_features();
    const auto e2 = enc->empty_string_features();
    EXPECT_EQ(e1.sizes(), (std::vector<int64_t>{77, 24}));
    EXPECT_TRUE(torch::equal(e1, e2));
    EXPECT_LT(max_abs_diff(e1, f[1]), 1e-6);  // independent of the rest of the batch
    EXPECT_GT(max_abs_diff(f[0], f[2]), 1e-2);
    EXPECT_GT(max_abs_diff(f[0], e1), 1e-2);
}

TEST(TextEncoderTest, BadTokensAreDataErrors) {
    TextEncoder enc(TextEncoderOptions(8).seq_len(5).width(8).heads(2).buckets(16));
    expect_error([&] { enc->forward(torch::zeros({2, 6}, torch::kLong)); }, ErrorKind::Data, {"[B, 5]"});
    expect_error([&] { enc->forward(torch::full({1, 5}, 19, torch::kLong)); }, ErrorKind::Data, {"[0, 19)"});
    expect_error([&] { enc->forward(torch::zeros({1, 5})); }, ErrorKind::Data, {"int64"});
    expect_error([] { TextEncoder(TextEncoderOptions(8).width(10).heads(4)); }, ErrorKind::Config, {"heads"});
}

// ---- semantic encoder ---------------------------------------------------------------------------

SemanticEncoderOptions small_semantic(int64_t frame_size) {
    return SemanticEncoderOptions(32).frame_size(frame_size).channels({8, 8, 16, 16});
}

TEST(SemanticEncoderTest, ShapesAtSeveralDurationsAndFrameSizes) {
    torch::manual_seed(2);
    torch::NoGradGuard no_grad;
    for (int64_t size : {64, 96, 224}) {
        SemanticEncoder enc(small_semantic(size));
        for (double seconds : {4.0, 8.0}) {
            const auto T8 = feature_lengths(seconds, 77).clip_frames;
            const int64_t B = size == 224 ? 1 : 2;
            const auto frames = random_frames({B, T8, 3, 72, 80}, 3);  // resized to `size` inside
            const auto f = enc(frames);
            EXPECT_EQ(f.sizes(), (std::vector<int64_t>{B, T8, 32})) << size << " px, " << seconds << " s";
            EXPECT_LT(max_abs_diff(f.norm(2, -1), torch::ones({B, T8})), 1e-5);
        }
    }
}

TEST(SemanticEncoderTest, LayoutsDtypesAndCropAgree) {
    torch::manual_seed(3);
    torch::NoGradGuard no_grad;
    SemanticEncoder enc(small_semantic(64));
    const auto hwc = random_frames({2, 3, 64, 64, 3}, 4);            // [B, T, H, W, 3]
    const auto chw = hwc.permute({0, 1, 4, 2, 3}).contiguous();      // [B, T, 3, H, W]
    const auto ref = enc(hwc);
    EXPECT_LT(max_abs_diff(enc(chw), ref), 1e-6);
    EXPECT_LT(max_abs_diff(enc(hwc.to(torch::kFloat) / 255.0), ref), 1e-5);
    // Non-square frames are center-cropped: 64 x 96 -> columns 16..79.
    const auto wide = random_frames({1, 2, 64, 96, 3}, 5);
    EXPECT_LT(max_abs_diff(enc(wide), enc(wide.narrow(3, 16, 64).contiguous())), 1e-6);
    // Every frame is encoded on its own.
    EXPECT_LT(max_abs_diff(enc(hwc.narrow(1, 1, 1)), ref.narrow(1, 1, 1)), 1e-6);
}

TEST(SemanticEncoderTest, BadFramesAreDataErrors) {
    SemanticEncoder enc(small_semantic(64));
    expect_error([&] { enc(torch::zeros({2, 3, 32, 32}, torch::kByte)); }, ErrorKind::Data,
                 {"semantic encoder", "[B, T, 3, H, W]"});
    expect_error([&] { enc(torch::zeros({1, 2, 4, 32, 32}, torch::kByte)); }, ErrorKind::Data,
                 {"semantic encoder", "3 (RGB)"});
    expect_error([&] { enc(torch::zeros({1, 2, 3, 32, 32}, torch::kInt)); }, ErrorKind::Data,
                 {"semantic encoder", "uint8"});
    expect_error([&] { enc(torch::zeros({1, 2, 3, 4, 4}, torch::kByte)); }, ErrorKind::Data,
                 {"semantic encoder", "too small"});
    expect_error([] { SemanticEncoder(small_semantic(16)); }, ErrorKind::Config, {"frame_size"});
}

// ---- sync segmentation and encoder --------------------------------------------------------------

TEST(SyncSegmentsTest, CountsAndFrameRangesAsMMAudio) {
    EXPECT_EQ(num_sync_segments(16), 1);
    EXPECT_EQ(num_sync_segments(23), 1);
    EXPECT_EQ(num_sync_segments(24), 2);
    EXPECT_EQ(num_sync_segments(100), 11);  // 4 s
    EXPECT_EQ(num_sync_segments(200), 24);  // 8 s (v2a_systems.md 1.1)
    EXPECT_EQ(sync_tokens_for_frames(200), 192);
    const std::vector<std::pair<int64_t, int64_t>> expected{{0, 16}, {8, 24}, {16, 32}, {24, 40}};
    EXPECT_EQ(sync_segment_ranges(47), expected);  // frames 40..46 are not covered (as unfold drops them)
    const auto index = sync_segment_index(24);
    EXPECT_TRUE(torch::equal(index, torch::cat({torch::arange(0, 16), torch::arange(8, 24)}).to(torch::kLong)));
    expect_error([] { num_sync_segments(15); }, ErrorKind::Data, {"15 frames", "16-frame segment"});
}

TEST(SyncSegmentsTest, FeatureLengthsMatchNetworkSequenceLengths) {
    const auto l8 = feature_lengths(8.0, 77);
    EXPECT_EQ(l8.clip_frames, 64);
    EXPECT_EQ(l8.sync_frames, 200);
    EXPECT_EQ(l8.sync, 192);
    EXPECT_EQ(l8.text, 77);
    const NetworkConfig net;
    for (double d : {0.7, 1.0, 2.0, 3.3, 4.0, 8.0, 8.1, 10.0}) {
        const auto mine = feature_lengths(d, 77);
        const auto theirs = net.sequence_lengths(d);
        EXPECT_EQ(mine.clip_frames, theirs.clip) << d;
        EXPECT_EQ(mine.sync, theirs.sync) << d;
    }
    expect_error([] { feature_lengths(0.5, 77); }, ErrorKind::Config, {"0.5 s", "sync segment"});
}

SyncEncoderOptions small_sync() {
    return SyncEncoderOptions(24).frame_size(32).stem_channels({8, 8, 16, 16}).temporal_channels(16);
}

TEST(SyncEncoderTest, ShapesAt4And8Seconds) {
    torch::manual_seed(4);
    torch::NoGradGuard no_grad;
    SyncEncoder enc(small_sync());
    EXPECT_EQ(enc(random_frames({2, 100, 32, 32, 3}, 6)).sizes(), (std::vector<int64_t>{2, 88, 24}));
    EXPECT_EQ(enc(random_frames({1, 200, 3, 40, 40}, 7)).sizes(), (std::vector<int64_t>{1, 192, 24}));
    expect_error([&] { enc(random_frames({1, 15, 32, 32, 3}, 8)); }, ErrorKind::Data, {"15 frames"});
}

TEST(SyncEncoderTest, SegmentsAreExactlyTheirSixteenFrames) {
    torch::manual_seed(5);
    torch::NoGradGuard no_grad;
    SyncEncoder enc(small_sync());
    const auto frames = random_frames({1, 44, 32, 32, 3}, 9);  // 4 segments, frames 40..43 unused
    const auto full = enc(frames);
    ASSERT_EQ(full.size(1), 32);
    for (int64_t s = 0; s < 4; ++s) {
        const auto alone = enc(frames.narrow(1, 8 * s, 16).contiguous());  // [1, 8, D]
        EXPECT_LT(max_abs_diff(alone, full.narrow(1, 8 * s, 8)), 1e-5) << "segment " << s;
    }
    // Frames after the last segment do not matter.
    auto changed = frames.clone();
    changed.narrow(1, 40, 4).fill_(255);
    EXPECT_LT(max_abs_diff(enc(changed), full), 1e-6);
}

TEST(SyncEncoderTest, FlashShiftChangesOnlyTokensNearItsTime) {
    torch::manual_seed(6);  // fresh random init: locality is architectural, not learned
    torch::NoGradGuard no_grad;
    SyncEncoder enc(small_sync());
    const int64_t T = 48;  // 5 segments
    auto base = (random_frames({1, T, 32, 32, 3}, 10) / 4 + 96).to(torch::kByte);  // dim, textured
    auto with_flash = [&](int64_t f) {
        auto x = base.clone();
        x.narrow(1, f, 1).fill_(255);
        return x;
    };
    const auto none = enc(base);
    const int64_t fa = 20, fb = 22;  // flash at frame 20 vs 22 (2 frames = one token later)
    const auto a = enc(with_flash(fa)), b = enc(with_flash(fb));
    const auto ranges = sync_segment_ranges(T);
    int near_checked = 0, far_checked = 0;
    for (int64_t s = 0; s < static_cast<int64_t>(ranges.size()); ++s) {
        const int64_t begin = ranges[static_cast<size_t>(s)].first, end = ranges[static_cast<size_t>(s)].second;
        for (int64_t j = 0; j < kSyncTokensPerSegment; ++j) {
            const int64_t tok = s * kSyncTokensPerSegment + j;
            const double d = (a[0][tok] - b[0][tok]).abs().max().item<double>();
            // Receptive field of token j: frames begin + 2j - 3 .. begin + 2j + 3 inside the segment.
            const int64_t lo = std::max(begin, begin + 2 * j - 3), hi = std::min(end - 1, begin + 2 * j + 3);
            const bool sees_a = fa >= lo && fa <= hi, sees_b = fb >= lo && fb <= hi;
            if (!sees_a && !sees_b) {
                EXPECT_LT(d, 1e-5) << "token " << tok << " (segment " << s << ", j " << j << ") is far from both";
                ++far_checked;
            }
            // The tokens covering a flash frame (frames begin + 2j, begin + 2j + 1) must move.
            const bool covers = (fa >= begin + 2 * j && fa <= begin + 2 * j + 1) ||
                                (fb >= begin + 2 * j && fb <= begin + 2 * j + 1);
            if (covers) {
                EXPECT_GT(d, 1e-2) << "token " << tok << " covers a flash";
                ++near_checked;
            }
        }
        // Within each segment that contains the flash, the biggest change (flash vs none) is at the
        // token covering it (or its neighbour).
        if (fa >= begin && fa < end) {
            const auto change = (a[0].narrow(0, s * 8, 8) - none[0].narrow(0, s * 8, 8)).abs().amax(1);  // [8]
            const int64_t peak = change.argmax().item<int64_t>();
            EXPECT_LE(std::abs(peak - (fa - begin) / 2), 1) << "segment " << s << " peak token " << peak;
        }
    }
    EXPECT_EQ(near_checked, 4);  // frames 20 and 22 each lie in segments 1 and 2
    EXPECT_GT(far_checked, 20);
}

TEST(SyncEncoderTest, UniformLayoutPutsAFlashAtTheTokenOfItsTime) {
    // Token k of the Uniform layout describes clip time (k + 0.5) * T / Ns frames: the token that moves
    // most when a flash is added is the one whose time is nearest the flash, for flashes anywhere in
    // the clip (with the Segment layout the flattened order runs back and forth in time).
    torch::manual_seed(6);
    torch::NoGradGuard no_grad;
    SyncEncoder enc(small_sync().token_layout(SyncTokenLayout::Uniform));
    const int64_t T = 100, Ns = sync_tokens_for_frames(T);  // 4 s: 88 tokens
    auto base = (random_frames({1, T, 32, 32, 3}, 10) / 4 + 96).to(torch::kByte);
    const auto none = enc(base);
    ASSERT_EQ(none.sizes(), (std::vector<int64_t>{1, Ns, 24}));
    for (int64_t f : {5, 30, 52, 77, 95}) {
        auto x = base.clone();
        x.narrow(1, f, 1).fill_(255);
        const auto change = (enc(x)[0] - none[0]).abs().amax(1);  // [Ns]
        const int64_t peak = change.argmax().item<int64_t>();
        const double token_frame = (double(peak) + 0.5) * double(T) / double(Ns) - 0.5;
        EXPECT_LE(std::abs(token_frame - double(f)), 2.0) << "flash at frame " << f << ", peak token " << peak;
        // Tokens more than 4 frames away are untouched (receptive field: 3 frames each side).
        for (int64_t k = 0; k < Ns; ++k) {
            const double fk = (double(k) + 0.5) * double(T) / double(Ns) - 0.5;
            if (std::abs(fk - double(f)) > 5.0) EXPECT_LT(change[k].item<double>(), 1e-5) << "token " << k;
        }
    }
    EXPECT_EQ(to_string(SyncTokenLayout::Uniform), "uniform");
    EXPECT_EQ(sync_token_layout_from_string("segment"), SyncTokenLayout::Segment);
    expect_error([] { sync_token_layout_from_string("zigzag", "layout"); }, ErrorKind::Config, {"'zigzag'"});
}

// ---- conditioner --------------------------------------------------------------------------------

ConditionerInput learned_input(int64_t B, double seconds, int64_t px, uint64_t seed) {
    const auto l = feature_lengths(seconds, 77);
    ConditionerInput in;
    in.frames_8fps = random_frames({B, l.clip_frames, px, px, 3}, seed);
    in.frames_25fps = random_frames({B, l.sync_frames, px, px, 3}, seed + 1);
    const std::vector<std::string> captions{"a dog barks", "", "rain on a tin roof", "Piano, loud!"};
    for (int64_t b = 0; b < B; ++b) in.captions.push_back(captions[static_cast<size_t>(b) % captions.size()]);
    in.duration = seconds;
    return in;
}

TEST(ConditionerTest, LearnedFeaturesFeedTheNetworkAtSeveralDurations) {
    torch::manual_seed(7);
    const auto net_config = NetworkConfig::tiny();
    const auto config = ConditionerConfig::for_network(net_config, "tiny");
    EXPECT_NO_THROW(config.check_matches(net_config));
    Conditioner cond(config);
    MMAudio net(net_config);
    net->set_latent_stats(torch::zeros({net_config.latent_dim}), torch::ones({net_config.latent_dim}));
    torch::NoGradGuard no_grad;
    for (double seconds : {2.0, 4.0}) {
        net->update_duration(seconds);
        const auto f = cond(learned_input(2, seconds, 32, 11));
        EXPECT_EQ(f.clip_f.sizes(), (std::vector<int64_t>{2, net->clip_seq_len(), 32}));
        EXPECT_EQ(f.sync_f.sizes(), (std::vector<int64_t>{2, net->sync_seq_len(), 24}));
        EXPECT_EQ(f.text_f.sizes(), (std::vector<int64_t>{2, 5, 16}));
        const auto latent = torch::randn({2, net->latent_seq_len(), net_config.latent_dim});
        const auto v = net(latent, f.clip_f, f.sync_f, f.text_f, torch::full({2}, 0.5));
        EXPECT_EQ(v.sizes(), latent.sizes());
    }
}

TEST(ConditionerTest, BenchPresetShapesAt4And8Seconds) {
    torch::manual_seed(8);
    Conditioner cond(ConditionerConfig::bench());
    torch::NoGradGuard no_grad;
    for (double seconds : {4.0, 8.0}) {
        const auto l = feature_lengths(seconds, 77);
        const auto f = cond(learned_input(1, seconds, 96, 12));
        EXPECT_EQ(f.clip_f.sizes(), (std::vector<int64_t>{1, l.clip_frames, 128}));
        EXPECT_EQ(f.sync_f.sizes(), (std::vector<int64_t>{1, l.sync, 128}));
        EXPECT_EQ(f.text_f.sizes(), (std::vector<int64_t>{1, 77, 128}));
    }
}

TEST(ConditionerTest, LearnedInputsAreChecked) {
    Conditioner cond(ConditionerConfig::tiny());
    torch::NoGradGuard no_grad;
    auto in = learned_input(2, 2.0, 32, 13);
    auto no_frames = in;
    no_frames.frames_8fps = torch::Tensor();
    expect_error([&] { cond(no_frames); }, ErrorKind::Data, {"8 fps frames"});
    auto short_clip = in;
    short_clip.frames_25fps = short_clip.frames_25fps.narrow(1, 0, 30);
    expect_error([&] { cond(short_clip); }, ErrorKind::Data, {"sync tokens", "needs 40"});
    auto wrong_clip = in;
    wrong_clip.frames_8fps = wrong_clip.frames_8fps.narrow(1, 0, 10);
    expect_error([&] { cond(wrong_clip); }, ErrorKind::Data, {"needs 16 frames"});
    auto one_caption = in;
    one_caption.captions = {"only one"};
    expect_error([&] { cond(one_caption); }, ErrorKind::Data, {"batch sizes differ", "text 1"});
}

ConditionerConfig all_precomputed() {
    auto c = ConditionerConfig::tiny();
    c.clip_mode = c.sync_mode = c.text_mode = StreamMode::Precomputed;
    return c;
}

io::TensorMap precomputed_map(int64_t B, double seconds, const ConditionerConfig& c) {
    const auto l = feature_lengths(seconds, c.text_seq_len);
    return {{kClipFeaturesKey, torch::randn({B, l.clip_frames, c.clip_dim})},
            {kSyncFeaturesKey, torch::randn({B, l.sync, c.sync_dim})},
            {kTextFeaturesKey, torch::randn({B, c.text_seq_len, c.text_dim})}};
}

TEST(ConditionerTest, PrecomputedFeaturesPassThroughAndAreValidated) {
    torch::manual_seed(9);
    const auto config = all_precomputed();
    Conditioner cond(config);
    EXPECT_EQ(cond->parameters().size(), 0u);
    ConditionerInput in;
    in.precomputed = precomputed_map(2, 2.0, config);
    in.source = "batch7.safetensors";
    in.clip_ids = {"vid_a", "vid_b"};
    in.duration = 2.0;
    const auto f = cond(in);
    EXPECT_TRUE(torch::equal(f.clip_f, in.precomputed[kClipFeaturesKey]));
    EXPECT_TRUE(torch::equal(f.sync_f, in.precomputed[kSyncFeaturesKey]));
    EXPECT_TRUE(torch::equal(f.text_f, in.precomputed[kTextFeaturesKey]));

    auto single = in;  // one clip as [L, D]
    single.clip_ids.clear();
    for (auto& [key, t] : single.precomputed) t = t[0];
    EXPECT_EQ(cond(single).sync_f.sizes(), (std::vector<int64_t>{1, 40, 24}));

    auto missing = in;
    missing.precomputed.erase(kSyncFeaturesKey);
    expect_error([&] { cond(missing); }, ErrorKind::Data, {"batch7.safetensors", "missing 'sync_features'"});
    auto wide = in;
    wide.precomputed[kClipFeaturesKey] = torch::randn({2, 16, 1024});
    expect_error([&] { cond(wide); }, ErrorKind::Data, {"batch7.safetensors", "'clip_features'", "width 1024",
                                                          "clip_dim is 32"});
    auto long_sync = in;
    long_sync.precomputed[kSyncFeaturesKey] = torch::randn({2, 48, 24});
    expect_error([&] { cond(long_sync); }, ErrorKind::Data, {"batch7.safetensors", "48 tokens", "needs 40"});
    auto text_len = in;
    text_len.precomputed[kTextFeaturesKey] = torch::randn({2, 77, 16});
    expect_error([&] { cond(text_len); }, ErrorKind::Data, {"'text_features'", "77 tokens", "text_seq_len is 5"});
    auto rank = in;
    rank.precomputed[kTextFeaturesKey] = torch::randn({2, 1, 5, 16});
    expect_error([&] { cond(rank); }, ErrorKind::Data, {"'text_features' must be [L, 16] or [B, L, 16]"});
    auto nan = in;
    nan.precomputed[kClipFeaturesKey] = nan.precomputed[kClipFeaturesKey].clone();
    nan.precomputed[kClipFeaturesKey][1][3][0].fill_(std::nan(""));
    expect_error([&] { cond(nan); }, ErrorKind::Data, {"batch7.safetensors", "clip 'vid_b'", "non-finite"});
    auto batch = in;
    batch.precomputed[kTextFeaturesKey] = torch::randn({3, 5, 16});
    batch.clip_ids.clear();
    expect_error([&] { cond(batch); }, ErrorKind::Data, {"batch sizes differ", "text 3"});
    expect_error([&] { cond->empty_text_features(); }, ErrorKind::Config, {"precomputed"});
}

TEST(ConditionerTest, LoadsPerClipFilesAndNamesTheBadOne) {
    torch::manual_seed(10);
    test::TempDir dir;
    const auto config = all_precomputed();
    Conditioner cond(config);
    std::vector<std::filesystem::path> files;
    std::vector<io::TensorMap> maps;
    for (int i = 0; i < 3; ++i) {
        auto m = precomputed_map(1, 2.0, config);
        for (auto& [key, t] : m) t = t[0];  // one clip per file, [L, D] like MMAudio's memmap rows
        files.push_back(dir / ("clip" + std::to_string(i) + ".safetensors"));
        io::save_safetensors(files.back(), m);
        maps.push_back(m);
    }
    const auto batch = cond->load_precomputed(files, 2.0);
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_EQ(batch.at(kSyncFeaturesKey).sizes(), (std::vector<int64_t>{3, 40, 24}));
    EXPECT_TRUE(torch::equal(batch.at(kTextFeaturesKey)[2], maps[2][kTextFeaturesKey]));

    auto bad = maps[1];
    bad[kSyncFeaturesKey] = torch::randn({48, 24});  // a 2.5 s clip in a 2 s batch
    io::save_safetensors(dir / "bad.safetensors", bad);
    expect_error([&] { cond->load_precomputed({files[0], dir / "bad.safetensors", files[2]}, 2.0); }, ErrorKind::Data,
                 {"bad.safetensors", "'sync_features'", "48 tokens"});
    // Without a duration, lengths must still agree within the batch.
    expect_error([&] { cond->load_precomputed({files[0], dir / "bad.safetensors"}); }, ErrorKind::Data,
                 {"bad.safetensors", "clip0.safetensors", "equal lengths"});
    auto no_text = maps[0];
    no_text.erase(kTextFeaturesKey);
    io::save_safetensors(dir / "no_text.safetensors", no_text);
    expect_error([&] { cond->load_precomputed({dir / "no_text.safetensors"}); }, ErrorKind::Data,
                 {"no_text.safetensors", "missing 'text_features'"});
}

TEST(ConditionerTest, MixedModesOwnOnlyLearnedEncoders) {
    torch::manual_seed(11);
    auto config = ConditionerConfig::tiny();
    config.clip_mode = StreamMode::Precomputed;
    Conditioner cond(config);
    EXPECT_EQ(cond->num_parameters("clip"), 0);
    EXPECT_GT(cond->num_parameters("sync"), 0);
    EXPECT_GT(cond->num_parameters("text"), 0);
    EXPECT_EQ(cond->precomputed_keys(), (std::vector<std::string>{kClipFeaturesKey}));
    auto in = learned_input(2, 2.0, 32, 14);
    in.frames_8fps = torch::Tensor();
    in.precomputed[kClipFeaturesKey] = torch::randn({2, 16, 32});
    torch::NoGradGuard no_grad;
    const auto f = cond(in);
    EXPECT_TRUE(torch::equal(f.clip_f, in.precomputed[kClipFeaturesKey]));
    EXPECT_EQ(f.sync_f.sizes(), (std::vector<int64_t>{2, 40, 24}));
    // The null text condition is the learned encoding of "" (caption 1 of learned_input).
    EXPECT_LT(max_abs_diff(cond->empty_text_features(), f.text_f[1]), 1e-6);
}

TEST(ConditionerTest, GradientsReachEveryEncoderParameter) {
    torch::manual_seed(12);
    Conditioner cond(ConditionerConfig::tiny());
    const auto f = cond(learned_input(2, 1.0, 32, 15));
    // The onset head reads the sync features (its loss is the trainer's); include it so it is covered.
    const auto loss = (f.clip_f * torch::randn_like(f.clip_f)).sum() + (f.sync_f * torch::randn_like(f.sync_f)).sum() +
                      (f.text_f * torch::randn_like(f.text_f)).sum() + cond->sync->predict_onsets(f.sync_f).sum();
    loss.backward();
    int64_t count = 0;
    for (const auto& p : cond->named_parameters()) {
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
        EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
        ++count;
    }
    EXPECT_GT(count, 30);
}

TEST(ConditionerTest, ConfigPresetsJsonAndErrors) {
    const auto bench_net = NetworkConfig::bench();
    const auto c = ConditionerConfig::for_network(bench_net, "bench");
    EXPECT_NO_THROW(c.check_matches(bench_net));
    const auto paper = ConditionerConfig::paper();
    EXPECT_EQ(std::vector<int64_t>({paper.clip_dim, paper.sync_dim, paper.text_dim, paper.text_seq_len}),
              std::vector<int64_t>({1024, 768, 1024, 77}));
    EXPECT_NO_THROW(paper.check_matches(NetworkConfig::small_16k()));
    expect_error([&] { c.check_matches(NetworkConfig::small_16k()); }, ErrorKind::Config,
                 {"clip_dim 128", "small_16k", "1024"});
    expect_error([] { ConditionerConfig::preset("huge"); }, ErrorKind::Config, {"'huge'"});

    auto custom = ConditionerConfig::tiny();
    custom.sync_mode = StreamMode::Precomputed;
    custom.clip_channels = {4, 8};
    const auto back = ConditionerConfig::from_json(custom.to_json());
    EXPECT_EQ(back.to_json(), custom.to_json());
    EXPECT_EQ(back.sync_mode, StreamMode::Precomputed);
    expect_error([] { ConditionerConfig::from_json(nlohmann::json{{"clip_dimm", 3}}); }, ErrorKind::Config,
                 {"'clip_dimm'"});
    expect_error([] { ConditionerConfig::from_json(nlohmann::json{{"text_mode", "frozen"}}); }, ErrorKind::Config,
                 {"text_mode", "'frozen'"});
    expect_error([] { ConditionerConfig::from_json(nlohmann::json{{"text_width", "wide"}}); }, ErrorKind::Config,
                 {"text_width", "wrong type"});
    // The sync onset head: on in the learned presets, off for configs written before it existed
    // (their checkpoints have no onset_head weights), and a model without it refuses to predict.
    EXPECT_TRUE(ConditionerConfig::bench().sync_onset_head);
    EXPECT_TRUE(ConditionerConfig::tiny().sync_onset_head);
    auto old_json = ConditionerConfig::tiny().to_json();
    old_json.erase("sync_onset_head");
    old_json.erase("sync_token_layout");
    EXPECT_EQ(ConditionerConfig::from_json(old_json).sync_token_layout, SyncTokenLayout::Segment);
    EXPECT_EQ(ConditionerConfig::bench().sync_token_layout, SyncTokenLayout::Uniform);
    EXPECT_FALSE(ConditionerConfig::from_json(old_json).sync_onset_head);
    EXPECT_FALSE(Conditioner(ConditionerConfig::from_json(old_json))->sync->has_onset_head());
    Conditioner with_head(ConditionerConfig::tiny());
    EXPECT_EQ(with_head->sync->predict_onsets(torch::randn({2, 40, 24})).sizes(), (std::vector<int64_t>{2, 40}));
    expect_error([&] { with_head->sync->predict_onsets(torch::randn({2, 40, 23})); }, ErrorKind::Data,
                 {"onset head", "[2, 40, 23]"});
    expect_error([&] { Conditioner(ConditionerConfig::from_json(old_json))->sync->predict_onsets(torch::randn({1, 8, 24})); },
                 ErrorKind::Config, {"without an onset head"});

    auto bad = ConditionerConfig::tiny();
    bad.text_width = 15;
    expect_error([&] { Conditioner{bad}; }, ErrorKind::Config, {"text_width 15"});
    bad = ConditionerConfig::tiny();
    bad.sync_frame_size = 16;
    expect_error([&] { bad.validate(); }, ErrorKind::Config, {"sync_frame_size"});
}

// ---- learning -----------------------------------------------------------------------------------

TEST(EncoderLearningTest, SemanticEncoderSeparatesRedFromBlueFrames) {
    torch::manual_seed(13);
    const int threads_before = torch::get_num_threads();
    torch::set_num_threads(1);
    SemanticEncoder enc(SemanticEncoderOptions(16).frame_size(32).channels({8, 8, 16, 16}));
    torch::nn::Linear head(16, 1);
    std::vector<torch::Tensor> params = enc->parameters();
    for (const auto& p : head->parameters()) params.push_back(p);
    torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-2));
    auto g = torch::make_generator<at::CPUGeneratorImpl>(14);
    // Noisy red or blue frames [B, 1, 32, 32, 3], label 1 = red.
    auto make = [&](int64_t B) {
        const auto label = torch::randint(0, 2, {B}, g, torch::kLong).to(torch::kFloat);
        auto x = torch::rand({B, 1, 32, 32, 3}, g) * 0.5;
        const auto red = label.view({B, 1, 1, 1});
        x.select(4, 0).add_(red * 0.5);
        x.select(4, 2).add_((1 - red) * 0.5);
        return std::make_pair(x, label);
    };
    auto loss_of = [&](const torch::Tensor& x, const torch::Tensor& y) {
        return torch::binary_cross_entropy_with_logits(head(enc(x)).view({-1}), y);
    };
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 40; ++step) {
        const auto [x, y] = make(16);
        const auto loss = loss_of(x, y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step == 0) first = loss.item<double>();
        last = loss.item<double>();
    }
    const auto [x, y] = make(64);
    torch::NoGradGuard no_grad;
    const auto pred = (head(enc(x)).view({-1}) > 0).to(torch::kFloat);
    torch::set_num_threads(threads_before);
    EXPECT_LT(last, 0.3 * first) << "first " << first << " last " << last;
    EXPECT_EQ(pred.eq(y).sum().item<int64_t>(), 64);
}

// ---- benchmark (run by hand; the machine is shared, so each figure is the best of 3 runs) ----------
//   build/tests/test_model --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_BenchConditioner*'
TEST(ConditionerTest, DISABLED_BenchConditionerForward) {
    torch::manual_seed(15);
    Conditioner cond(ConditionerConfig::bench());
    std::printf("bench conditioner: clip %lld, sync %lld, text %lld parameters\n",
                static_cast<long long>(cond->num_parameters("clip")), static_cast<long long>(cond->num_parameters("sync")),
                static_cast<long long>(cond->num_parameters("text")));
    const int threads_before = torch::get_num_threads();
    const auto in = learned_input(8, 4.0, 96, 16);
    using clock = std::chrono::steady_clock;
    auto best_ms = [](const std::function<void()>& f) {
        double best = 1e30;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = clock::now();
            f();
            best = std::min(best, std::chrono::duration<double, std::milli>(clock::now() - t0).count());
        }
        return best;
    };
    for (int threads : {1, 2}) {
        torch::set_num_threads(threads);
        {
            torch::InferenceMode guard;
            const double prep = best_ms([&] { prepare_frames(in.frames_25fps, 96, FrameNorm::synchformer(), "bench"); });
            const double clip = best_ms([&] { cond->semantic(in.frames_8fps); });
            const double sync = best_ms([&] { cond->sync(in.frames_25fps); });
            const double text = best_ms([&] { cond->text->encode(in.captions); });
            const double all = best_ms([&] { cond(in); });
            std::printf("bench conditioner: threads %d, batch 8, 4 s (32 + 100 frames of 96 px): inference clip %.1f ms, "
                        "sync %.1f ms (of which frame preparation %.1f ms), text %.1f ms, all %.1f ms\n",
                        threads, clip, sync, prep, text, all);
        }
        const double train = best_ms([&] {
            const auto f = cond(in);
            (f.clip_f.sum() + f.sync_f.sum() + f.text_f.sum()).backward();
        });
        std::printf("bench conditioner: threads %d, batch 8, 4 s: training forward+backward %.1f ms\n", threads, train);
    }
    torch::set_num_threads(threads_before);
}

}  // namespace
}  // namespace v2a::model
