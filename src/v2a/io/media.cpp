// Media I/O on the FFmpeg libraries and libsndfile. Every FFmpeg object lives in a unique_ptr with a
// custom deleter, so every error path (a throw from anywhere) frees what was allocated.
#include "v2a/io/media.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}
#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"

namespace v2a::io {
namespace {

// ------------------------------------------------------------------------------------------------
// RAII and error helpers
// ------------------------------------------------------------------------------------------------

struct InputCloser {
    void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct OutputCloser {
    void operator()(AVFormatContext* c) const {
        if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
        avformat_free_context(c);
    }
};
struct CodecCloser {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameCloser {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketCloser {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsCloser {
    void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct SwrCloser {
    void operator()(SwrContext* s) const { swr_free(&s); }
};
struct SndCloser {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
using InputPtr = std::unique_ptr<AVFormatContext, InputCloser>;
using OutputPtr = std::unique_ptr<AVFormatContext, OutputCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecCloser>;
using FramePtr = std::unique_ptr<AVFrame, FrameCloser>;
using PacketPtr = std::unique_ptr<AVPacket, PacketCloser>;
using SwsPtr = std::unique_ptr<SwsContext, SwsCloser>;
using SwrPtr = std::unique_ptr<SwrContext, SwrCloser>;
using SndPtr = std::unique_ptr<SNDFILE, SndCloser>;

/// Channel layouts own heap memory for custom orders; this keeps them scoped.
struct Layout {
    AVChannelLayout l{};
    Layout() = default;
    explicit Layout(int channels) { av_channel_layout_default(&l, channels); }
    ~Layout() { av_channel_layout_uninit(&l); }
    Layout(const Layout&) = delete;
    Layout& operator=(const Layout&) = delete;
};

FramePtr new_frame() {
    FramePtr f(av_frame_alloc());
    V2A_ASSERT(f != nullptr);
    return f;
}
PacketPtr new_packet() {
    PacketPtr p(av_packet_alloc());
    V2A_ASSERT(p != nullptr);
    return p;
}

std::string av_error(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(err, buf, sizeof(buf));
    return buf;
}

void init_ffmpeg() {
    static std::once_flag once;
    // FFmpeg's own messages go to stderr; ours carry the av_strerror text, so only errors are shown.
    std::call_once(once, [] { av_log_set_level(AV_LOG_ERROR); });
}

double to_seconds(int64_t ts, AVRational tb) { return double(ts) * av_q2d(tb); }

std::string lower_ext(const stdfs::path& path) {
    std::string ext = path.extension().string();
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

// ------------------------------------------------------------------------------------------------
// Input side
// ------------------------------------------------------------------------------------------------

/// Some containers (mp4/mov) index every sample with its byte offset; an entry past the end of the
/// file means the file was cut short (e.g. an interrupted download of a "faststart" mp4).
void check_not_truncated(AVFormatContext* ctx, const stdfs::path& path, uintmax_t file_size) {
    for (unsigned s = 0; s < ctx->nb_streams; ++s) {
        AVStream* st = ctx->streams[s];
        const int n = avformat_index_get_entries_count(st);
        if (n <= 0) continue;
        const AVIndexEntry* last = avformat_index_get_entry(st, n - 1);
        if (last && last->size > 0 && last->pos >= 0 &&
            uintmax_t(last->pos) + uintmax_t(last->size) > file_size) {
            fail(ErrorKind::Data, path.string(), ": truncated media file (stream #", s, " indexes data up to byte ",
                 last->pos + last->size, " but the file has ", file_size, " bytes)");
        }
    }
}

InputPtr open_input(const stdfs::path& path) {
    init_ffmpeg();
    std::error_code ec;
    const auto status = stdfs::status(path, ec);
    V2A_CHECK(stdfs::exists(status), IO, path.string(), ": no such file");
    V2A_CHECK(!stdfs::is_directory(status), IO, path.string(), ": is a directory, not a media file");
    const uintmax_t size = stdfs::file_size(path, ec);
    V2A_CHECK(!ec, IO, path.string(), ": cannot read file size (", ec.message(), ")");
    V2A_CHECK(size > 0, Data, path.string(), ": empty file (0 bytes), not a media file");

    AVFormatContext* raw = nullptr;
    int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
    if (ret < 0) {
        const ErrorKind kind = (ret == AVERROR(EACCES) || ret == AVERROR(ENOENT) || ret == AVERROR(EIO))
                                   ? ErrorKind::IO
                                   : ErrorKind::Data;
        fail(kind, path.string(), ": not a readable media file (", av_error(ret), ")");
    }
    InputPtr ctx(raw);
    ret = avformat_find_stream_info(ctx.get(), nullptr);
    V2A_CHECK(ret >= 0, Data, path.string(), ": cannot read stream information (", av_error(ret), ")");
    bool has_av = false;  // a file cut inside its header can still yield an empty "data" stream
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
        const AVMediaType type = ctx->streams[i]->codecpar->codec_type;
        has_av = has_av || type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO;
    }
    V2A_CHECK(has_av, Data, path.string(), ": no audio or video stream (truncated or not a media file)");
    check_not_truncated(ctx.get(), path, size);
    return ctx;
}

int find_stream(AVFormatContext* ctx, AVMediaType type) {
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
        const AVStream* st = ctx->streams[i];
        if (st->codecpar->codec_type != type) continue;
        if (type == AVMEDIA_TYPE_VIDEO && (st->disposition & AV_DISPOSITION_ATTACHED_PIC)) continue;  // cover art
        return int(i);
    }
    return -1;
}

/// Seconds that the whole file's timeline starts at; subtracted so that audio and video share t = 0
/// (MPEG-TS starts at ~1.4 s). A negative start is encoder priming (AAC in Matroska) that the
/// decoder drops, so the timeline then starts at 0.
double container_origin(AVFormatContext* ctx) {
    return ctx->start_time != AV_NOPTS_VALUE ? std::max(0.0, double(ctx->start_time) / AV_TIME_BASE) : 0.0;
}

CodecPtr open_decoder(AVStream* st, const stdfs::path& path, int threads) {
    const char* kind = av_get_media_type_string(st->codecpar->codec_type);
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    V2A_CHECK(codec != nullptr, Data, path.string(), ": unsupported ", kind ? kind : "", " codec '",
              avcodec_get_name(st->codecpar->codec_id), "' in stream #", st->index, " (no decoder available)");
    CodecPtr dec(avcodec_alloc_context3(codec));
    V2A_ASSERT(dec != nullptr);
    int ret = avcodec_parameters_to_context(dec.get(), st->codecpar);
    V2A_CHECK(ret >= 0, Data, path.string(), ": bad codec parameters in stream #", st->index, " (", av_error(ret), ")");
    dec->pkt_timebase = st->time_base;
    dec->thread_count = std::max(1, threads);
    ret = avcodec_open2(dec.get(), codec, nullptr);
    V2A_CHECK(ret >= 0, Data, path.string(), ": cannot open the ", codec->name, " decoder (", av_error(ret), ")");
    return dec;
}

/// Seeks so that decoding starts at or before `seconds` on stream `si` (a keyframe before it).
void seek_to(AVFormatContext* ctx, int si, double seconds) {
    if (seconds <= 0) return;
    AVStream* st = ctx->streams[si];
    const int64_t ts = int64_t(std::floor(seconds / av_q2d(st->time_base)));
    // A failed seek leaves the reader at the start, which is correct, only slower.
    av_seek_frame(ctx, si, ts, AVSEEK_FLAG_BACKWARD);
}

/// Reads packets of stream `si` and hands every decoded frame to `on_frame` until it returns false or
/// the stream ends. Corrupt packets are skipped (like the ffmpeg CLI); read errors throw.
template <typename OnFrame>
void decode_stream(AVFormatContext* ctx, int si, AVCodecContext* dec, const stdfs::path& path, OnFrame&& on_frame) {
    PacketPtr pkt = new_packet();
    FramePtr frame = new_frame();
    bool more = true;
    auto drain = [&]() -> bool {
        for (;;) {
            const int ret = avcodec_receive_frame(dec, frame.get());
            if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return true;
            if (ret < 0) return true;  // a corrupt frame: skip it
            const bool keep_going = on_frame(frame.get());
            av_frame_unref(frame.get());
            if (!keep_going) return false;
        }
    };
    while (more) {
        const int ret = av_read_frame(ctx, pkt.get());
        if (ret == AVERROR_EOF) break;
        V2A_CHECK(ret >= 0, Data, path.string(), ": read error (", av_error(ret), ")");
        if (pkt->stream_index == si) {
            const int sent = avcodec_send_packet(dec, pkt.get());
            av_packet_unref(pkt.get());
            if (sent < 0 && sent != AVERROR(EAGAIN)) continue;  // corrupt packet: skip
            more = drain();
        } else {
            av_packet_unref(pkt.get());
        }
    }
    if (more) {
        avcodec_send_packet(dec, nullptr);  // flush delayed frames
        drain();
    }
}

// ------------------------------------------------------------------------------------------------
// Frame conversion
// ------------------------------------------------------------------------------------------------

/// Converts decoded frames to packed RGB at the requested size (Stretch or scale + centre crop).
class RgbConverter {
public:
    RgbConverter(int width, int height, ResizeMode mode) : width_(width), height_(height), mode_(mode) {}

