// Media I/O through the FFmpeg libraries (decode, resample, encode, mux) and libsndfile (WAV/FLAC).
// Every function throws v2a::Error naming the file and the problem (zero-byte, truncated, not a
// media file, no video/audio stream, unsupported codec) and never leaves a half-written output.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace v2a::io {

namespace stdfs = std::filesystem;

/// How frames are fitted to the requested size.
enum class ResizeMode {
    Stretch,       // scale both axes to width x height
    CenterCrop,    // scale the short side, crop the centre (CLIP / Synchformer preprocessing)
};

/// What to do when the clip is shorter than the requested duration.
enum class PadPolicy {
    Error,         // throw: the clip is too short
    RepeatLast,    // repeat the last frame (video) / pad with zeros (audio)
    Truncate,      // return only what exists (fewer frames / samples)
};

struct VideoDecodeOptions {
    double fps = 25.0;          // frames are sampled on the grid t_k = start + k / fps
    int width = 96;
    int height = 96;
    double start = 0.0;         // seconds
    double duration = -1.0;     // seconds; < 0 = to the end of the stream
    ResizeMode resize = ResizeMode::Stretch;
    PadPolicy pad = PadPolicy::RepeatLast;
    int threads = 1;            // decoder threads; 1 = deterministic and cheap (callers parallelise over clips)
};

struct VideoFrames {
    torch::Tensor frames;              // [T, H, W, 3] uint8 RGB
    std::vector<double> timestamps;    // presentation time (s) of the source frame shown at each grid point
    double fps = 0.0;                  // the grid rate (as requested)
    double source_fps = 0.0;           // average rate of the source stream
    double source_duration = 0.0;      // seconds, of the video stream
    int n_padded = 0;                  // grid points past the end of the stream (filled per PadPolicy)
};

/// Decodes a video stream to RGB frames on a fixed time grid. Variable frame rate is handled by
/// showing, at each grid time, the last source frame whose timestamp is <= that time. A stream with a
/// display rotation (a phone's portrait video) is turned upright first, as players show it.
VideoFrames decode_video(const stdfs::path& path, const VideoDecodeOptions& options = {});

struct AudioDecodeOptions {
    int sample_rate = 16000;
    double start = 0.0;
    double duration = -1.0;     // < 0 = to the end
    PadPolicy pad = PadPolicy::RepeatLast;   // RepeatLast pads audio with zeros
};

/// Mono float audio in [-1, 1] (channels averaged).
struct Audio {
    std::vector<float> samples;
    int sample_rate = 0;
    double duration() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

/// Decodes the first audio stream of any container FFmpeg reads (mp4, mkv, wav, flac, ogg, ...),
/// downmixed to mono and resampled with libswresample. Throws if the file has no audio stream.
Audio decode_audio(const stdfs::path& path, const AudioDecodeOptions& options = {});

/// Basic facts about a media file without decoding it.
struct MediaInfo {
    bool has_video = false, has_audio = false;
    double duration = 0.0;        // container duration (s)
    double video_fps = 0.0;
    int width = 0, height = 0;    // as displayed: after the stream's rotation
    int rotation = 0;             // degrees clockwise a player turns the stored frames (display matrix)
    int audio_sample_rate = 0, audio_channels = 0;
    std::string video_codec, audio_codec, format;
};
MediaInfo probe(const stdfs::path& path);

/// WAV (16-bit PCM or float) / FLAC by extension, through libsndfile; written atomically.
void write_audio_file(const stdfs::path& path, const Audio& audio);
/// Reads WAV/FLAC/OGG through libsndfile (no resampling; mono mixdown).
Audio read_audio_file(const stdfs::path& path);

/// Linear-phase resampling of mono audio with libswresample.
Audio resample(const Audio& audio, int sample_rate);

struct EncodeOptions {
    int crf = 20;                  // H.264 quality
    std::string preset = "veryfast";
    int audio_bitrate = 96000;     // AAC
    // Optional per-frame presentation times (s), strictly increasing, one per frame: writes a
    // variable-frame-rate stream. Empty = constant rate, frame i at i / fps.
    std::vector<double> timestamps;
    // Display rotation (degrees clockwise, a multiple of 90) written into the stream's display matrix, as a
    // phone stores a portrait video: the frames are stored as given and a player turns them. 0 = none.
    int rotation = 0;
};

/// Encodes RGB frames [T, H, W, 3] uint8 at `fps` as H.264 (yuv420p) plus `audio` as AAC into an
/// mp4. Odd sizes are padded to even by repeating the last row/column (yuv420p needs even sizes).
void write_mp4(const stdfs::path& path, const torch::Tensor& frames, double fps, const Audio& audio,
               const EncodeOptions& options = {});

/// MMAudio-demo style output: copies the video stream of `video` (no re-encode), adds `audio` as AAC,
/// trims to the shorter of the two. Written atomically.
void mux_audio_into_video(const stdfs::path& video, const Audio& audio, const stdfs::path& out,
                          const EncodeOptions& options = {});

}  // namespace v2a::io
