#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/feature_cache.h"

namespace v2a::io {
namespace {

namespace stdfs = std::filesystem;

// A stand-in for decoding: deterministic "frames" [T, H, W, 3] uint8 and "audio" [S] float.
TensorMap fake_decode(int64_t t, int* calls) {
    ++*calls;
    TensorMap out;
    out["frames"] = (torch::arange(t * 4 * 5 * 3, torch::kInt64).reshape({t, 4, 5, 3}) % 251).to(torch::kUInt8);
    out["audio"] = torch::linspace(-1, 1, 160);
    return out;
}

CacheKey key_for(const std::string& id, const std::string& options = "video fps=8") {
    CacheKey k;
    k.clip_id = id;
    k.source_size = 1234;
    k.source_mtime_ns = 42;
    k.options = options;
    return k;
}

size_t count_temp_files(const stdfs::path& dir) {
    size_t n = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(dir))
        n += e.path().filename().string().find(".tmp") != std::string::npos;
    return n;
}

TEST(FeatureCacheTest, ComputesOnceThenHits) {
    test::TempDir dir;
    FeatureCache cache(dir / "cache");
    int calls = 0;
    const TensorMap first = cache.get_or_compute(key_for("a"), [&] { return fake_decode(8, &calls); });
    const TensorMap second = cache.get_or_compute(key_for("a"), [&] { return fake_decode(8, &calls); });
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(second.size(), 2u);
    EXPECT_EQ(second.at("frames").scalar_type(), torch::kUInt8);
    EXPECT_EQ(second.at("frames").sizes(), torch::IntArrayRef({8, 4, 5, 3}));
    EXPECT_TRUE(torch::equal(first.at("frames"), second.at("frames")));
    EXPECT_TRUE(torch::equal(first.at("audio"), second.at("audio")));
    const FeatureCacheStats s = cache.stats();
    EXPECT_EQ(s.hits, 1u);
    EXPECT_EQ(s.misses, 1u);
    EXPECT_EQ(s.writes, 1u);
    EXPECT_EQ(s.corrupt, 0u);
    EXPECT_TRUE(stdfs::exists(cache.entry_path(key_for("a"))));
    EXPECT_EQ(count_temp_files(dir.path()), 0u);

    // A second cache object on the same folder (next epoch, another process) hits too.
    FeatureCache again(dir / "cache");
    again.get_or_compute(key_for("a"), [&] { return fake_decode(8, &calls); });
    EXPECT_EQ(calls, 1);
}

TEST(FeatureCacheTest, EveryKeyPartSeparatesEntries) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    int calls = 0;
    auto run = [&](const CacheKey& k) { cache.get_or_compute(k, [&] { return fake_decode(2, &calls); }); };
    run(key_for("a"));
    run(key_for("b"));                       // other clip
    run(key_for("a", "video fps=25"));       // other decode options
    CacheKey size = key_for("a");
    size.source_size = 1235;                 // source file rewritten
    run(size);
    CacheKey mtime = key_for("a");
    mtime.source_mtime_ns = 43;              // source touched
    run(mtime);
    EXPECT_EQ(calls, 5);
    run(key_for("a"));
    EXPECT_EQ(calls, 5);
}

TEST(FeatureCacheTest, KeyForFileFollowsTheSourceFile) {
    test::TempDir dir;
    const auto source = dir / "clip.mp4";
    std::ofstream(source) << "abc";
    const CacheKey a = CacheKey::for_file("c", source, "o");
    EXPECT_EQ(a.source_size, 3u);
    EXPECT_EQ(CacheKey::for_file("c", source, "o").hash(), a.hash());
    std::ofstream(source) << "abcdef";
    const CacheKey b = CacheKey::for_file("c", source, "o");
    EXPECT_EQ(b.source_size, 6u);
    EXPECT_NE(b.hash(), a.hash());
    try {
        CacheKey::for_file("c", dir / "gone.mp4", "o");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find("gone.mp4"), std::string::npos);
    }
}

TEST(FeatureCacheTest, DescribeCoversDecodeOptions) {
    VideoDecodeOptions v;
    VideoDecodeOptions v8 = v;
    v8.fps = 8.0;
    EXPECT_NE(describe(v), describe(v8));
    VideoDecodeOptions crop = v;
    crop.resize = ResizeMode::CenterCrop;
    EXPECT_NE(describe(v), describe(crop));
    VideoDecodeOptions threads = v;
    threads.threads = 4;  // does not change the decoded frames
    EXPECT_EQ(describe(v), describe(threads));
    EXPECT_EQ(describe(v8), "video fps=8 size=96x96 start=0 duration=-1 resize=stretch pad=repeat_last");
    AudioDecodeOptions a;
    AudioDecodeOptions a44 = a;
    a44.sample_rate = 44100;
    EXPECT_NE(describe(a), describe(a44));
    EXPECT_EQ(describe(a), "audio sr=16000 start=0 duration=-1 pad=repeat_last");
}