    void convert(const AVFrame* f, uint8_t* dst) {
        int sw = width_, sh = height_;
        if (mode_ == ResizeMode::CenterCrop) {
            const double scale = std::max(double(width_) / f->width, double(height_) / f->height);
            sw = std::max(width_, int(std::lround(f->width * scale)));
            sh = std::max(height_, int(std::lround(f->height * scale)));
        }
        SwsContext* before = sws_.get();
        sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, AVPixelFormat(f->format), sw, sh,
                                        AV_PIX_FMT_RGB24,
                                        // full-resolution chroma interpolation: the default YUV->RGB
                                        // path is off by up to 2 levels even for flat grey
                                        SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                                        nullptr, nullptr));
        V2A_CHECK(sws_ != nullptr, Data, "cannot convert pixel format ",
                  av_get_pix_fmt_name(AVPixelFormat(f->format)) ? av_get_pix_fmt_name(AVPixelFormat(f->format)) : "?",
                  " to RGB");
        // Use the matrix and range the stream declares (BT.601 when unspecified, like most players).
        // (Only when something changed: setting it re-initialises the scaler, which costs more than a frame.)
        const int cs = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : int(f->colorspace);
        const int range = f->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
        if (sws_.get() != before || cs != cs_ || range != range_) {
            const int* coeffs = sws_getCoefficients(cs);
            sws_setColorspaceDetails(sws_.get(), coeffs, range, coeffs, 1, 0, 1 << 16, 1 << 16);
            cs_ = cs;
            range_ = range;
        }
        if (sw == width_ && sh == height_) {
            uint8_t* planes[4] = {dst, nullptr, nullptr, nullptr};
            int strides[4] = {width_ * 3, 0, 0, 0};
            sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, planes, strides);
            return;
        }
        scaled_.resize(size_t(sw) * sh * 3);
        uint8_t* planes[4] = {scaled_.data(), nullptr, nullptr, nullptr};
        int strides[4] = {sw * 3, 0, 0, 0};
        sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, planes, strides);
        const int ox = (sw - width_) / 2, oy = (sh - height_) / 2;
        for (int y = 0; y < height_; ++y) {
            std::memcpy(dst + size_t(y) * width_ * 3, scaled_.data() + (size_t(y + oy) * sw + ox) * 3,
                        size_t(width_) * 3);
        }
    }

private:
    int width_, height_;
    ResizeMode mode_;
    SwsPtr sws_;
    int cs_ = -1, range_ = -1;
    std::vector<uint8_t> scaled_;
};

/// Stream-wide facts used for timing.
double stream_fps(const AVStream* st) {
    AVRational r = st->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0) r = st->r_frame_rate;
    return (r.num > 0 && r.den > 0) ? av_q2d(r) : 0.0;
}
double stream_duration(const AVFormatContext* ctx, const AVStream* st) {
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) return to_seconds(st->duration, st->time_base);
    if (ctx->duration != AV_NOPTS_VALUE && ctx->duration > 0) return double(ctx->duration) / AV_TIME_BASE;
    return 0.0;
}

// ------------------------------------------------------------------------------------------------
// Output side
// ------------------------------------------------------------------------------------------------

OutputPtr open_output(const stdfs::path& tmp, const stdfs::path& shown) {
    init_ffmpeg();
    AVFormatContext* raw = nullptr;
    const int ret = avformat_alloc_output_context2(&raw, nullptr, nullptr, tmp.c_str());
    V2A_CHECK(ret >= 0 && raw, Usage, shown.string(), ": cannot choose a container from the file name (",
              av_error(ret), ")");
    OutputPtr ctx(raw);
    // Byte-identical output for identical input: no library version strings, no creation time.
    ctx->flags |= AVFMT_FLAG_BITEXACT;
    return ctx;
}

void start_output(AVFormatContext* ctx, const stdfs::path& tmp, const stdfs::path& shown) {
    int ret = avio_open(&ctx->pb, tmp.c_str(), AVIO_FLAG_WRITE);
    V2A_CHECK(ret >= 0, IO, shown.string(), ": cannot create (", av_error(ret), ")");
    AVDictionary* opts = nullptr;
    // moov before the data: browsers (the annotation UI) can start playing before the download ends.
    av_dict_set(&opts, "movflags", "+faststart", 0);
    ret = avformat_write_header(ctx, &opts);
    av_dict_free(&opts);
    V2A_CHECK(ret >= 0, Data, shown.string(), ": cannot write the container header (", av_error(ret), ")");
}

void write_packet(AVFormatContext* ctx, AVPacket* pkt, const stdfs::path& shown) {
    const int ret = av_interleaved_write_frame(ctx, pkt);
    V2A_CHECK(ret >= 0, IO, shown.string(), ": cannot write a packet (", av_error(ret), ")");
}

/// Sends `frame` (nullptr = flush) to `enc` and writes every packet it returns. `durations` maps an
/// encoder pts to its display duration for encoders that do not set packet durations (libx264).
void encode_and_write(AVCodecContext* enc, AVStream* st, AVFormatContext* out, const AVFrame* frame,
                      const stdfs::path& shown, const std::map<int64_t, int64_t>* durations = nullptr) {
    int ret = avcodec_send_frame(enc, frame);
    V2A_CHECK(ret >= 0, Data, shown.string(), ": ", enc->codec->name, " encoder rejected a frame (", av_error(ret),
              ")");
    PacketPtr pkt = new_packet();
    for (;;) {
        ret = avcodec_receive_packet(enc, pkt.get());
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
        V2A_CHECK(ret >= 0, Data, shown.string(), ": ", enc->codec->name, " encoder failed (", av_error(ret), ")");
        if (durations && pkt->duration <= 0) {
            auto it = durations->find(pkt->pts);
            if (it != durations->end()) pkt->duration = it->second;
        }
        av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        write_packet(out, pkt.get(), shown);
    }
}

/// AAC encoder (FFmpeg's native "aac") feeding one output stream, one 1024-sample frame at a time so
/// the caller can interleave it with video by time.
class AacWriter {
public:
    AacWriter(AVFormatContext* out, const Audio& audio, int bitrate, const stdfs::path& shown)
        : out_(out), shown_(shown) {
        const AVCodec* codec = avcodec_find_encoder_by_name("aac");
        V2A_CHECK(codec != nullptr, Config, shown.string(), ": FFmpeg has no 'aac' encoder");
        // AAC has a fixed set of rates: resample to the nearest supported one at or above ours.
        int rate = audio.sample_rate;
        if (codec->supported_samplerates) {
            int best = 0, highest = 0;
            for (const int* r = codec->supported_samplerates; *r; ++r) {
                highest = std::max(highest, *r);
                if (*r == rate) best = rate;
            }
            if (best == 0) {
                best = highest;
                for (const int* r = codec->supported_samplerates; *r; ++r)
                    if (*r >= rate && *r < best) best = *r;
            }
            rate = best;
        }
        samples_ = rate == audio.sample_rate ? audio.samples : resample(audio, rate).samples;

        enc_.reset(avcodec_alloc_context3(codec));
        V2A_ASSERT(enc_ != nullptr);
        enc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
        enc_->sample_rate = rate;
        av_channel_layout_default(&enc_->ch_layout, 1);
        enc_->bit_rate = bitrate;
        enc_->time_base = AVRational{1, rate};
        enc_->thread_count = 1;
        enc_->flags |= AV_CODEC_FLAG_BITEXACT;
        if (out->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        int ret = avcodec_open2(enc_.get(), codec, nullptr);
        V2A_CHECK(ret >= 0, Data, shown.string(), ": cannot open the aac encoder at ", rate, " Hz (", av_error(ret),
                  ")");
        st_ = avformat_new_stream(out, nullptr);
        V2A_ASSERT(st_ != nullptr);
        st_->time_base = enc_->time_base;
        ret = avcodec_parameters_from_context(st_->codecpar, enc_.get());
        V2A_CHECK(ret >= 0, Data, shown.string(), ": aac stream parameters (", av_error(ret), ")");
        frame_size_ = enc_->frame_size > 0 ? enc_->frame_size : 1024;
    }

    bool done() const { return flushed_; }
    double next_time() const { return double(pos_) / enc_->sample_rate; }

    /// Encodes the next frame, or flushes the encoder once every sample has been sent.
    void step() {
        if (flushed_) return;
        if (pos_ >= samples_.size()) {
            encode_and_write(enc_.get(), st_, out_, nullptr, shown_);
            flushed_ = true;
            return;
        }
        const int n = int(std::min<size_t>(size_t(frame_size_), samples_.size() - pos_));
        FramePtr frame = new_frame();
        frame->nb_samples = n;
        frame->format = AV_SAMPLE_FMT_FLTP;
        frame->sample_rate = enc_->sample_rate;
        av_channel_layout_copy(&frame->ch_layout, &enc_->ch_layout);
        const int ret = av_frame_get_buffer(frame.get(), 0);
        V2A_CHECK(ret >= 0, Internal, shown_.string(), ": cannot allocate an audio frame (", av_error(ret), ")");
        std::memcpy(frame->data[0], samples_.data() + pos_, size_t(n) * sizeof(float));
        frame->pts = int64_t(pos_);
        encode_and_write(enc_.get(), st_, out_, frame.get(), shown_);
        pos_ += size_t(n);
    }

private:
    AVFormatContext* out_;
    stdfs::path shown_;
    std::vector<float> samples_;
    CodecPtr enc_;
    AVStream* st_ = nullptr;
    int frame_size_ = 1024;
    size_t pos_ = 0;
    bool flushed_ = false;
};

SwrPtr make_swr(const AVChannelLayout& in_layout, AVSampleFormat in_fmt, int in_rate, int out_rate,
                const stdfs::path& path) {
    Layout mono(1);
    Layout in;
    if (in_layout.order == AV_CHANNEL_ORDER_UNSPEC || in_layout.nb_channels <= 0) {
        av_channel_layout_default(&in.l, std::max(1, in_layout.nb_channels));
    } else {
        av_channel_layout_copy(&in.l, &in_layout);
    }
    SwrContext* raw = nullptr;
    int ret = swr_alloc_set_opts2(&raw, &mono.l, AV_SAMPLE_FMT_FLT, out_rate, &in.l, in_fmt, in_rate, 0, nullptr);
    SwrPtr swr(raw);
    V2A_CHECK(ret >= 0 && swr, Data, path.string(), ": cannot set up resampling (", av_error(ret), ")");
    // Mono = plain average of all channels (not FFmpeg's surround downmix with centre/LFE weights).
    const int channels = in.l.nb_channels;
    std::vector<double> matrix(size_t(channels), 1.0 / channels);
    ret = swr_set_matrix(swr.get(), matrix.data(), channels);
    V2A_CHECK(ret >= 0, Data, path.string(), ": cannot set the downmix matrix (", av_error(ret), ")");
    ret = swr_init(swr.get());
    V2A_CHECK(ret >= 0, Data, path.string(), ": cannot start resampling (", av_error(ret), ")");
    return swr;
}

/// Runs `swr` on `in` (nullptr = flush) and appends the mono float output to `out`.
void swr_append(SwrContext* swr, const uint8_t** in, int in_samples, std::vector<float>& out,
                const stdfs::path& path) {
    const int cap = swr_get_out_samples(swr, in_samples) + 16;
    const size_t old = out.size();
    out.resize(old + size_t(std::max(cap, 0)));
    uint8_t* dst = reinterpret_cast<uint8_t*>(out.data() + old);
    const int got = swr_convert(swr, &dst, cap, in, in_samples);
    V2A_CHECK(got >= 0, Data, path.string(), ": resampling failed (", av_error(got), ")");
    out.resize(old + size_t(got));
}

SF_INFO sf_info_for(const stdfs::path& path, const Audio& audio) {
    SF_INFO info{};
    info.samplerate = audio.sample_rate;
    info.channels = 1;
    const std::string ext = lower_ext(path);
    if (ext == ".wav") {
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    } else if (ext == ".flac") {
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    } else if (ext == ".ogg") {
        info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    } else {
        fail(ErrorKind::Usage, path.string(), ": unsupported audio file extension '", ext,
             "' (use .wav, .flac or .ogg)");
    }
    V2A_CHECK(sf_format_check(&info), Usage, path.string(), ": libsndfile cannot write ", ext, " at ",
              audio.sample_rate, " Hz");
    return info;
}

}  // namespace

// ================================================================================================
// decode_video
// ================================================================================================

/// The clockwise rotation (0, 90, 180 or 270 degrees) a player applies to show the stream upright: its
/// display matrix (mp4 tkhd / "rotate" tag), as ffmpeg's own autorotate reads it (cmdutils get_rotation).
int stream_rotation(const AVStream* st) {
    size_t size = 0;
    const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!matrix || size < 9 * sizeof(int32_t)) return 0;
    double theta = -std::round(av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix)));
    if (!std::isfinite(theta)) return 0;
    theta -= 360.0 * std::floor(theta / 360.0 + 0.9 / 360.0);
    const int quarter = int(std::lround(theta / 90.0)) % 4;
    return quarter * 90;  // arbitrary angles: the nearest quarter turn
}

