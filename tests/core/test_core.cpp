#include <gtest/gtest.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <thread>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fp32_norm.h"
#include "v2a/core/fs.h"
#include "v2a/core/jsonl.h"
#include "v2a/core/precision.h"
#include "v2a/core/progress.h"
#include "v2a/core/threads.h"

namespace v2a {
namespace {

TEST(ErrorTest, CheckThrowsWithKindAndMessage) {
    try {
        V2A_CHECK(1 + 1 == 3, Data, "file.csv", ":", 7, ": bad row");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data);
        EXPECT_STREQ(e.what(), "file.csv:7: bad row");
    }
    EXPECT_NO_THROW(V2A_CHECK(true, Data, "unused"));
}

TEST(FsTest, AtomicWriteReplacesWholeFileAndLeavesNoTemp) {
    test::TempDir dir;
    const auto path = dir / "sub" / "a.txt";
    fs::write_atomic(path, std::string("first"));
    fs::write_atomic(path, std::string("second"));
    EXPECT_EQ(fs::read_text(path), "second");
    int files = 0;
    for (auto& entry : std::filesystem::directory_iterator(path.parent_path())) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 1);
}

TEST(FsTest, FailedWriterLeavesOldFileAndNoTemp) {
    test::TempDir dir;
    const auto path = dir / "keep.txt";
    fs::write_atomic(path, std::string("old"));
    EXPECT_THROW(fs::write_atomic_with(path,
                                       [](const std::filesystem::path& tmp) {
                                           std::ofstream(tmp) << "partial";
                                           fail(ErrorKind::IO, "simulated crash");
                                       }),
                 Error);
    EXPECT_EQ(fs::read_text(path), "old");
    int files = 0;
    for (auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 1);
}

TEST(FsTest, StaleTempFilesOfDeadWritersAreRemovedLiveOnesKept) {
    // What a SIGKILL inside write_atomic leaves: <stem>.tmp<pid>_<n><ext>. A pid above the kernel's
    // pid_max (2^22) cannot be running; our own pid is.
    test::TempDir dir;
    const std::string dead = "4194999", live = std::to_string(::getpid());
    for (const std::string& name : std::vector<std::string>{"generator.tmp" + dead + "_0.safetensors", "metrics.tmp" + dead + "_12",
                                                            "a.tmp" + live + "_3.wav", "model.safetensors", "notes.tmpl.txt",
                                                            "x.tmp12_.wav"}) {
        fs::write_atomic(dir / name, std::string("x"));
    }
    EXPECT_EQ(fs::remove_stale_temp_files(dir.path()), 2);
    EXPECT_FALSE(std::filesystem::exists(dir / ("generator.tmp" + dead + "_0.safetensors")));
    EXPECT_FALSE(std::filesystem::exists(dir / ("metrics.tmp" + dead + "_12")));
    for (const auto& kept : {"a.tmp" + live + "_3.wav", std::string("model.safetensors"), std::string("notes.tmpl.txt"),
                             std::string("x.tmp12_.wav")}) {
        EXPECT_TRUE(std::filesystem::exists(dir / kept)) << kept;
    }
    EXPECT_EQ(fs::remove_stale_temp_files(dir / "no_such_dir"), 0);
}

TEST(FsTest, ReadMissingFileNamesIt) {
    try {
        fs::read_bytes("/nonexistent/x.bin");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/x.bin"), std::string::npos);
        EXPECT_EQ(e.kind(), ErrorKind::IO);
    }
}

TEST(JsonlTest, RoundTripAndBadLineNamed) {
    test::TempDir dir;
    const auto path = dir / "log.jsonl";
    {
        JsonlWriter log(path, false);
        log.write({{"step", 1}, {"loss", 0.5}});
    }
    {
        JsonlWriter log(path, true);  // resumed job appends
        log.write({{"step", 2}, {"loss", 0.25}});
    }
    auto records = read_jsonl(path);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1]["step"], 2);
    EXPECT_DOUBLE_EQ(records[0]["loss"].get<double>(), 0.5);
    std::ofstream(path, std::ios::app) << "{not json\n";
    try {
        read_jsonl(path);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
    }
}

