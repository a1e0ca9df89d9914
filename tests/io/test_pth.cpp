// Reading torch.save files: the fixture .pth files written by PyTorch hold exactly the tensors of their
// safetensors twins; nested dicts flatten to dotted names; fp16/bf16 survive; bad files are named.
#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>

#include "support/expect_error.h"
#include "support/parity_fixture.h"
#include "support/temp_dir.h"
#include "v2a/io/pth.h"

namespace v2a::io {
namespace {

void write_bytes(const std::filesystem::path& p, const std::vector<char>& bytes) {
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(PthTest, TorchSaveFilesHoldTheSameTensorsAsTheirSafetensorsTwins) {
    for (const auto& [pth, st] : {std::pair{"mmaudio_net.pth", "net_weights.safetensors"},
                                  std::pair{"mmaudio_vae.pth", "vae_weights.safetensors"}}) {
        SCOPED_TRACE(pth);
        const auto file = load_pth(test::parity_dir() / pth);
        const auto want = test::parity_file(st).tensors;
        ASSERT_EQ(file.tensors.size(), want.size());
        for (const auto& [k, t] : want) {
            ASSERT_TRUE(file.tensors.count(k)) << k;
            EXPECT_TRUE(torch::equal(file.tensors.at(k), t)) << k;
        }
    }
}

TEST(PthTest, NestedDictsFlattenAndDtypesSurvive) {
    test::TempDir dir;
    c10::impl::GenericDict weights(c10::StringType::get(), c10::AnyType::get());
    weights.insert("module.a.weight", torch::arange(6, torch::kFloat).reshape({2, 3}).to(torch::kHalf));
    weights.insert("module.b", torch::ones({4}, torch::kBFloat16));
    c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
    top.insert("weights", weights);
    top.insert("it", int64_t(12000));
    write_bytes(dir.path() / "ck.pth", torch::jit::pickle_save(top));

    const auto file = load_pth(dir.path() / "ck.pth");
    ASSERT_EQ(file.tensors.size(), 2u);
    EXPECT_EQ(file.tensors.at("weights.module.a.weight").scalar_type(), torch::kHalf);
    EXPECT_EQ(file.tensors.at("weights.module.b").scalar_type(), torch::kBFloat16);
    EXPECT_FLOAT_EQ(file.tensors.at("weights.module.a.weight")[1][2].item<float>(), 5.0f);
    EXPECT_EQ(file.non_tensors, std::vector<std::string>{"it"});

    auto sub = select_prefix(file.tensors, "weights", "ck.pth");
    EXPECT_TRUE(strip_module_prefix(sub));
    EXPECT_TRUE(sub.count("a.weight") && sub.count("b")) << "module. removed from every key";
    EXPECT_FALSE(strip_module_prefix(sub));  // nothing shared any more: unchanged
    EXPECT_TRUE(sub.count("a.weight") && sub.count("b"));
    test::expect_error([&] { select_prefix(file.tensors, "ema", "ck.pth"); }, ErrorKind::Data, "weights");
}

TEST(PthTest, BadFilesAreNamed) {
    test::TempDir dir;
    write_bytes(dir.path() / "text.pth", {'h', 'e', 'l', 'l', 'o'});
    test::expect_error([&] { load_pth(dir.path() / "text.pth"); }, ErrorKind::Data, "text.pth");
    auto bytes = torch::jit::pickle_save(c10::IValue(torch::ones({3})));
    bytes.resize(bytes.size() / 2);  // a torn download
    write_bytes(dir.path() / "torn.pth", bytes);
    test::expect_error([&] { load_pth(dir.path() / "torn.pth"); }, ErrorKind::Data, "torn.pth");
    test::expect_error([&] { load_pth(dir.path() / "missing.pth"); }, ErrorKind::IO, "missing.pth");
}

}  // namespace
}  // namespace v2a::io