VideoFrames decode_video(const stdfs::path& path, const VideoDecodeOptions& options) {
    V2A_CHECK(options.fps > 0 && std::isfinite(options.fps), Usage, path.string(), ": fps must be > 0, got ",
              options.fps);
    V2A_CHECK(options.width > 0 && options.height > 0, Usage, path.string(), ": output size must be positive, got ",
              options.width, "x", options.height);
    V2A_CHECK(options.start >= 0, Usage, path.string(), ": start must be >= 0, got ", options.start);

    InputPtr in = open_input(path);
    const int si = find_stream(in.get(), AVMEDIA_TYPE_VIDEO);
    V2A_CHECK(si >= 0, Data, path.string(), ": no video stream");
    AVStream* st = in->streams[si];
    CodecPtr dec = open_decoder(st, path, options.threads);
    for (unsigned i = 0; i < in->nb_streams; ++i)
        if (int(i) != si) in->streams[i]->discard = AVDISCARD_ALL;

    VideoFrames result;
    result.fps = options.fps;
    result.source_fps = stream_fps(st);
    result.source_duration = stream_duration(in.get(), st);
    const double origin = container_origin(in.get());
    seek_to(in.get(), si, origin + options.start);

    const int W = options.width, H = options.height;
    const size_t frame_bytes = size_t(W) * H * 3;
    const int64_t wanted = options.duration >= 0 ? int64_t(std::llround(options.duration * options.fps)) : -1;
    // Grid points and frame times are compared with a tolerance: a frame at exactly k / fps (the
    // usual case) must count as shown at t_k despite rounding in the time base conversion.
    constexpr double kEps = 1e-6;
    auto grid = [&](int64_t k) { return options.start + double(k) / options.fps; };

    // A rotated stream is converted at the size it has before the turn, then turned upright.
    const int rotation = stream_rotation(st);
    const bool sideways = rotation == 90 || rotation == 270;
    RgbConverter converter(sideways ? H : W, sideways ? W : H, options.resize);
    std::vector<uint8_t> stored(rotation != 0 ? frame_bytes : 0);
    auto upright = [&](uint8_t* rgb) {  // rgb holds the stored frame; rotate it in place (through `stored`)
        if (rotation == 0) return;
        std::memcpy(stored.data(), rgb, frame_bytes);
        const auto x = torch::from_blob(stored.data(), {sideways ? W : H, sideways ? H : W, 3}, torch::kUInt8);
        // torch::rot90 turns counter-clockwise for k > 0: a clockwise quarter turn is k = -1.
        const auto y = torch::rot90(x, -(rotation / 90), {0, 1}).contiguous();
        std::memcpy(rgb, y.data_ptr<uint8_t>(), frame_bytes);
    };
    std::vector<uint8_t> out;
    // Reserve the expected size up front: growing a multi-MB buffer by doubling shows up in profiles.
    const double expected = wanted >= 0 ? double(wanted) : (result.source_duration - options.start) * options.fps + 1;
    if (expected > 0 && expected < 1e6) out.reserve(size_t(expected) * frame_bytes);
    FramePtr cur = new_frame();
    bool have_cur = false, cur_converted = false;
    double cur_t = 0.0, cur_dur = 0.0, next_guess = 0.0;
    std::vector<uint8_t> cur_rgb(frame_bytes);
    int64_t k = 0;
    const double fallback_dur = result.source_fps > 0 ? 1.0 / result.source_fps : 1.0 / options.fps;

    auto emit = [&](bool padded) {
        if (!cur_converted) {
            converter.convert(cur.get(), cur_rgb.data());
            upright(cur_rgb.data());
            cur_converted = true;
        }
        out.insert(out.end(), cur_rgb.begin(), cur_rgb.end());
        result.timestamps.push_back(cur_t);
        if (padded) ++result.n_padded;
        ++k;
    };
    auto filled = [&]() { return wanted >= 0 && k >= wanted; };

    decode_stream(in.get(), si, dec.get(), path, [&](AVFrame* f) {
        int64_t ts = f->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) ts = f->pts;
        const double t = ts != AV_NOPTS_VALUE ? to_seconds(ts, st->time_base) - origin : next_guess;
        const double dur = f->pkt_duration > 0 ? to_seconds(f->pkt_duration, st->time_base) : fallback_dur;
        next_guess = t + dur;
        if (have_cur) {
            // Every grid point before this frame shows the previous one (VFR: last frame with pts <= t).
            while (!filled() && grid(k) < t - kEps) emit(false);
            if (filled()) return false;
        }
        av_frame_unref(cur.get());
        av_frame_move_ref(cur.get(), f);
        have_cur = true;
        cur_converted = false;
        cur_t = t;
        cur_dur = dur;
        return true;
    });
    V2A_CHECK(have_cur, Data, path.string(), ": no decodable video frames");

    // The last frame lasts until the end of the stream; grid points after that are padding.
    const double end = cur_t + cur_dur;
    while (!filled() && grid(k) < end - kEps) emit(false);
    if (wanted >= 0 && k < wanted) {
        switch (options.pad) {
            case PadPolicy::Error:
                fail(ErrorKind::Data, path.string(), ": video ends at ", end, " s, shorter than the requested ",
                     options.start, " + ", options.duration, " s");
            case PadPolicy::RepeatLast:
                while (k < wanted) emit(true);
                break;
            case PadPolicy::Truncate:
                break;
        }
    }
    if (result.source_duration <= 0) result.source_duration = end;

    const int64_t T = int64_t(result.timestamps.size());
    result.frames = T > 0 ? torch::from_blob(out.data(), {T, H, W, 3}, torch::kUInt8).clone()
                          : torch::empty({0, H, W, 3}, torch::kUInt8);
    return result;
}

