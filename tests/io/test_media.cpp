// Media I/O: synthetic clips encoded with write_mp4 are decoded back and checked for timing and
// content; tones check resampling and mixdown; every kind of bad input must throw a named error.
#include <gtest/gtest.h>
#include <sndfile.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <cmath>
#include <fstream>

#include "support/expect_error.h"
#include "support/temp_dir.h"
#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/io/media.h"

namespace v2a::io {
namespace {

namespace stdfs = std::filesystem;
constexpr double kPi = 3.14159265358979323846;

/// Frame i is a flat grey of level 20 + 4 i (i < 55): the decoded level tells which frame is shown.
torch::Tensor grey_ramp(int64_t T, int H, int W) {
    auto frames = torch::empty({T, H, W, 3}, torch::kUInt8);
    for (int64_t i = 0; i < T; ++i) frames[i].fill_(int(20 + 4 * i));
    return frames;
}
int64_t frame_index(const torch::Tensor& frame) {
    const double level = frame.to(torch::kFloat).mean().item<double>();
    return std::llround((level - 20.0) / 4.0);
}

Audio tone(double freq, double amplitude, double seconds, int rate) {
    Audio a;
    a.sample_rate = rate;
    a.samples.resize(size_t(std::llround(seconds * rate)));
    for (size_t i = 0; i < a.samples.size(); ++i)
        a.samples[i] = float(amplitude * std::sin(2 * kPi * freq * double(i) / rate));
    return a;
}
double rms(const std::vector<float>& x, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += double(x[i]) * x[i];
    return std::sqrt(s / double(to - from));
}
/// Sign changes per second over [from, to): 2 f for a pure tone of frequency f.
double crossings_per_second(const std::vector<float>& x, size_t from, size_t to, int rate) {
    int n = 0;
    for (size_t i = from + 1; i < to; ++i) n += (x[i - 1] < 0) != (x[i] < 0);
    return n * double(rate) / double(to - from);
}

EncodeOptions lossless() {
    EncodeOptions o;
    o.crf = 0;  // x264 lossless: grey levels survive up to the RGB<->YUV rounding
    return o;
}

struct Packet {
    std::vector<uint8_t> data;
    double pts;
};
/// Raw packets of the first video stream, in file order (read directly with libavformat).
std::vector<Packet> video_packets(const stdfs::path& path) {
    AVFormatContext* ctx = nullptr;
    EXPECT_EQ(avformat_open_input(&ctx, path.c_str(), nullptr, nullptr), 0);
    EXPECT_GE(avformat_find_stream_info(ctx, nullptr), 0);
    const int vi = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    std::vector<Packet> out;
    AVPacket* pkt = av_packet_alloc();
    while (av_read_frame(ctx, pkt) >= 0) {
        if (pkt->stream_index == vi)
            out.push_back({std::vector<uint8_t>(pkt->data, pkt->data + pkt->size),
                           double(pkt->pts) * av_q2d(ctx->streams[vi]->time_base)});
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&ctx);
    return out;
}

size_t count_files(const stdfs::path& dir) {
    size_t n = 0;
    for (auto& e : stdfs::directory_iterator(dir)) (void)e, ++n;
    return n;
}

template <typename F>
void expect_error(F&& f, ErrorKind kind, const std::string& name) {
    try {
        f();
        FAIL() << "no error for " << name;
    } catch (const Error& e) {
        EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    }
}

class MediaTest : public ::testing::Test {
protected:
    test::TempDir dir;
    /// 2 s, 25 fps, 64x48 grey ramp with a 440 Hz tone at 16 kHz.
    stdfs::path clip() {
        const auto path = dir / "clip.mp4";
        if (!stdfs::exists(path)) write_mp4(path, grey_ramp(50, 48, 64), 25.0, tone(440, 0.5, 2.0, 16000), lossless());
        return path;
    }
};

// ------------------------------------------------------------------------------------------------
// Video
// ------------------------------------------------------------------------------------------------

TEST_F(MediaTest, DecodeAtNativeFpsGivesEveryFrameAtItsTime) {
    VideoDecodeOptions o;
    o.fps = 25;
    o.width = 64;
    o.height = 48;
    const VideoFrames v = decode_video(clip(), o);
    ASSERT_EQ(v.frames.sizes(), torch::IntArrayRef({50, 48, 64, 3}));
    ASSERT_EQ(v.timestamps.size(), 50u);
    EXPECT_NEAR(v.source_fps, 25.0, 1e-6);
    EXPECT_NEAR(v.source_duration, 2.0, 1e-3);
    EXPECT_EQ(v.n_padded, 0);
    for (int64_t i = 0; i < 50; ++i) {
        EXPECT_EQ(frame_index(v.frames[i]), i) << "grid point " << i;
        EXPECT_NEAR(v.timestamps[size_t(i)], i / 25.0, 1e-4);
        // Flat frames stay flat: every pixel within 2 levels of the encoded grey.
        const auto diff = (v.frames[i].to(torch::kInt) - int(20 + 4 * i)).abs().max().item<int>();
        EXPECT_LE(diff, 2) << "frame " << i;
    }
}

TEST_F(MediaTest, DecodeAtLowerFpsShowsLastFrameAtOrBeforeEachGridTime) {
    VideoDecodeOptions o;
    o.fps = 10;
    o.width = 16;
    o.height = 16;
    const VideoFrames v = decode_video(clip(), o);
    ASSERT_EQ(v.frames.size(0), 20);  // 2 s at 10 fps
    for (int64_t k = 0; k < 20; ++k) {
        const int64_t expected = (k * 25) / 10;  // floor(k * 2.5)
        EXPECT_EQ(frame_index(v.frames[k]), expected) << "grid point " << k;
        EXPECT_NEAR(v.timestamps[size_t(k)], expected / 25.0, 1e-4);
    }
}

TEST_F(MediaTest, DecodeAtHigherFpsRepeatsFrames) {
    VideoDecodeOptions o;
    o.fps = 50;
    o.width = 8;
    o.height = 8;
    const VideoFrames v = decode_video(clip(), o);
    ASSERT_EQ(v.frames.size(0), 100);
    for (int64_t k = 0; k < 100; ++k) EXPECT_EQ(frame_index(v.frames[k]), k / 2) << k;
}

TEST_F(MediaTest, VariableFrameRateUsesSourceTimestamps) {
    const std::vector<double> times = {0.0, 0.1, 0.15, 0.4, 0.45, 0.9, 1.0, 1.05, 1.1, 1.2};
    EncodeOptions e = lossless();
    e.timestamps = times;
    const auto path = dir / "vfr.mp4";
    write_mp4(path, grey_ramp(int64_t(times.size()), 32, 32), 10.0, Audio{}, e);
    VideoDecodeOptions o;
    o.fps = 20;
    o.width = 32;
    o.height = 32;
    const VideoFrames v = decode_video(path, o);
    // The last frame (1.2 s) lasts 1 / 10 s, so the stream ends at 1.3 s: 26 grid points.
    ASSERT_EQ(v.frames.size(0), 26);
    for (int64_t k = 0; k < 26; ++k) {
        const double t = k / 20.0;
        int64_t expected = 0;
        for (size_t i = 0; i < times.size(); ++i)
            if (times[i] <= t + 1e-9) expected = int64_t(i);
        EXPECT_EQ(frame_index(v.frames[k]), expected) << "t = " << t;
        EXPECT_NEAR(v.timestamps[size_t(k)], times[size_t(expected)], 1e-3);
    }
}

TEST_F(MediaTest, StartAndDurationSelectAWindow) {
    VideoDecodeOptions o;
    o.fps = 25;
    o.width = 16;
    o.height = 16;
    o.start = 1.0;
    o.duration = 0.4;
    const VideoFrames v = decode_video(clip(), o);
    ASSERT_EQ(v.frames.size(0), 10);
    for (int64_t k = 0; k < 10; ++k) {
        EXPECT_EQ(frame_index(v.frames[k]), 25 + k);
        EXPECT_NEAR(v.timestamps[size_t(k)], (25 + k) / 25.0, 1e-4);
    }
}

TEST_F(MediaTest, ShortClipFollowsPadPolicy) {
    VideoDecodeOptions o;
    o.fps = 25;
    o.width = 16;
    o.height = 16;
    o.duration = 3.0;
    o.pad = PadPolicy::RepeatLast;
    const VideoFrames padded = decode_video(clip(), o);
    ASSERT_EQ(padded.frames.size(0), 75);
    EXPECT_EQ(padded.n_padded, 25);
    EXPECT_EQ(frame_index(padded.frames[74]), 49);
    EXPECT_NEAR(padded.timestamps[74], 49 / 25.0, 1e-4);

    o.pad = PadPolicy::Truncate;
    const VideoFrames cut = decode_video(clip(), o);
    EXPECT_EQ(cut.frames.size(0), 50);
    EXPECT_EQ(cut.n_padded, 0);

    o.pad = PadPolicy::Error;
    expect_error([&] { decode_video(clip(), o); }, ErrorKind::Data, "clip.mp4");
}

TEST_F(MediaTest, ResizeStretchKeepsLayoutAndCenterCropKeepsMiddle) {
    // 96x48: red x < 24, green 24 <= x < 72 (the centre 48x48 square), blue x >= 72.
    using torch::indexing::Slice;
    auto frames = torch::zeros({5, 48, 96, 3}, torch::kUInt8);
    frames.index_put_({Slice(), Slice(), Slice(0, 24), 0}, 255);
    frames.index_put_({Slice(), Slice(), Slice(24, 72), 1}, 255);
    frames.index_put_({Slice(), Slice(), Slice(72, 96), 2}, 255);
    const auto path = dir / "bars.mp4";
    write_mp4(path, frames, 25.0, Audio{}, lossless());

    VideoDecodeOptions o;
    o.width = 24;
    o.height = 24;
    o.resize = ResizeMode::CenterCrop;  // scale to 48x24, keep x in [12, 36) = the green square
    // (the outermost columns may blend with the neighbouring bars through the scaling filter)
    auto crop = decode_video(path, o).frames[0].to(torch::kInt).index({Slice(), Slice(1, 23)});
    EXPECT_GT(crop.select(2, 1).min().item<int>(), 200);
    EXPECT_LT(crop.select(2, 0).max().item<int>(), 40);
    EXPECT_LT(crop.select(2, 2).max().item<int>(), 40);

    o.resize = ResizeMode::Stretch;
    auto stretch = decode_video(path, o).frames[0].to(torch::kInt);
    EXPECT_GT(stretch[12][2][0].item<int>(), 200);   // left: red (source x = 8)
    EXPECT_GT(stretch[12][12][1].item<int>(), 200);  // middle: green
    EXPECT_GT(stretch[12][21][2].item<int>(), 200);  // right: blue
}

TEST_F(MediaTest, OddSizesArePaddedToEvenAndDecode) {
    const auto path = dir / "odd.mp4";
    write_mp4(path, grey_ramp(10, 27, 33), 25.0, Audio{}, lossless());
    const MediaInfo info = probe(path);
    EXPECT_EQ(info.width, 34);
    EXPECT_EQ(info.height, 28);
    VideoDecodeOptions o;
    o.width = 33;
    o.height = 27;
    const VideoFrames v = decode_video(path, o);
    ASSERT_EQ(v.frames.size(0), 10);
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(frame_index(v.frames[i]), i);
}

TEST_F(MediaTest, OtherContainersAndDecoderThreadsGiveTheSameFrames) {
    // The container follows the file name (Matroska here); frame-threaded decoding changes nothing.
    // (Video only: with AAC, the Matroska muxer shifts every stream by the encoder priming, 64 ms.)
    const auto mkv = dir / "clip.mkv";
    write_mp4(mkv, grey_ramp(20, 32, 32), 25.0, Audio{}, lossless());
    EXPECT_EQ(probe(mkv).format, "matroska,webm");
    VideoDecodeOptions o;
    o.width = 32;
    o.height = 32;
    const VideoFrames one = decode_video(mkv, o);
    ASSERT_EQ(one.frames.size(0), 20);
    for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(frame_index(one.frames[i]), i);
    o.threads = 2;
    EXPECT_TRUE(torch::equal(decode_video(mkv, o).frames, one.frames));
}

TEST_F(MediaTest, ProbeReportsStreams) {
    const MediaInfo info = probe(clip());
    EXPECT_TRUE(info.has_video);
    EXPECT_TRUE(info.has_audio);
    EXPECT_EQ(info.video_codec, "h264");
    EXPECT_EQ(info.audio_codec, "aac");
    EXPECT_EQ(info.width, 64);
    EXPECT_EQ(info.height, 48);
    EXPECT_NEAR(info.video_fps, 25.0, 1e-6);
    EXPECT_EQ(info.audio_sample_rate, 16000);
    EXPECT_EQ(info.audio_channels, 1);
    EXPECT_NEAR(info.duration, 2.0, 0.05);
}

TEST_F(MediaTest, WriteMp4IsByteIdenticalForIdenticalInput) {
    const auto frames = grey_ramp(30, 40, 40) + torch::randint(0, 20, {30, 40, 40, 3}, torch::kUInt8);
    const Audio audio = tone(300, 0.3, 1.2, 16000);
    write_mp4(dir / "a.mp4", frames, 25.0, audio);
    write_mp4(dir / "b.mp4", frames, 25.0, audio);
    const auto a = fs::read_bytes(dir / "a.mp4"), b = fs::read_bytes(dir / "b.mp4");
    ASSERT_GT(a.size(), 1000u);
    EXPECT_TRUE(a == b);
    EXPECT_EQ(count_files(dir.path()), 2u);  // no temp files left behind
}

// ------------------------------------------------------------------------------------------------
// Audio
// ------------------------------------------------------------------------------------------------

TEST_F(MediaTest, StereoToneIsAveragedAndResampled) {
    // 440 Hz at 44.1 kHz, left amplitude 0.6, right 0.2: the mono average has amplitude 0.4.
    const auto path = dir / "tone.wav";
    const int rate = 44100, n = rate;
    std::vector<float> interleaved(size_t(2 * n));
    for (int i = 0; i < n; ++i) {
        const double s = std::sin(2 * kPi * 440 * i / rate);
        interleaved[size_t(2 * i)] = float(0.6 * s);
        interleaved[size_t(2 * i + 1)] = float(0.2 * s);
    }
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(sf_writef_float(f, interleaved.data(), n), n);
    sf_close(f);

    const Audio a = decode_audio(path);  // 16 kHz mono
    EXPECT_EQ(a.sample_rate, 16000);
    EXPECT_NEAR(double(a.samples.size()), 16000.0, 2.0);
    const size_t lo = 800, hi = a.samples.size() - 800;  // skip the resampler's edges
    EXPECT_NEAR(rms(a.samples, lo, hi), 0.4 / std::sqrt(2.0), 0.005);
    EXPECT_NEAR(crossings_per_second(a.samples, lo, hi, 16000), 880.0, 5.0);

    // The same through libsndfile + resample().
    const Audio b = resample(read_audio_file(path), 16000);
    EXPECT_EQ(b.samples.size(), 16000u);
    EXPECT_NEAR(rms(b.samples, lo, hi), 0.4 / std::sqrt(2.0), 0.005);
}

TEST_F(MediaTest, AacAudioInMp4RoundTrips) {
    const Audio a = decode_audio(clip());
    EXPECT_NEAR(a.duration(), 2.0, 0.02);  // priming samples are trimmed by the edit list
    const size_t lo = 1600, hi = 30400;
    EXPECT_NEAR(rms(a.samples, lo, hi), 0.5 / std::sqrt(2.0), 0.02);
    EXPECT_NEAR(crossings_per_second(a.samples, lo, hi, 16000), 880.0, 5.0);

    AudioDecodeOptions o;
    o.sample_rate = 8000;
    o.start = 0.5;
    o.duration = 1.0;
    const Audio window = decode_audio(clip(), o);
    EXPECT_EQ(window.samples.size(), 8000u);
    // Phase check: at 0.5 s the 440 Hz tone is at phase 2 pi 220 = 0 and rising.
    EXPECT_NEAR(window.samples[0], 0.0f, 0.1f);
    EXPECT_GT(window.samples[2], 0.0f);

    o.start = 1.5;
    o.pad = PadPolicy::RepeatLast;
    const Audio padded = decode_audio(clip(), o);
    ASSERT_EQ(padded.samples.size(), 8000u);
    EXPECT_EQ(padded.samples[7000], 0.0f);  // past the end: zeros
    EXPECT_GT(rms(padded.samples, 400, 3600), 0.3);
    o.pad = PadPolicy::Truncate;
    EXPECT_NEAR(double(decode_audio(clip(), o).samples.size()), 4000.0, 80.0);
    o.pad = PadPolicy::Error;
    expect_error([&] { decode_audio(clip(), o); }, ErrorKind::Data, "clip.mp4");
}

TEST_F(MediaTest, WavAndFlacRoundTrip) {
    Audio a = tone(1000, 0.5, 0.5, 22050);
    a.samples[10] = 1.5f;  // clipped, not wrapped
    for (const char* name : {"t.wav", "t.flac"}) {
        write_audio_file(dir / name, a);
        const Audio b = read_audio_file(dir / name);
        EXPECT_EQ(b.sample_rate, 22050);
        ASSERT_EQ(b.samples.size(), a.samples.size()) << name;
        EXPECT_NEAR(b.samples[10], 1.0f, 1e-3) << name;
        float worst = 0;
        for (size_t i = 0; i < a.samples.size(); ++i)
            if (i != 10) worst = std::max(worst, std::abs(a.samples[i] - b.samples[i]));
        EXPECT_LT(worst, 1.0f / 32768 * 1.01f) << name;  // 16-bit quantisation only
        // FFmpeg reads the same file.
        EXPECT_EQ(decode_audio(dir / name, {22050}).samples.size(), a.samples.size()) << name;
    }
    EXPECT_EQ(count_files(dir.path()), 2u);
    expect_error([&] { write_audio_file(dir / "t.xyz", a); }, ErrorKind::Usage, "t.xyz");
}

TEST_F(MediaTest, ResampleKeepsFrequencyAndLength) {
    const Audio a = resample(tone(440, 0.5, 1.0, 48000), 16000);
    ASSERT_EQ(a.samples.size(), 16000u);
    EXPECT_NEAR(crossings_per_second(a.samples, 800, 15200, 16000), 880.0, 5.0);
    EXPECT_NEAR(rms(a.samples, 800, 15200), 0.5 / std::sqrt(2.0), 0.005);
}

// ------------------------------------------------------------------------------------------------
// Mux
// ------------------------------------------------------------------------------------------------

TEST_F(MediaTest, MuxCopiesVideoPacketsAndTrimsAudioToVideo) {
    const auto out = dir / "muxed.mp4";
    mux_audio_into_video(clip(), tone(1000, 0.3, 3.0, 16000), out);
    const auto src = video_packets(clip()), dst = video_packets(out);
    ASSERT_EQ(src.size(), 50u);
    ASSERT_EQ(dst.size(), src.size());
    for (size_t i = 0; i < src.size(); ++i) {
        EXPECT_TRUE(src[i].data == dst[i].data) << "packet " << i;
        EXPECT_NEAR(src[i].pts, dst[i].pts, 1e-6) << "packet " << i;
    }
    const Audio a = decode_audio(out);
    EXPECT_NEAR(a.duration(), 2.0, 0.02);
    EXPECT_NEAR(crossings_per_second(a.samples, 1600, 30400, 16000), 2000.0, 8.0);
    const MediaInfo info = probe(out);
    EXPECT_EQ(info.video_codec, "h264");
    EXPECT_EQ(info.audio_codec, "aac");
}

TEST_F(MediaTest, MuxWithShorterAudioCutsVideo) {
    const auto out = dir / "short.mp4";
    mux_audio_into_video(clip(), tone(1000, 0.3, 1.0, 16000), out);
    const auto src = video_packets(clip()), dst = video_packets(out);
    // A decode-order prefix holding every frame shown before 1 s (B-frame references may add a few).
    ASSERT_GE(dst.size(), 25u);
    ASSERT_LE(dst.size(), 30u);
    for (size_t i = 0; i < dst.size(); ++i) EXPECT_TRUE(src[i].data == dst[i].data) << "packet " << i;
    EXPECT_NEAR(decode_audio(out).duration(), 1.0, 0.02);
    VideoDecodeOptions o;
    o.width = 16;
    o.height = 16;
    o.duration = 1.0;
    o.pad = PadPolicy::Error;
    const VideoFrames v = decode_video(out, o);
    for (int64_t k = 0; k < 25; ++k) EXPECT_EQ(frame_index(v.frames[k]), k);
}

// ------------------------------------------------------------------------------------------------
// Bad input: one test per kind, each must name the file
// ------------------------------------------------------------------------------------------------

TEST_F(MediaTest, MissingFileIsAnIOError) {
    const auto path = dir / "missing.mp4";
    expect_error([&] { decode_video(path); }, ErrorKind::IO, "missing.mp4");
    expect_error([&] { decode_audio(path); }, ErrorKind::IO, "missing.mp4");
    expect_error([&] { probe(path); }, ErrorKind::IO, "missing.mp4");
    expect_error([&] { read_audio_file(dir / "missing.wav"); }, ErrorKind::IO, "missing.wav");
}

TEST_F(MediaTest, ZeroByteFileIsADataError) {
    const auto path = dir / "empty.mp4";
    std::ofstream(path).close();
    expect_error([&] { decode_video(path); }, ErrorKind::Data, "empty.mp4");
    expect_error([&] { probe(path); }, ErrorKind::Data, "empty.mp4");
    std::ofstream(dir / "empty.wav").close();
    expect_error([&] { read_audio_file(dir / "empty.wav"); }, ErrorKind::Data, "empty.wav");
}

TEST_F(MediaTest, TruncatedMp4IsADataError) {
    // write_mp4 puts the index first (faststart): cut in half, the index points past the end.
    const auto bytes = fs::read_bytes(clip());
    const auto half = dir / "half.mp4";
    fs::write_atomic(half, bytes.data(), bytes.size() / 2);
    expect_error([&] { decode_video(half); }, ErrorKind::Data, "half.mp4");
    expect_error([&] { decode_audio(half); }, ErrorKind::Data, "half.mp4");
    // Cut inside the header: nothing is readable.
    const auto head = dir / "head.mp4";
    fs::write_atomic(head, bytes.data(), 200);
    expect_error([&] { decode_video(head); }, ErrorKind::Data, "head.mp4");
    expect_error([&] { probe(head); }, ErrorKind::Data, "head.mp4");
}

TEST_F(MediaTest, TextFileNamedMp4IsADataError) {
    const auto path = dir / "notes.mp4";
    fs::write_atomic(path, std::string("this is a text file, not a video\nsecond line\n"));
    expect_error([&] { decode_video(path); }, ErrorKind::Data, "notes.mp4");
    expect_error([&] { decode_audio(path); }, ErrorKind::Data, "notes.mp4");
}

TEST_F(MediaTest, VideoWithoutAudioIsADataErrorForDecodeAudio) {
    const auto path = dir / "silent.mp4";
    write_mp4(path, grey_ramp(5, 16, 16), 25.0, Audio{});
    EXPECT_FALSE(probe(path).has_audio);
    expect_error([&] { decode_audio(path); }, ErrorKind::Data, "silent.mp4");
    // And an audio-only file has no video.
    write_audio_file(dir / "only.wav", tone(440, 0.5, 0.1, 16000));
    expect_error([&] { decode_video(dir / "only.wav"); }, ErrorKind::Data, "only.wav");
}

TEST_F(MediaTest, StreamWithoutDecoderIsADataError) {
    // A NUT file (FFmpeg's own container, which stores any fourcc) with a video stream whose fourcc
    // maps to no codec: FFmpeg can mux it but has no decoder for it.
    const auto path = dir / "unknown_codec.nut";
    AVFormatContext* oc = nullptr;
    ASSERT_GE(avformat_alloc_output_context2(&oc, nullptr, "nut", path.c_str()), 0);
    AVStream* st = avformat_new_stream(oc, nullptr);
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = AV_CODEC_ID_NONE;
    st->codecpar->codec_tag = MKTAG('Q', 'Z', 'X', '9');
    st->codecpar->width = 16;
    st->codecpar->height = 16;
    st->time_base = AVRational{1, 25};
    ASSERT_GE(avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE), 0);
    ASSERT_GE(avformat_write_header(oc, nullptr), 0);
    AVPacket* pkt = av_packet_alloc();
    for (int i = 0; i < 5; ++i) {
        ASSERT_GE(av_new_packet(pkt, 64), 0);
        std::memset(pkt->data, i, 64);
        pkt->pts = pkt->dts = i;
        pkt->flags = AV_PKT_FLAG_KEY;
        pkt->stream_index = 0;
        ASSERT_GE(av_interleaved_write_frame(oc, pkt), 0);
    }
    av_packet_free(&pkt);
    av_write_trailer(oc);
    avio_closep(&oc->pb);
    avformat_free_context(oc);

