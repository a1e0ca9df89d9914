#include "v2a/io/image.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <cstring>
#include <memory>
#include <string>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"

namespace v2a::io {

void write_png(const std::filesystem::path& path, const torch::Tensor& rgb) {
    V2A_CHECK(rgb.defined() && rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == torch::kUInt8, Usage,
              path.string(), ": a PNG needs RGB pixels [H, W, 3] uint8, got ",
              rgb.defined() ? rgb.sizes() : torch::IntArrayRef{});
    V2A_CHECK(rgb.size(0) >= 1 && rgb.size(1) >= 1 && rgb.size(0) <= 16384 && rgb.size(1) <= 16384, Usage,
              path.string(), ": image size ", rgb.size(1), "x", rgb.size(0), " outside 1..16384");
    const auto pixels = rgb.to(torch::kCPU).contiguous();
    const int height = int(pixels.size(0)), width = int(pixels.size(1));

    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    V2A_CHECK(codec != nullptr, IO, path.string(), ": this FFmpeg has no PNG encoder");
    std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> ctx(avcodec_alloc_context3(codec),
                                                                   [](AVCodecContext* c) { avcodec_free_context(&c); });
    std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame(av_frame_alloc(), [](AVFrame* f) { av_frame_free(&f); });
    std::unique_ptr<AVPacket, void (*)(AVPacket*)> packet(av_packet_alloc(), [](AVPacket* p) { av_packet_free(&p); });
    V2A_CHECK(ctx && frame && packet, IO, path.string(), ": out of memory for the PNG encoder");
    ctx->width = width;
    ctx->height = height;
    ctx->pix_fmt = AV_PIX_FMT_RGB24;
    ctx->time_base = AVRational{1, 1};
    V2A_CHECK(avcodec_open2(ctx.get(), codec, nullptr) >= 0, IO, path.string(), ": cannot open the PNG encoder");
    frame->format = AV_PIX_FMT_RGB24;
    frame->width = width;
    frame->height = height;
    V2A_CHECK(av_frame_get_buffer(frame.get(), 0) >= 0, IO, path.string(), ": cannot allocate the frame");
    const auto* src = pixels.data_ptr<uint8_t>();
    for (int y = 0; y < height; ++y)
        std::memcpy(frame->data[0] + size_t(y) * size_t(frame->linesize[0]), src + size_t(y) * size_t(width) * 3,
                    size_t(width) * 3);
    V2A_CHECK(avcodec_send_frame(ctx.get(), frame.get()) >= 0 && avcodec_send_frame(ctx.get(), nullptr) >= 0 &&
                  avcodec_receive_packet(ctx.get(), packet.get()) >= 0,
              IO, path.string(), ": PNG encoding failed");
    fs::write_atomic(path, std::string(reinterpret_cast<const char*>(packet->data), size_t(packet->size)));
}

}  // namespace v2a::io