// ================================================================================================
// decode_audio / probe
// ================================================================================================

Audio decode_audio(const stdfs::path& path, const AudioDecodeOptions& options) {
    V2A_CHECK(options.sample_rate > 0, Usage, path.string(), ": sample rate must be > 0, got ", options.sample_rate);
    V2A_CHECK(options.start >= 0, Usage, path.string(), ": start must be >= 0, got ", options.start);

    InputPtr in = open_input(path);
    const int si = find_stream(in.get(), AVMEDIA_TYPE_AUDIO);
    V2A_CHECK(si >= 0, Data, path.string(), ": no audio stream");
    AVStream* st = in->streams[si];
    CodecPtr dec = open_decoder(st, path, 1);
    for (unsigned i = 0; i < in->nb_streams; ++i)
        if (int(i) != si) in->streams[i]->discard = AVDISCARD_ALL;
    const double origin = container_origin(in.get());
    seek_to(in.get(), si, origin + options.start);

    const int rate = options.sample_rate;
    const int64_t wanted = options.duration >= 0 ? int64_t(std::llround(options.duration * rate)) : -1;
    Audio audio;
    audio.sample_rate = rate;
    std::vector<float>& out = audio.samples;
    if (wanted > 0) out.reserve(size_t(wanted));

    SwrPtr swr;
    int in_rate = 0, in_channels = 0, in_format = -1;
    int64_t skip = 0;  // resampled samples before `start` still to drop
    std::vector<float> chunk;
    auto take = [&](std::vector<float>& produced) {
        size_t from = 0;
        if (skip > 0) {
            from = size_t(std::min<int64_t>(skip, int64_t(produced.size())));
            skip -= int64_t(from);
        }
        out.insert(out.end(), produced.begin() + from, produced.end());
        produced.clear();
    };

    decode_stream(in.get(), si, dec.get(), path, [&](AVFrame* f) {
        if (!swr) {
            const int64_t ts = f->best_effort_timestamp;
            const double t0 = ts != AV_NOPTS_VALUE ? to_seconds(ts, st->time_base) - origin : 0.0;
            // Align the first sample with the grid: drop what lies before `start`, pad a late start.
            const int64_t offset = std::llround((options.start - t0) * rate);
            if (offset > 0) skip = offset;
            else out.insert(out.end(), size_t(-offset), 0.0f);
        } else if (f->sample_rate != in_rate || f->ch_layout.nb_channels != in_channels || f->format != in_format) {
            swr_append(swr.get(), nullptr, 0, chunk, path);  // parameters changed mid-stream: drain, restart
            take(chunk);
            swr.reset();
        }
        if (!swr) {
            in_rate = f->sample_rate;
            in_channels = f->ch_layout.nb_channels;
            in_format = f->format;
            swr = make_swr(f->ch_layout, AVSampleFormat(f->format), in_rate, rate, path);
        }
        swr_append(swr.get(), const_cast<const uint8_t**>(f->extended_data), f->nb_samples, chunk, path);
        take(chunk);
        return !(wanted >= 0 && int64_t(out.size()) >= wanted);
    });
    V2A_CHECK(swr != nullptr, Data, path.string(), ": no decodable audio frames");
    swr_append(swr.get(), nullptr, 0, chunk, path);
    take(chunk);
    // Encoders pad the last frame (AAC: up to 1023 samples) and FFmpeg's mp4 reader does not cut
    // that tail; the stream duration in the header says where the real audio ends. Bitrate-based
    // estimates (some mp3s) are not trusted.
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0 &&
        in->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
        const int64_t first = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
        const double end = to_seconds(first + st->duration, st->time_base) - origin;
        const int64_t available = std::max<int64_t>(0, std::llround((end - options.start) * rate));
        if (int64_t(out.size()) > available) out.resize(size_t(available));
    }

    if (wanted >= 0) {
        if (int64_t(out.size()) > wanted) {
            out.resize(size_t(wanted));
        } else if (int64_t(out.size()) < wanted) {
            switch (options.pad) {
                case PadPolicy::Error:
                    fail(ErrorKind::Data, path.string(), ": audio has ", double(out.size()) / rate,
                         " s after the start, shorter than the requested ", options.duration, " s");
                case PadPolicy::RepeatLast:
                    out.resize(size_t(wanted), 0.0f);
                    break;
                case PadPolicy::Truncate:
                    break;
            }
        }
    }
    return audio;
}