    expect_error([&] { decode_video(path); }, ErrorKind::Data, "unknown_codec.nut");
    try {
        decode_video(path);
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no decoder"), std::string::npos) << e.what();
    }
}

TEST_F(MediaTest, BadWriteInputLeavesNothingBehind) {
    const auto path = dir / "bad.mp4";
    expect_error([&] { write_mp4(path, torch::zeros({4, 8, 8}, torch::kUInt8), 25.0, Audio{}); }, ErrorKind::Usage,
                 "bad.mp4");
    expect_error([&] { write_mp4(path, torch::zeros({4, 8, 8, 3}, torch::kFloat), 25.0, Audio{}); },
                 ErrorKind::Usage, "bad.mp4");
    EncodeOptions bad_preset;
    bad_preset.preset = "no-such-preset";
    expect_error([&] { write_mp4(path, grey_ramp(3, 8, 8), 25.0, Audio{}, bad_preset); }, ErrorKind::Usage,
                 "bad.mp4");
    EXPECT_EQ(count_files(dir.path()), 0u);
    // Muxing from a broken source leaves no output either.
    std::ofstream(dir / "broken.mp4").close();
    expect_error([&] { mux_audio_into_video(dir / "broken.mp4", tone(440, 0.5, 1.0, 16000), dir / "out.mp4"); },
                 ErrorKind::Data, "broken.mp4");
    EXPECT_FALSE(stdfs::exists(dir / "out.mp4"));
}

}  // namespace
}  // namespace v2a::io

