// Shared GoogleTest main: quiet logs, fixed thread count so results do not depend on the machine.
#include <gtest/gtest.h>

#include "v2a/core/log.h"
#include "v2a/core/threads.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    v2a::log::set_level(v2a::log::Level::Warn);
    v2a::configure_threads(2);
    return RUN_ALL_TESTS();
}
