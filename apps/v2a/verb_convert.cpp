// `v2a convert`: MMAudio's PyTorch checkpoints (.pth as torch.save writes them) -> v2a safetensors.
//   v2a convert --in mmaudio_small_16k.pth --out small_16k.safetensors      network -> a v2a generator
//   v2a convert --in v1-16.pth --out vae16k.safetensors                       VAE -> a converted MMAudio VAE
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "v2a/flow/mmaudio_convert.h"
#include "verbs.h"

namespace v2a::cli {

void add_convert(CLI::App& app) {
    auto* cmd = app.add_subcommand("convert", "convert an MMAudio PyTorch checkpoint (.pth) to v2a safetensors");
    struct Args {
        std::string in, out, kind = "auto";
        flow::ConvertOptions options;
    };
    auto a = std::make_shared<Args>();
    cmd->add_option("--in", a->in, ".pth (torch.save zip format) or .safetensors state dict")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--out", a->out, "output .safetensors (written atomically)")->required();
    cmd->add_option("--kind", a->kind, "auto | network | vae")->capture_default_str();
    cmd->add_option("--key", a->options.key,
                    "dotted path of the state dict inside the file (default: found: ema, weights, generator, model, "
                    "state_dict, then 'module.')");
    cmd->add_option("--duration", a->options.duration, "seconds the network's sequence lengths are built for")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 30.0));
    cmd->add_flag("--keep-dtype", a->options.keep_dtype, "keep fp16/bf16 tensors as they are (default: fp32)");
    cmd->callback([a] {
        a->options.kind = flow::checkpoint_kind_from_string(a->kind);
        const auto r = flow::convert_mmaudio_checkpoint(a->in, a->out, a->options);
        std::printf("convert: %s (%s) -> %s: %zu tensors\n", a->in.c_str(), flow::to_string(r.kind).c_str(),
                    a->out.c_str(), r.tensors);
        if (!r.wrapper.empty()) std::printf("convert: state dict found under '%s'\n", r.wrapper.c_str());
        for (const auto& d : r.converted_dtypes) std::printf("convert: dtype %s\n", d.c_str());
        size_t shown = 0;
        for (const auto& k : r.ignored) {
            if (shown++ < 8) std::printf("convert: left out %s\n", k.c_str());
        }
        if (r.ignored.size() > 8) std::printf("convert: ... and %zu more left out\n", r.ignored.size() - 8);
        std::printf("convert: config %s\n", r.config.c_str());
    });
}

}  // namespace v2a::cli