namespace v2a::io {
namespace {

// A phone's portrait video: frames stored sideways with a display rotation. Decoding turns them upright
// (as players and ffmpeg's autorotate do) and probe reports the displayed size.
TEST(MediaRotationTest, RotatedStreamsDecodeUpright) {
    test::TempDir dir;
    // Stored 48 wide x 32 high, a red 8x8 block in the stored top-left corner, the rest grey.
    auto frames = torch::full({5, 32, 48, 3}, 128, torch::kUInt8);
    frames.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 8), torch::indexing::Slice(0, 8), 0}, 250);
    frames.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 8), torch::indexing::Slice(0, 8), 1}, 10);
    frames.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 8), torch::indexing::Slice(0, 8), 2}, 10);
    // Where the stored top-left corner is shown after each clockwise turn: (row, col) of the displayed frame.
    struct Case {
        int rotation, width, height, row, col;
    };
    for (const Case c : {Case{0, 48, 32, 2, 2}, Case{90, 32, 48, 2, 29}, Case{180, 48, 32, 29, 45}, Case{270, 32, 48, 45, 2}}) {
        EncodeOptions eo;
        eo.rotation = c.rotation;
        const auto path = dir / ("r" + std::to_string(c.rotation) + ".mp4");
        write_mp4(path, frames, 25.0, Audio{}, eo);
        const auto info = probe(path);
        EXPECT_EQ(info.rotation, c.rotation);
        EXPECT_EQ(info.width, c.width) << c.rotation;
        EXPECT_EQ(info.height, c.height) << c.rotation;
        VideoDecodeOptions vo;
        vo.width = c.width;
        vo.height = c.height;
        const auto f = decode_video(path, vo).frames;
        ASSERT_EQ(f.size(1), c.height);
        const auto px = f[0][c.row][c.col];
        EXPECT_GT(px[0].item<int>(), 200) << "rotation " << c.rotation;   // red where the corner should be
        EXPECT_LT(px[1].item<int>(), 60) << "rotation " << c.rotation;
        const auto far = f[0][c.height - 1 - c.row][c.width - 1 - c.col];  // and grey in the opposite corner
        EXPECT_NEAR(far[0].item<int>(), 128, 20) << "rotation " << c.rotation;
    }
    EncodeOptions bad;
    bad.rotation = 45;
    test::expect_error([&] { write_mp4(dir / "bad.mp4", frames, 25.0, Audio{}, bad); }, ErrorKind::Usage, "multiple of 90");
}

}  // namespace
}  // namespace v2a::io
