// Errors are exceptions that name the file (or thing) and the problem; the CLI turns them into a
// one-line message and a non-zero exit. Bugs (broken invariants) abort through V2A_ASSERT.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace v2a {

enum class ErrorKind { Usage, IO, Data, Config, Model, Internal };

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* func);
}  // namespace detail

/// Throws v2a::Error(kind, concatenation of args).
template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, const Args&... args) {
    throw Error(kind, detail::concat(args...));
}

}  // namespace v2a

/// V2A_CHECK(cond, kind, "message parts", value, ...) throws v2a::Error when cond is false.
#define V2A_CHECK(cond, kind, ...)                                  \
    do {                                                            \
        if (!(cond)) ::v2a::fail(::v2a::ErrorKind::kind, __VA_ARGS__); \
    } while (0)

/// Invariant check, on in every build: prints the expression and aborts.
#define V2A_ASSERT(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) ::v2a::detail::assert_fail(#cond, __FILE__, __LINE__, __func__);    \
    } while (0)
