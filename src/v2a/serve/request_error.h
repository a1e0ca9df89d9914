// A v2a::Error that carries the HTTP status a request should get (400 malformed, 404 unknown clip,
// 409 already rated, 413 too large, ...). The HTTP layer answers every error with JSON
// {"error": message}; anything else that escapes a handler becomes a 500 with the same shape.
#pragma once
#include <string>

#include "v2a/core/error.h"

namespace v2a::serve {

class RequestError : public Error {
public:
    RequestError(int status, const std::string& message) : Error(ErrorKind::Usage, message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

template <typename... Args>
[[noreturn]] void request_fail(int status, const Args&... args) {
    throw RequestError(status, detail::concat(args...));
}

}  // namespace v2a::serve

/// V2A_REQUIRE(cond, status, "message parts", ...) throws serve::RequestError(status, ...) when cond is false.
#define V2A_REQUIRE(cond, status, ...)                                \
    do {                                                              \
        if (!(cond)) ::v2a::serve::request_fail(status, __VA_ARGS__); \
    } while (0)
