#include "v2a/core/error.h"

#include <cstdio>
#include <cstdlib>

namespace v2a::detail {

void assert_fail(const char* expr, const char* file, int line, const char* func) {
    std::fprintf(stderr, "v2a: internal error: assertion '%s' failed in %s (%s:%d)\n", expr, func, file, line);
    std::abort();
}

}  // namespace v2a::detail