MediaInfo probe(const stdfs::path& path) {
    InputPtr in = open_input(path);
    MediaInfo info;
    info.format = in->iformat->name;
    if (in->duration != AV_NOPTS_VALUE && in->duration > 0) info.duration = double(in->duration) / AV_TIME_BASE;
    const int vi = find_stream(in.get(), AVMEDIA_TYPE_VIDEO);
    if (vi >= 0) {
        const AVStream* st = in->streams[vi];
        info.has_video = true;
        info.video_fps = stream_fps(st);
        info.rotation = stream_rotation(st);
        const bool sideways = info.rotation == 90 || info.rotation == 270;  // the size as displayed
        info.width = sideways ? st->codecpar->height : st->codecpar->width;
        info.height = sideways ? st->codecpar->width : st->codecpar->height;
        info.video_codec = avcodec_get_name(st->codecpar->codec_id);
    }
    const int ai = find_stream(in.get(), AVMEDIA_TYPE_AUDIO);
    if (ai >= 0) {
        const AVStream* st = in->streams[ai];
        info.has_audio = true;
        info.audio_sample_rate = st->codecpar->sample_rate;
        info.audio_channels = st->codecpar->ch_layout.nb_channels;
        info.audio_codec = avcodec_get_name(st->codecpar->codec_id);
    }
    return info;
}

