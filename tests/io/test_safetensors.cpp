#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/checkpoint.h"
#include "v2a/io/safetensors.h"

namespace v2a::io {
namespace {

const std::filesystem::path kRef = std::filesystem::path(V2A_TESTDATA) / "safetensors";

// A file image: 8-byte LE length, the header text as given, then the data bytes.
std::string file_image(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xFF);
    return out + header + data;
}

std::filesystem::path write_file(const test::TempDir& dir, const std::string& name, const std::string& bytes) {
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return path;
}

// Loads `bytes` from a file and expects v2a::Error(Data) naming the file and containing `needle`.
void expect_data_error(const std::string& bytes, const std::string& needle) {
    test::TempDir dir;
    const auto path = write_file(dir, "bad.safetensors", bytes);
    try {
        load_safetensors(path);
        ADD_FAILURE() << "no error for: " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data) << e.what();
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    // The in-memory reader applies the same checks.
    EXPECT_THROW(load_safetensors_from_buffer(bytes.data(), bytes.size()), Error) << needle;
}

const std::string k24(24, '\0');

// ---------------------------------------------------------------------------------------------
// Reference files written by the Python library (values in tests/data/safetensors/README.md)
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsTest, LoadsEveryReferenceFileWithSupportedDtype) {
    const std::vector<double> expected = {-3, -2, -1, 0, 1, 2};
    struct Case {
        const char* name;
        torch::ScalarType type;
    };
    for (const Case& c : {Case{"b", torch::kInt8}, Case{"h", torch::kInt16}, Case{"i", torch::kInt32},
                          Case{"e", torch::kHalf}, Case{"f", torch::kFloat}, Case{"d", torch::kDouble}}) {
        SCOPED_TRACE(c.name);
        const SafetensorsFile file = load_safetensors(kRef / (std::string(c.name) + ".safetensors"));
        ASSERT_EQ(file.tensors.size(), 1u);
        const torch::Tensor t = file.tensors.at(c.name);
        EXPECT_EQ(t.scalar_type(), c.type);
        EXPECT_EQ(t.sizes(), torch::IntArrayRef({6}));
        const torch::Tensor as_double = t.to(torch::kDouble);
        for (int k = 0; k < 6; ++k) EXPECT_EQ(as_double[k].item<double>(), expected[k]);
        EXPECT_EQ(file.metadata, (MetadataMap{{"test", "a"}}));
    }
    const SafetensorsFile u8 = load_safetensors(kRef / "B.safetensors");
    const torch::Tensor b = u8.tensors.at("B");
    EXPECT_EQ(b.scalar_type(), torch::kUInt8);
    const std::vector<int> want = {253, 254, 255, 0, 1, 2};
    for (int k = 0; k < 6; ++k) EXPECT_EQ(b[k].item<int>(), want[k]);
}

TEST(SafetensorsTest, RefusesUnsignedWideDtypesNamingTensorAndDtype) {
    for (const auto& [file, dtype] : {std::pair<std::string, std::string>{"H", "U16"}, {"I", "U32"}}) {
        try {
            load_safetensors(kRef / (file + ".safetensors"));
            ADD_FAILURE() << file;
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(e.kind(), ErrorKind::Data);
            EXPECT_NE(msg.find("'" + file + "'"), std::string::npos) << msg;
            EXPECT_NE(msg.find(dtype), std::string::npos) << msg;
            EXPECT_NE(msg.find(file + ".safetensors"), std::string::npos) << msg;
        }
    }
    EXPECT_THROW(load_safetensors(kRef / "overall.safetensors"), Error);  // holds H and I too
}