TEST(ThreadsTest, ParallelForVisitsEveryIndexOnceAndRethrows) {
    std::vector<std::atomic<int>> seen(100);
    parallel_for(100, 4, [&](int64_t i) { seen[size_t(i)]++; });
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
    EXPECT_THROW(parallel_for(10, 2,
                              [](int64_t i) {
                                  if (i == 5) fail(ErrorKind::Data, "item 5 is bad");
                              }),
                 Error);
}

// The CLI's order -- configure threads, load clips with workers, then train -- must leave the caller
// (and threads started later) on the configured intra-op count: before the fix `v2a train` on an
// uncached dataset trained on one thread with --threads 2. ctest runs each test in its own process,
// so ATen's lazy per-thread initialisation happens here exactly as in the CLI (test_main configures 2).
TEST(ThreadsTest, WorkersDoNotLeaveTheCallerOnOneThread) {
    configure_threads(2);
    parallel_for(4, 2, [](int64_t) { (void)at::ones({64}).sum().item<float>(); });
    EXPECT_EQ(at::get_num_threads(), 2);
    int in_new_thread = 0;
    std::thread([&] { in_new_thread = at::get_num_threads(); }).join();
    EXPECT_EQ(in_new_thread, 2);
}

TEST(PrecisionTest, Bf16ScopeRunsMatmulsInBf16AndRestoresFp32) {
    const auto a = at::randn({4, 8}), b = at::randn({8, 3});
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
    {
        AutocastScope bf16(Precision::Bf16);
        EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
        {
            AutocastScope inner(Precision::Bf16);  // scopes nest
            EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
        }
        EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
        // bf16 keeps 8 mantissa bits: about 3 significant digits.
        const auto exact = at::mm(a.to(at::kDouble), b.to(at::kDouble));
        const auto got = at::mm(a, b).to(at::kDouble);
        EXPECT_LT(((got - exact).abs().max() / exact.abs().max()).item<double>(), 0.02);
        EXPECT_GT(((got - exact).abs().max() / exact.abs().max()).item<double>(), 0.0);
    }
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
    {
        AutocastScope fp32(Precision::Fp32);  // does nothing
        EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
    }
    // Norms after a bf16 matmul compute in fp32 (1.13's CPU kernels reject bf16 input with fp32 weights).
    {
        AutocastScope bf16(Precision::Bf16);
        Fp32GroupNorm gn(torch::nn::GroupNormOptions(2, 4));
        Fp32LayerNorm ln(torch::nn::LayerNormOptions({4}));
        const auto h = at::mm(at::randn({6, 8}), at::randn({8, 4}));  // bf16 under autocast
        ASSERT_EQ(h.scalar_type(), at::kBFloat16);
        EXPECT_EQ(gn(h).scalar_type(), at::kFloat);
        EXPECT_EQ(ln(h).scalar_type(), at::kFloat);
        EXPECT_TRUE(torch::allclose(gn(h), gn(h.to(at::kFloat))));
    }
    EXPECT_EQ(parse_precision("bf16"), Precision::Bf16);
    EXPECT_STREQ(precision_name(Precision::Fp32), "fp32");
    EXPECT_THROW(parse_precision("fp16"), Error);
}

TEST(ProgressTest, FormatsDurations) {
    EXPECT_EQ(format_duration(12.34), "12.3s");
    EXPECT_EQ(format_duration(187), "3m07s");
    EXPECT_EQ(format_duration(3720), "1h02m");
    EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace v2a

#include "v2a/core/text.h"

namespace v2a {
namespace {

TEST(TextTest, Utf8ValidationFindsFirstBadByte) {
    EXPECT_EQ(utf8_invalid_at(std::string("plain ascii")), std::string::npos);
    EXPECT_EQ(utf8_invalid_at(std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5")), std::string::npos);
    EXPECT_EQ(utf8_invalid_at(std::string("ab\xff")), 2u);              // not a lead byte
    EXPECT_EQ(utf8_invalid_at(std::string("a\xc3")), 1u);               // truncated sequence
    EXPECT_EQ(utf8_invalid_at(std::string("\xc0\xaf")), 0u);            // overlong '/'
    EXPECT_EQ(utf8_invalid_at(std::string("x\xed\xa0\x80")), 1u);       // UTF-16 surrogate
    EXPECT_EQ(utf8_invalid_at(std::string("\xf4\x90\x80\x80")), 0u);    // past U+10FFFF
}

}  // namespace
}  // namespace v2a