// ================================================================================================
// libsndfile WAV / FLAC
// ================================================================================================

void write_audio_file(const stdfs::path& path, const Audio& audio) {
    V2A_CHECK(audio.sample_rate > 0, Usage, path.string(), ": sample rate must be > 0, got ", audio.sample_rate);
    SF_INFO info = sf_info_for(path, audio);
    fs::write_atomic_with(path, [&](const stdfs::path& tmp) {
        SF_INFO open_info = info;
        SndPtr file(sf_open(tmp.c_str(), SFM_WRITE, &open_info));
        V2A_CHECK(file != nullptr, IO, path.string(), ": cannot create (", sf_strerror(nullptr), ")");
        sf_command(file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);  // > 1.0 saturates instead of wrapping
        const sf_count_t n = sf_count_t(audio.samples.size());
        if (n > 0) {
            const sf_count_t written = sf_writef_float(file.get(), audio.samples.data(), n);
            V2A_CHECK(written == n, IO, path.string(), ": write failed (", sf_strerror(file.get()), ")");
        }
        SNDFILE* raw = file.release();
        V2A_CHECK(sf_close(raw) == 0, IO, path.string(), ": close failed");
    });
}

Audio read_audio_file(const stdfs::path& path) {
    std::error_code ec;
    V2A_CHECK(stdfs::exists(path, ec), IO, path.string(), ": no such file");
    SF_INFO info{};
    SndPtr file(sf_open(path.c_str(), SFM_READ, &info));
    V2A_CHECK(file != nullptr, Data, path.string(), ": not a readable audio file (", sf_strerror(nullptr), ")");
    V2A_CHECK(info.channels > 0 && info.samplerate > 0, Data, path.string(), ": bad audio header");
    Audio audio;
    audio.sample_rate = info.samplerate;
    const int C = info.channels;
    std::vector<float> block(size_t(4096) * C);
    for (;;) {
        const sf_count_t got = sf_readf_float(file.get(), block.data(), 4096);
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got; ++i) {
            float sum = 0.0f;
            for (int c = 0; c < C; ++c) sum += block[size_t(i) * C + c];
            audio.samples.push_back(sum / float(C));
        }
    }
    V2A_CHECK(sf_error(file.get()) == SF_ERR_NO_ERROR, Data, path.string(), ": read error (",
              sf_strerror(file.get()), ")");
    return audio;
}

Audio resample(const Audio& audio, int sample_rate) {
    V2A_CHECK(audio.sample_rate > 0 && sample_rate > 0, Usage, "resample: sample rates must be > 0 (got ",
              audio.sample_rate, " -> ", sample_rate, ")");
    if (audio.sample_rate == sample_rate || audio.samples.empty()) {
        Audio same = audio;
        same.sample_rate = sample_rate;
        return same;
    }
    init_ffmpeg();
    Layout mono(1);
    SwrPtr swr = make_swr(mono.l, AV_SAMPLE_FMT_FLT, audio.sample_rate, sample_rate, "resample");
    Audio result;
    result.sample_rate = sample_rate;
    const uint8_t* in[1] = {reinterpret_cast<const uint8_t*>(audio.samples.data())};
    swr_append(swr.get(), in, int(audio.samples.size()), result.samples, "resample");
    swr_append(swr.get(), nullptr, 0, result.samples, "resample");
    // Exactly round(n * out / in) samples, so durations survive the round trip.
    const size_t n = size_t(std::llround(double(audio.samples.size()) * sample_rate / audio.sample_rate));
    result.samples.resize(n, 0.0f);
    return result;
}

// ================================================================================================
// write_mp4 / mux_audio_into_video
// ================================================================================================