TEST(SafetensorsTest, OverallFileHeaderAndSupportedSubset) {
    const SafetensorsHeader header = read_safetensors_header(kRef / "overall.safetensors");
    ASSERT_EQ(header.entries.size(), 9u);
    EXPECT_EQ(header.metadata.at("test"), "a");
    // Names sorted (byte order: upper case first); offsets as the reference wrote them.
    EXPECT_EQ(header.entries[0].name, "B");
    EXPECT_EQ(header.entries[1].name, "H");
    EXPECT_EQ(header.entries[1].dtype, "U16");
    EXPECT_EQ(header.entries[1].begin, 6u);
    EXPECT_EQ(header.entries[1].end, 18u);
    ASSERT_NE(header.find("d"), nullptr);
    EXPECT_EQ(header.find("d")->shape, std::vector<int64_t>({6}));
    EXPECT_EQ(header.find("nope"), nullptr);
    uint64_t sum = 0;
    for (const auto& e : header.entries) sum += e.end - e.begin;
    EXPECT_EQ(sum, header.data_size);
    EXPECT_EQ(sum, 6u * (1 + 2 + 4 + 1 + 8 + 2 + 4 + 2 + 4));

    const TensorMap some = load_safetensors_subset(kRef / "overall.safetensors", {"f", "b", "d"});
    ASSERT_EQ(some.size(), 3u);
    EXPECT_TRUE(torch::equal(some.at("f"), torch::arange(-3, 3, torch::kFloat)));
    EXPECT_TRUE(torch::equal(some.at("b"), torch::arange(-3, 3, torch::kInt8)));
    EXPECT_TRUE(torch::equal(some.at("d"), torch::arange(-3, 3, torch::kDouble)));
    EXPECT_THROW(load_safetensors_subset(kRef / "overall.safetensors", {"missing"}), Error);
    EXPECT_THROW(load_safetensors_subset(kRef / "overall.safetensors", {"H"}), Error);
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsTest, WriterBytesMatchTheFormatSpecByHand) {
    TensorMap tensors;
    tensors["b"] = torch::tensor({1, 2, 3}, torch::kUInt8);
    tensors["a"] = torch::tensor({1.0f, -2.0f});
    const std::vector<uint8_t> bytes = serialize_safetensors(tensors, {{"k", "v"}});
    // Compact JSON, "__metadata__" first, sorted names, 132 chars + 4 spaces of padding = 136 = 0x88.
    const std::string header =
        "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}    ";
    std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header;
    expected += std::string("\x00\x00\x80\x3f", 4);  // 1.0f
    expected += std::string("\x00\x00\x00\xc0", 4);  // -2.0f
    expected += std::string("\x01\x02\x03", 3);
    ASSERT_EQ(bytes.size(), expected.size());
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), expected);
}