TEST(FeatureCacheTest, CorruptEntriesAreRecomputedNotFatal) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    int calls = 0;
    const CacheKey key = key_for("a");
    cache.get_or_compute(key, [&] { return fake_decode(4, &calls); });
    const stdfs::path entry = cache.entry_path(key);
    const auto good = fs::read_bytes(entry);

    // Truncated (a killed copy), garbage, empty.
    const std::vector<std::vector<uint8_t>> damaged = {
        std::vector<uint8_t>(good.begin(), good.begin() + std::ptrdiff_t(good.size() / 2)),
        std::vector<uint8_t>(100, 0xAB), std::vector<uint8_t>()};
    for (const auto& bytes : damaged) {
        std::ofstream(entry, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        const TensorMap value = cache.get_or_compute(key, [&] { return fake_decode(4, &calls); });
        EXPECT_EQ(value.at("frames").size(0), 4);
        EXPECT_EQ(fs::read_bytes(entry), good);  // rewritten whole
    }
    EXPECT_EQ(calls, 4);
    EXPECT_EQ(cache.stats().corrupt, 3u);
}

TEST(FeatureCacheTest, ForeignFileAtTheEntryPathIsAMiss) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    int calls = 0;
    cache.get_or_compute(key_for("a"), [&] { return fake_decode(3, &calls); });
    // Pretend a hash collision: the entry of "a" sits where "b" would be.
    const stdfs::path b_path = cache.entry_path(key_for("b"));
    fs::ensure_dir(b_path.parent_path());
    stdfs::copy_file(cache.entry_path(key_for("a")), b_path, stdfs::copy_options::overwrite_existing);
    const TensorMap b = cache.get_or_compute(key_for("b"), [&] { return fake_decode(5, &calls); });
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(b.at("frames").size(0), 5);
    EXPECT_EQ(cache.stats().corrupt, 0u);
}

TEST(FeatureCacheTest, ComputeErrorPropagatesAndStoresNothing) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    EXPECT_THROW(cache.get_or_compute(key_for("a"), []() -> TensorMap { fail(ErrorKind::Data, "x.mp4: truncated"); }),
                 Error);
    EXPECT_FALSE(stdfs::exists(cache.entry_path(key_for("a"))));
    EXPECT_TRUE(cache.index().empty());
}

TEST(FeatureCacheTest, IndexListsEntriesAndSkipsDamagedLines) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    int calls = 0;
    cache.get_or_compute(key_for("a"), [&] { return fake_decode(2, &calls); });
    cache.get_or_compute(key_for("b"), [&] { return fake_decode(2, &calls); });
    cache.put(key_for("a"), fake_decode(3, &calls));  // replaced: still one entry for "a"
    std::ofstream(dir / "index.jsonl", std::ios::app) << "{\"hash\": \"trunc";  // killed mid-line
    const auto entries = cache.index();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].clip_id, "a");
    EXPECT_EQ(entries[0].hash, key_for("a").hash());
    EXPECT_EQ(entries[0].file, cache.entry_path(key_for("a")));
    EXPECT_EQ(entries[0].bytes, stdfs::file_size(cache.entry_path(key_for("a"))));
    EXPECT_EQ(entries[1].clip_id, "b");
    cache.remove(key_for("b"));
    EXPECT_EQ(cache.index().size(), 1u);
}

TEST(FeatureCacheTest, ConcurrentUsersOfOneKeyAllGetTheValue) {
    test::TempDir dir;
    FeatureCache cache(dir.path());
    std::vector<std::thread> threads;
    std::vector<int64_t> sizes(4, 0);
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] {
            int calls = 0;
            sizes[k] = cache.get_or_compute(key_for("same"), [&] { return fake_decode(6, &calls); })
                           .at("frames")
                           .size(0);
        });
    for (auto& t : threads) t.join();
    for (int64_t s : sizes) EXPECT_EQ(s, 6);
    EXPECT_EQ(count_temp_files(dir.path()), 0u);
    int calls = 0;
    cache.get_or_compute(key_for("same"), [&] { return fake_decode(6, &calls); });
    EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace v2a::io