void write_mp4(const stdfs::path& path, const torch::Tensor& frames, double fps, const Audio& audio,
               const EncodeOptions& options) {
    V2A_CHECK(frames.defined() && frames.dim() == 4 && frames.size(3) == 3 && frames.scalar_type() == torch::kUInt8,
              Usage, path.string(), ": frames must be a [T, H, W, 3] uint8 tensor");
    const int64_t T = frames.size(0);
    const int H = int(frames.size(1)), W = int(frames.size(2));
    V2A_CHECK(T > 0 && H > 0 && W > 0, Usage, path.string(), ": no frames to write (shape ", frames.sizes(), ")");
    V2A_CHECK(fps > 0 && std::isfinite(fps), Usage, path.string(), ": fps must be > 0, got ", fps);
    V2A_CHECK(audio.samples.empty() || audio.sample_rate > 0, Usage, path.string(),
              ": audio sample rate must be > 0, got ", audio.sample_rate);
    const bool vfr = !options.timestamps.empty();
    if (vfr) {
        V2A_CHECK(int64_t(options.timestamps.size()) == T, Usage, path.string(), ": ", options.timestamps.size(),
                  " timestamps for ", T, " frames");
        for (size_t i = 1; i < options.timestamps.size(); ++i)
            V2A_CHECK(options.timestamps[i] > options.timestamps[i - 1] + 1e-4, Usage, path.string(),
                      ": timestamps must increase by more than 0.1 ms (frame ", i, ")");
    }
    const torch::Tensor rgb = frames.to(torch::kCPU).contiguous();
    const uint8_t* data = rgb.data_ptr<uint8_t>();
    init_ffmpeg();

    fs::write_atomic_with(path, [&](const stdfs::path& tmp) {
        OutputPtr oc = open_output(tmp, path);
        const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
        V2A_CHECK(codec != nullptr, Config, path.string(), ": FFmpeg was built without libx264");
        CodecPtr enc(avcodec_alloc_context3(codec));
        V2A_ASSERT(enc != nullptr);
        // yuv420p needs even sizes: pad by repeating the last row / column.
        const int W2 = W + (W & 1), H2 = H + (H & 1);
        const AVRational rate = av_d2q(fps, 100000);
        enc->width = W2;
        enc->height = H2;
        enc->pix_fmt = AV_PIX_FMT_YUV420P;
        enc->framerate = rate;
        enc->time_base = vfr ? AVRational{1, 90000} : av_inv_q(rate);
        enc->gop_size = std::max(1, int(std::lround(2 * fps)));  // a keyframe every 2 s: cheap seeks
        enc->colorspace = AVCOL_SPC_SMPTE170M;                    // what swscale's RGB->YUV matrix is
        enc->color_range = AVCOL_RANGE_MPEG;
        enc->thread_count = 1;                                    // deterministic bitstream
        enc->flags |= AV_CODEC_FLAG_BITEXACT;
        if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        AVDictionary* opts = nullptr;
        av_dict_set(&opts, "preset", options.preset.c_str(), 0);
        av_dict_set(&opts, "crf", std::to_string(options.crf).c_str(), 0);
        int ret = avcodec_open2(enc.get(), codec, &opts);
        av_dict_free(&opts);
        V2A_CHECK(ret >= 0, Usage, path.string(), ": cannot open libx264 (preset '", options.preset, "', crf ",
                  options.crf, "): ", av_error(ret));
        AVStream* vst = avformat_new_stream(oc.get(), nullptr);
        V2A_ASSERT(vst != nullptr);
        vst->time_base = enc->time_base;
        vst->avg_frame_rate = rate;
        ret = avcodec_parameters_from_context(vst->codecpar, enc.get());
        V2A_CHECK(ret >= 0, Data, path.string(), ": video stream parameters (", av_error(ret), ")");
        if (options.rotation != 0) {  // stored as given, shown turned clockwise by `rotation` (a phone's portrait video)
            V2A_CHECK(options.rotation % 90 == 0, Usage, path.string(), ": rotation must be a multiple of 90, got ",
                      options.rotation);
            auto* matrix = reinterpret_cast<int32_t*>(
                av_stream_new_side_data(vst, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
            V2A_ASSERT(matrix != nullptr);
            av_display_rotation_set(matrix, double(options.rotation));  // read back by stream_rotation as `rotation`
        }

        std::unique_ptr<AacWriter> aac;
        if (!audio.samples.empty()) aac = std::make_unique<AacWriter>(oc.get(), audio, options.audio_bitrate, path);
        start_output(oc.get(), tmp, path);

        // Frame pts (encoder time base) and display durations, so the muxer knows the last frame's length.
        std::vector<int64_t> pts(static_cast<size_t>(T));
        std::map<int64_t, int64_t> durations;
        for (int64_t i = 0; i < T; ++i)
            pts[size_t(i)] = vfr ? int64_t(std::llround(options.timestamps[size_t(i)] * 90000)) : i;
        for (int64_t i = 0; i < T; ++i) {
            const int64_t next = i + 1 < T ? pts[size_t(i + 1)]
                                           : pts[size_t(i)] + (vfr ? int64_t(std::llround(90000 / fps)) : 1);
            durations[pts[size_t(i)]] = std::max<int64_t>(1, next - pts[size_t(i)]);
        }

        SwsPtr sws(sws_getContext(W2, H2, AV_PIX_FMT_RGB24, W2, H2, AV_PIX_FMT_YUV420P,
                                  SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT, nullptr, nullptr, nullptr));
        V2A_CHECK(sws != nullptr, Internal, path.string(), ": cannot set up RGB->YUV conversion");
        FramePtr frame = new_frame();
        frame->format = AV_PIX_FMT_YUV420P;
        frame->width = W2;
        frame->height = H2;
        frame->colorspace = AVCOL_SPC_SMPTE170M;
        frame->color_range = AVCOL_RANGE_MPEG;
        ret = av_frame_get_buffer(frame.get(), 0);
        V2A_CHECK(ret >= 0, Internal, path.string(), ": cannot allocate a video frame (", av_error(ret), ")");
        std::vector<uint8_t> padded(size_t(W2) * H2 * 3);

        int64_t i = 0;
        while (i < T || (aac && !aac->done())) {
            const double video_time = i < T ? to_seconds(pts[size_t(i)], enc->time_base) : 1e300;
            if (aac && !aac->done() && aac->next_time() < video_time) {
                aac->step();
                continue;
            }
            const uint8_t* src = data + size_t(i) * H * W * 3;
            if (W2 != W || H2 != H) {
                for (int y = 0; y < H2; ++y) {
                    const uint8_t* row = src + size_t(std::min(y, H - 1)) * W * 3;
                    uint8_t* dst = padded.data() + size_t(y) * W2 * 3;
                    std::memcpy(dst, row, size_t(W) * 3);
                    if (W2 != W) std::memcpy(dst + size_t(W) * 3, row + size_t(W - 1) * 3, 3);
                }
                src = padded.data();
            }
            ret = av_frame_make_writable(frame.get());
            V2A_CHECK(ret >= 0, Internal, path.string(), ": frame buffer (", av_error(ret), ")");
            const uint8_t* planes[4] = {src, nullptr, nullptr, nullptr};
            const int strides[4] = {W2 * 3, 0, 0, 0};
            sws_scale(sws.get(), planes, strides, 0, H2, frame->data, frame->linesize);
            frame->pts = pts[size_t(i)];
            encode_and_write(enc.get(), vst, oc.get(), frame.get(), path, &durations);
            ++i;
        }
        encode_and_write(enc.get(), vst, oc.get(), nullptr, path, &durations);
        ret = av_write_trailer(oc.get());
        V2A_CHECK(ret >= 0, IO, path.string(), ": cannot finish the file (", av_error(ret), ")");
        ret = avio_closep(&oc->pb);
        V2A_CHECK(ret >= 0, IO, path.string(), ": close failed (", av_error(ret), ")");
    });
}

void mux_audio_into_video(const stdfs::path& video, const Audio& audio, const stdfs::path& out,
                          const EncodeOptions& options) {
    V2A_CHECK(audio.sample_rate > 0 && !audio.samples.empty(), Usage, out.string(),
              ": no audio to mux (", audio.samples.size(), " samples at ", audio.sample_rate, " Hz)");
    InputPtr in = open_input(video);
    int vi = find_stream(in.get(), AVMEDIA_TYPE_VIDEO);
    V2A_CHECK(vi >= 0, Data, video.string(), ": no video stream");
    const double video_dur = stream_duration(in.get(), in->streams[vi]);
    V2A_CHECK(video_dur > 0, Data, video.string(), ": video stream has no known duration");
    const double out_dur = std::min(video_dur, audio.duration());
    const bool trim_video = audio.duration() < video_dur - 1e-6;

    // Cutting a stream copy: keep a decode-order prefix that contains every packet displayed before
    // the cut (with B-frames a later-shown reference frame may precede them). A first pass finds it.
    int64_t last_dts = INT64_MAX;
    if (trim_video) {
        AVStream* st = in->streams[vi];
        const double origin = container_origin(in.get());
        PacketPtr pkt = new_packet();
        last_dts = INT64_MIN;
        for (;;) {
            const int ret = av_read_frame(in.get(), pkt.get());
            if (ret == AVERROR_EOF) break;
            V2A_CHECK(ret >= 0, Data, video.string(), ": read error (", av_error(ret), ")");
            if (pkt->stream_index == vi) {
                const int64_t shown = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
                if (shown == AV_NOPTS_VALUE || to_seconds(shown, st->time_base) - origin < out_dur - 1e-6)
                    last_dts = std::max(last_dts, pkt->dts != AV_NOPTS_VALUE ? pkt->dts : shown);
            }
            av_packet_unref(pkt.get());
        }
        in = open_input(video);  // second pass from the start
        vi = find_stream(in.get(), AVMEDIA_TYPE_VIDEO);
    }
    AVStream* ist = in->streams[vi];
    // Both streams start at t = 0 (see container_origin).
    const int64_t shift = in->start_time != AV_NOPTS_VALUE && in->start_time > 0
                              ? av_rescale_q(in->start_time, AV_TIME_BASE_Q, ist->time_base)
                              : 0;

    Audio trimmed;
    trimmed.sample_rate = audio.sample_rate;
    const size_t n = std::min(audio.samples.size(), size_t(std::llround(out_dur * audio.sample_rate)));
    trimmed.samples.assign(audio.samples.begin(), audio.samples.begin() + std::ptrdiff_t(n));

    fs::write_atomic_with(out, [&](const stdfs::path& tmp) {
        OutputPtr oc = open_output(tmp, out);
        V2A_CHECK(avformat_query_codec(oc->oformat, ist->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 1, Data,
                  out.string(), ": video codec '", avcodec_get_name(ist->codecpar->codec_id), "' of ", video.string(),
                  " cannot be stored in a ", oc->oformat->name, " file");
        AVStream* ost = avformat_new_stream(oc.get(), nullptr);
        V2A_ASSERT(ost != nullptr);
        int ret = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
        V2A_CHECK(ret >= 0, Data, out.string(), ": copying video parameters (", av_error(ret), ")");
        ost->codecpar->codec_tag = 0;  // let the output container pick its own tag
        ost->time_base = ist->time_base;
        ost->avg_frame_rate = ist->avg_frame_rate;
        for (int s = 0; s < ist->nb_side_data; ++s) {  // e.g. the rotation of phone videos
            const AVPacketSideData& sd = ist->side_data[s];
            uint8_t* dst = av_stream_new_side_data(ost, sd.type, sd.size);
            if (dst) std::memcpy(dst, sd.data, sd.size);
        }
        AacWriter aac(oc.get(), trimmed, options.audio_bitrate, out);
        start_output(oc.get(), tmp, out);

        PacketPtr pkt = new_packet();
        for (;;) {
            ret = av_read_frame(in.get(), pkt.get());
            if (ret == AVERROR_EOF) break;
            V2A_CHECK(ret >= 0, Data, video.string(), ": read error (", av_error(ret), ")");
            if (pkt->stream_index != vi || (pkt->dts != AV_NOPTS_VALUE && pkt->dts > last_dts)) {
                av_packet_unref(pkt.get());
                continue;
            }
            const int64_t when = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
            const double t = when != AV_NOPTS_VALUE ? to_seconds(when - shift, ist->time_base) : 0.0;
            while (!aac.done() && aac.next_time() < t) aac.step();
            if (pkt->pts != AV_NOPTS_VALUE) pkt->pts -= shift;
            if (pkt->dts != AV_NOPTS_VALUE) pkt->dts -= shift;
            av_packet_rescale_ts(pkt.get(), ist->time_base, ost->time_base);
            pkt->stream_index = ost->index;
            pkt->pos = -1;
            write_packet(oc.get(), pkt.get(), out);
        }
        while (!aac.done()) aac.step();
        ret = av_write_trailer(oc.get());
        V2A_CHECK(ret >= 0, IO, out.string(), ": cannot finish the file (", av_error(ret), ")");
        ret = avio_closep(&oc->pb);
        V2A_CHECK(ret >= 0, IO, out.string(), ": close failed (", av_error(ret), ")");
    });
}

}  // namespace v2a::io