TEST(SafetensorsTest, WriterWithoutMetadataOmitsTheKeyAndPads) {
    const std::vector<uint8_t> empty = serialize_safetensors({});
    EXPECT_EQ(std::string(empty.begin(), empty.end()), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    TensorMap t;
    t["x"] = torch::zeros({0, 3});
    const std::vector<uint8_t> bytes = serialize_safetensors(t);
    const std::string text(bytes.begin() + 8, bytes.end());
    EXPECT_EQ(text.find("__metadata__"), std::string::npos);
    EXPECT_EQ(text.substr(0, 56), "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}");
    EXPECT_EQ(bytes.size() % 8, 0u);
}

TEST(SafetensorsTest, RoundTripEveryDtypeBitExact) {
    test::TempDir dir;
    TensorMap in;
    torch::manual_seed(3);
    in["f32"] = torch::randn({2, 3});
    in["f64"] = torch::tensor({1e-300, -0.0, std::numeric_limits<double>::infinity()}, torch::kDouble);
    in["i64"] = torch::tensor({std::numeric_limits<int64_t>::min(), int64_t(0), std::numeric_limits<int64_t>::max()},
                              torch::kInt64);
    in["i32"] = torch::tensor({-7, 8}, torch::kInt32);
    in["i16"] = torch::tensor({-32768, 32767}, torch::kInt16);
    in["i8"] = torch::tensor({-128, 127}, torch::kInt8);
    in["u8"] = torch::tensor({0, 255}, torch::kUInt8);
    in["bool"] = torch::tensor({true, false, true});
    in["scalar"] = torch::tensor(2.5);
    // Half / bfloat16 from raw bit patterns: +-0, 1, max, smallest subnormal, inf, a NaN payload.
    const std::vector<int16_t> bits = {0x0000, int16_t(0x8000), 0x3C00, 0x7BFF, 0x0001, 0x7C00, 0x7E01, 0x3F80};
    in["f16"] = torch::tensor(bits, torch::kInt16).view(torch::kHalf);
    in["bf16"] = torch::tensor(bits, torch::kInt16).view(torch::kBFloat16);
    in["strided"] = torch::arange(12, torch::kFloat).reshape({3, 4}).t();  // non-contiguous input
    const MetadataMap meta = {{"v2a_config", "{\"dim\": 32, \"name\": \"a \\\"quoted\\\" b\"}"},
                              {"unicode", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93"},
                              {"newline", "a\nb\tc"}};
    const auto path = dir / "all.safetensors";
    save_safetensors(path, in, meta);

    const SafetensorsFile out = load_safetensors(path);
    EXPECT_EQ(out.metadata, meta);
    ASSERT_EQ(out.tensors.size(), in.size());
    for (const auto& [name, t] : in) {
        SCOPED_TRACE(name);
        const torch::Tensor& r = out.tensors.at(name);
        EXPECT_EQ(r.scalar_type(), t.scalar_type());
        EXPECT_EQ(r.sizes(), t.sizes());
        EXPECT_TRUE(r.is_contiguous());
        // Compare raw bytes (NaN payloads and -0 included).
        const torch::Tensor a = t.contiguous();
        ASSERT_EQ(r.numel() * r.element_size(), a.numel() * a.element_size());
        EXPECT_EQ(std::memcmp(r.data_ptr(), a.data_ptr(), size_t(a.numel() * a.element_size())), 0);
    }
    EXPECT_TRUE(torch::equal(out.tensors.at("f16").view(torch::kInt16), torch::tensor(bits, torch::kInt16)));
    EXPECT_TRUE(torch::equal(out.tensors.at("bf16").view(torch::kInt16), torch::tensor(bits, torch::kInt16)));
    EXPECT_EQ(out.tensors.at("f16")[2].item<float>(), 1.0f);
    EXPECT_EQ(out.tensors.at("bf16")[7].item<float>(), 1.0f);  // 0x3F80 = 1.0 in bfloat16
    EXPECT_TRUE(torch::equal(out.tensors.at("strided"), in["strided"]));

    // The data section starts 8-byte aligned and the tensors are laid out in sorted-name order.
    const SafetensorsHeader header = read_safetensors_header(path);
    EXPECT_EQ((8 + header.header_size) % 8, 0u);
    uint64_t offset = 0;
    for (const auto& e : header.entries) {  // entries are sorted by name
        EXPECT_EQ(e.begin, offset) << e.name;
        offset = e.end;
    }
    EXPECT_EQ(header.find("f16")->dtype, "F16");
    EXPECT_EQ(header.find("bf16")->dtype, "BF16");
    EXPECT_EQ(header.find("bool")->dtype, "BOOL");
    EXPECT_EQ(header.find("scalar")->shape, std::vector<int64_t>{});

    // Same bytes through the in-memory writer / reader.
    const std::vector<uint8_t> bytes = serialize_safetensors(in, meta);
    EXPECT_EQ(bytes, fs::read_bytes(path));
    const SafetensorsFile again = load_safetensors_from_buffer(bytes.data(), bytes.size());
    EXPECT_TRUE(torch::equal(again.tensors.at("i64"), in["i64"]));
}

TEST(SafetensorsTest, SaveIsAtomicAndRefusesUnstorableTensors) {
    test::TempDir dir;
    const auto path = dir / "w.safetensors";
    save_safetensors(path, {{"x", torch::ones({2})}});
    const auto before = fs::read_bytes(path);
    try {
        save_safetensors(path, {{"a", torch::ones({2})}, {"z", torch::ones({2}, torch::kComplexFloat)}});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Data);
        const std::string msg = e.what();
        EXPECT_NE(msg.find("'z'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("ComplexFloat"), std::string::npos) << msg;
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    }
    EXPECT_THROW(save_safetensors(path, {{"__metadata__", torch::ones({1})}}), Error);
    EXPECT_EQ(fs::read_bytes(path), before);  // the old file is untouched
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) files += entry.is_regular_file();
    EXPECT_EQ(files, 1);
}

// ---------------------------------------------------------------------------------------------
// One test per kind of bad input
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsErrorTest, FileTooShort) { expect_data_error(std::string("\x02\0\0", 3), "too short"); }

TEST(SafetensorsErrorTest, HeaderLengthPastEndOfFile) {
    std::string bytes = file_image("{}", "");
    bytes[0] = 100;
    expect_data_error(bytes, "runs past the end of the file");
}

TEST(SafetensorsErrorTest, HeaderLengthAbsurd) {
    expect_data_error(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10), "limit");
}

