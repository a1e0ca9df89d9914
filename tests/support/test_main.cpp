// Shared GoogleTest main: quiet logs, fixed thread count so results do not depend on the machine.
#include <gtest/gtest.h>

#include <cstdlib>

#include "v2a/core/log.h"
#include "v2a/core/threads.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    v2a::log::set_level(v2a::log::Level::Warn);
    // 2 intra-op threads, or V2A_TEST_THREADS: scripts/test.sh runs CTest with -j <cores> and 1 thread per
    // test, since N concurrent tests of 2 spinning OpenMP threads each on N cores run up to 10x slower.
    const char* env = std::getenv("V2A_TEST_THREADS");
    v2a::configure_threads(env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 2);
    return RUN_ALL_TESTS();
}
