#include "v2a/core/fs.h"

#include <cctype>

#include <csignal>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "v2a/core/error.h"

namespace v2a::fs {

std::vector<uint8_t> read_bytes(const stdfs::path& path) {
    std::ifstream in(path, std::ios::binary);
    V2A_CHECK(in.good(), IO, path.string(), ": cannot open for reading (", std::strerror(errno), ")");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
    V2A_CHECK(in.good() || size == 0, IO, path.string(), ": read failed");
    return bytes;
}

std::string read_text(const stdfs::path& path) {
    std::vector<uint8_t> bytes = read_bytes(path);
    return std::string(bytes.begin(), bytes.end());
}

int remove_stale_temp_files(const stdfs::path& dir) {
    std::error_code ec;
    if (!stdfs::is_directory(dir, ec)) return 0;
    int removed = 0;
    for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        // <stem>.tmp<pid>_<counter>[<ext>]: find ".tmp", digits, '_', digits.
        for (size_t at = name.find(".tmp"); at != std::string::npos; at = name.find(".tmp", at + 1)) {
            size_t i = at + 4, pid_end = i;
            while (pid_end < name.size() && std::isdigit(static_cast<unsigned char>(name[pid_end]))) ++pid_end;
            if (pid_end == i || pid_end >= name.size() || name[pid_end] != '_') continue;
            size_t n_end = pid_end + 1;
            while (n_end < name.size() && std::isdigit(static_cast<unsigned char>(name[n_end]))) ++n_end;
            if (n_end == pid_end + 1 || (n_end < name.size() && name[n_end] != '.')) continue;
            const long pid = std::stol(name.substr(i, pid_end - i));
            const bool alive = pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
            std::error_code rm;
            if (!alive && entry.is_regular_file(rm) && stdfs::remove(entry.path(), rm)) ++removed;
            break;
        }
    }
    return removed;
}

stdfs::path temp_path_for(const stdfs::path& path) {
    static std::atomic<int> counter{0};
    std::ostringstream name;
    name << path.stem().string() << ".tmp" << ::getpid() << "_" << counter++ << path.extension().string();
    return path.parent_path() / name.str();
}

void write_atomic(const stdfs::path& path, const void* data, size_t size) {
    write_atomic_with(path, [&](const stdfs::path& tmp) {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        V2A_CHECK(fd >= 0, IO, tmp.string(), ": cannot create (", std::strerror(errno), ")");
        const auto* bytes = static_cast<const uint8_t*>(data);
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd, bytes + done, size - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int err = errno;
                ::close(fd);
                fail(ErrorKind::IO, tmp.string(), ": write failed (", std::strerror(err), ")");
            }
            done += static_cast<size_t>(n);
        }
        ::fsync(fd);
        V2A_CHECK(::close(fd) == 0, IO, tmp.string(), ": close failed (", std::strerror(errno), ")");
    });
}

void write_atomic(const stdfs::path& path, const std::string& text) { write_atomic(path, text.data(), text.size()); }

void write_atomic_with(const stdfs::path& path, const std::function<void(const stdfs::path& tmp)>& writer) {
    if (path.has_parent_path()) ensure_dir(path.parent_path());
    const stdfs::path tmp = temp_path_for(path);
    try {
        writer(tmp);
    } catch (...) {
        std::error_code ec;
        stdfs::remove(tmp, ec);
        throw;
    }
    std::error_code ec;
    stdfs::rename(tmp, path, ec);
    if (ec) {
        stdfs::remove(tmp, ec);
        fail(ErrorKind::IO, path.string(), ": cannot move the finished file into place (", ec.message(), ")");
    }
}

void ensure_dir(const stdfs::path& dir) {
    if (dir.empty()) return;
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    V2A_CHECK(!ec, IO, dir.string(), ": cannot create directory (", ec.message(), ")");
}

}  // namespace v2a::fs