TEST(SafetensorsErrorTest, HeaderNotJson) { expect_data_error(file_image("{\"a\": [1, 2", ""), "not JSON"); }

TEST(SafetensorsErrorTest, HeaderNotAnObject) { expect_data_error(file_image("[1, 2]  ", ""), "not a JSON object"); }

TEST(SafetensorsErrorTest, HeaderNotUtf8) {
    expect_data_error(file_image("{\"\xff\":{}}", ""), "UTF-8");
}

TEST(SafetensorsErrorTest, UnknownDtype) {
    expect_data_error(file_image(R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", std::string(4, 0)),
                      "unknown dtype 'F12'");
}

TEST(SafetensorsErrorTest, ShapeSizeMismatch) {
    expect_data_error(file_image(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(20, 0)),
                      "needs 6 x 4 bytes");
}

TEST(SafetensorsErrorTest, OffsetsOutOfRange) {
    expect_data_error(file_image(R"({"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}})", std::string(16, 0)),
                      "out of range");
}

TEST(SafetensorsErrorTest, OffsetsReversed) {
    expect_data_error(file_image(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}})", std::string(8, 0)),
                      "end before they begin");
}

TEST(SafetensorsErrorTest, OverlappingOffsets) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                 std::string(16, 0)),
                      "overlaps tensor 'a'");
}

TEST(SafetensorsErrorTest, GapBetweenTensors) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                                 k24),
                      "gap in the data section");
}

TEST(SafetensorsErrorTest, TrailingBytesNotCovered) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", k24),
                      "8 trailing bytes");
}

TEST(SafetensorsErrorTest, NegativeShape) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, 0)),
                      "non-negative integers");
}

TEST(SafetensorsErrorTest, NonIntegerShape) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, 0)),
                      "non-negative integers");
}

TEST(SafetensorsErrorTest, MissingField) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, 0)), "\"shape\"");
}

TEST(SafetensorsErrorTest, DuplicateNames) {
    expect_data_error(file_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 std::string(8, 0)),
                      "key 'a' more than once");
}

TEST(SafetensorsErrorTest, MetadataValueNotString) {
    expect_data_error(file_image(R"({"__metadata__":{"n":3}})", ""), "must be a string");
}

TEST(SafetensorsErrorTest, BoolByteNotZeroOrOne) {
    expect_data_error(file_image(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", "\x01\x07"),
                      "byte value 7");
}

TEST(SafetensorsErrorTest, MissingFileIsAnIoErrorNamingIt) {
    try {
        load_safetensors("/nonexistent/w.safetensors");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/w.safetensors"), std::string::npos);
    }
}

TEST(SafetensorsErrorTest, DirectoryIsAnIoErrorNamingIt) {
    test::TempDir dir;
    try {
        load_safetensors(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::IO);
        EXPECT_NE(std::string(e.what()).find(dir.path().string() + ": is not a regular file"), std::string::npos)
            << e.what();
    }
}

TEST(SafetensorsTest, HeaderPaddingWithSpacesIsAccepted) {
    const std::string image =
        file_image(R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}         )", std::string("\x05\0\0\0", 4));
    const SafetensorsFile f = load_safetensors_from_buffer(image.data(), image.size());
    EXPECT_EQ(f.tensors.at("a").item<int>(), 5);
}

