// Media: a registered clip by id (/media/clip/<id>) and a finished demo result by job id
// (/media/demo/<job>.mp4). Nothing else on disk is reachable: the request names an id, never a
// path, and an id that is not registered is a 404 whatever it contains ("../", "%2e%2e", "/etc").
// Range requests are answered (httplib slices the provider), so the browser can seek.
#include <fstream>

#include "v2a/serve/http.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

namespace {

void send_file(httplib::Response& res, const std::filesystem::path& path, const std::string& download_name) {
    auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
    V2A_REQUIRE(*file, 404, "media file is gone");
    const auto size = size_t(std::filesystem::file_size(path));
    if (!download_name.empty()) res.set_header("Content-Disposition", "attachment; filename=\"" + download_name + "\"");
    res.set_content_provider(size, "video/mp4", [file](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buf(std::min<size_t>(length, 1 << 16));
        file->clear();
        file->seekg(std::streamoff(offset));
        file->read(buf.data(), std::streamsize(buf.size()));
        const auto n = size_t(file->gcount());
        if (n == 0) return false;
        sink.write(buf.data(), n);
        return true;
    });
}

}  // namespace

void add_media_routes(httplib::Server& server, ServerContext& ctx) {
    server.Get(R"(/media/clip/(.+))", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   const Clip* clip = ctx.registry.find(req.matches[1].str());
                   V2A_REQUIRE(clip != nullptr, 404, "no such clip");
                   send_file(res, clip->media, "");
               }));
    server.Get(R"(/media/demo/([0-9a-f]{16})\.mp4)", guarded([&ctx](const httplib::Request& req, httplib::Response& res) {
                   V2A_REQUIRE(ctx.demo != nullptr, 404, "the demo is not enabled (start with --model and --vae)");
                   const auto job = ctx.demo->job(req.matches[1].str());
                   V2A_REQUIRE(job && job->state == JobState::Done, 404, "no such result");
                   send_file(res, job->result, req.has_param("download") ? "v2a_" + job->id + ".mp4" : "");
               }));
}

}  // namespace v2a::serve