TEST(SafetensorsTest, ShardedIndexLoadsEveryShard) {
    test::TempDir dir;
    save_safetensors(dir / "m-00001.safetensors", {{"a", torch::ones({2})}, {"b", torch::zeros({1})}});
    save_safetensors(dir / "m-00002.safetensors", {{"c", torch::full({3}, 7.0)}});
    fs::write_atomic(dir / "m.index.json",
                     std::string(R"({"metadata":{"total_size":24},"weight_map":{"a":"m-00001.safetensors",)"
                                 R"("b":"m-00001.safetensors","c":"m-00002.safetensors"}})"));
    const SafetensorsFile all = load_safetensors_sharded(dir / "m.index.json");
    ASSERT_EQ(all.tensors.size(), 3u);
    EXPECT_EQ(all.tensors.at("c")[2].item<float>(), 7.0f);
    EXPECT_EQ(all.metadata.at("total_size"), "24");

    fs::write_atomic(dir / "bad.index.json",
                     std::string(R"({"weight_map":{"a":"m-00002.safetensors","c":"m-00002.safetensors"}})"));
    try {
        load_safetensors_sharded(dir / "bad.index.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.index.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'a'"), std::string::npos);
    }
}

TEST(SafetensorsTest, MutatedFilesLoadOrThrowOnlyV2aErrors) {
    // Seeded byte mutations and truncations of a valid file: each must load or throw v2a::Error,
    // never another exception type (nlohmann, c10) and never read out of bounds.
    TensorMap tensors;
    tensors["a"] = torch::arange(6, torch::kFloat).reshape({2, 3});
    tensors["m"] = torch::tensor({true, false});
    tensors["h"] = torch::ones({3}, torch::kHalf);
    const std::vector<uint8_t> good = serialize_safetensors(tensors, {{"k", "v"}});
    uint64_t state = 12345;
    auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull, state >> 33; };
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        std::vector<uint8_t> bytes = good;
        const int n_flips = 1 + int(next() % 3);
        for (int k = 0; k < n_flips; ++k) bytes[next() % bytes.size()] = uint8_t(next());
        if (trial % 5 == 0) bytes.resize(next() % bytes.size());
        try {
            load_safetensors_from_buffer(bytes.data(), bytes.size(), "mutant");
            ++loaded;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Data);
            ++refused;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "trial " << trial << ": non-v2a exception: " << e.what();
        }
    }
    EXPECT_GT(loaded, 0);   // flips inside tensor data load fine
    EXPECT_GT(refused, 0);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

struct TinyNetImpl : torch::nn::Module {
    explicit TinyNetImpl(int64_t hidden = 4) {
        fc = register_module("fc", torch::nn::Linear(3, hidden));
        norm = register_module("norm", torch::nn::BatchNorm1d(hidden));
        scale = register_parameter("scale", torch::ones({1}));
    }
    torch::nn::Linear fc{nullptr};
    torch::nn::BatchNorm1d norm{nullptr};
    torch::Tensor scale;
};
TORCH_MODULE(TinyNet);

bool same_state(const torch::nn::Module& a, const torch::nn::Module& b) {
    const TensorMap sa = state_dict(a), sb = state_dict(b);
    if (sa.size() != sb.size()) return false;
    for (const auto& [name, t] : sa)
        if (!sb.count(name) || !torch::equal(t, sb.at(name))) return false;
    return true;
}

TEST(CheckpointTest, RoundTripRestoresParametersBuffersAndConfig) {
    test::TempDir dir;
    torch::manual_seed(1);
    TinyNet a;
    a->norm->forward(a->fc->forward(torch::randn({8, 3})));  // moves the running stats off their init
    EXPECT_EQ(a->norm->num_batches_tracked.item<int64_t>(), 1);
    const auto path = dir / "model.safetensors";
    const std::string config = R"({"hidden": 4, "name": "tiny, \"quoted\""})";
    save_checkpoint(path, *a, config, {{"step", "17"}});

    torch::manual_seed(2);
    TinyNet b;
    ASSERT_FALSE(same_state(*a, *b));
    std::string got_config;
    const StateDictReport report = load_checkpoint(path, *b, true, &got_config);
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.n_loaded, 8u);  // fc.weight, fc.bias, norm.{weight,bias,running_mean,running_var,num_batches_tracked}, scale
    EXPECT_TRUE(same_state(*a, *b));
    EXPECT_EQ(got_config, config);
    EXPECT_EQ(read_checkpoint_config(path), config);

    const Checkpoint ckpt = read_checkpoint(path);
    EXPECT_EQ(ckpt.format_version, kCheckpointFormatVersion);
    EXPECT_EQ(ckpt.metadata.at("step"), "17");
    EXPECT_EQ(ckpt.metadata.at("format"), "pt");
    EXPECT_EQ(ckpt.tensors.at("norm.num_batches_tracked").scalar_type(), torch::kInt64);
    // Loading must not turn parameters into non-leaf tensors or break autograd.
    EXPECT_TRUE(b->fc->weight.requires_grad());
    EXPECT_TRUE(b->fc->weight.is_leaf());
}

TEST(CheckpointTest, StrictLoadListsEveryProblemAndLeavesModuleUnchanged) {
    test::TempDir dir;
    TinyNet source(4);
    TensorMap tensors = state_dict(*source);
    tensors.erase("scale");                           // missing
    tensors["extra.weight"] = torch::zeros({2});      // unexpected
    tensors["fc.bias"] = torch::zeros({5});           // shape mismatch
    const auto path = dir / "bad.safetensors";
    save_safetensors(path, tensors, {{kCheckpointFormatKey, "1"}});

    TinyNet target(4);
    const TensorMap before = state_dict(*target);
    std::map<std::string, torch::Tensor> before_copy;
    for (const auto& [k, v] : before) before_copy[k] = v.clone();
    try {
        load_checkpoint(path, *target, true);
        FAIL();
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.kind(), ErrorKind::Model);
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("missing keys (1): scale"), std::string::npos) << msg;
        EXPECT_NE(msg.find("unexpected keys (1): extra.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("fc.bias: module [4] vs file [5]"), std::string::npos) << msg;
    }
    for (const auto& [k, v] : state_dict(*target)) EXPECT_TRUE(torch::equal(v, before_copy.at(k))) << k;

    // Non-strict: the matching keys load, the lists come back.
    const StateDictReport report = load_checkpoint(path, *target, false);
    EXPECT_EQ(report.missing, std::vector<std::string>{"scale"});
    EXPECT_EQ(report.unexpected, std::vector<std::string>{"extra.weight"});
    ASSERT_EQ(report.mismatched.size(), 1u);
    EXPECT_EQ(report.n_loaded, 6u);
    EXPECT_TRUE(torch::equal(target->fc->weight, source->fc->weight));
    EXPECT_TRUE(torch::equal(target->fc->bias, before_copy.at("fc.bias")));  // mismatched key not touched
}

TEST(CheckpointTest, LoadStateDictConvertsDtype) {
    TinyNet source;
    TensorMap half;
    for (const auto& [k, v] : state_dict(*source)) half[k] = v.is_floating_point() ? v.to(torch::kHalf) : v;
    TinyNet target;
    EXPECT_TRUE(load_state_dict(*target, half).ok());
    EXPECT_EQ(target->fc->weight.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::allclose(target->fc->weight, source->fc->weight, 0, 1e-3));
}

TEST(CheckpointTest, RefusesPlainFilesAndNewerFormats) {
    test::TempDir dir;
    TinyNet net;
    save_safetensors(dir / "plain.safetensors", state_dict(*net));
    save_safetensors(dir / "future.safetensors", state_dict(*net), {{kCheckpointFormatKey, "99"}});
    save_safetensors(dir / "garbled.safetensors", state_dict(*net), {{kCheckpointFormatKey, "1x"}});
    for (const char* name : {"plain.safetensors", "future.safetensors", "garbled.safetensors"}) {
        try {
            load_checkpoint(dir / name, *net);
            ADD_FAILURE() << name;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::Data);
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace v2a::io
