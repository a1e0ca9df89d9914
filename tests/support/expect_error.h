// expect_error(fn, kind, needle): fn must throw v2a::Error of `kind` whose message contains `needle`
// (the file or thing the error must name).
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "v2a/core/error.h"

namespace v2a::test {

template <typename Fn>
void expect_error(Fn&& fn, ErrorKind kind, const std::string& needle) {
    try {
        fn();
        FAIL() << "no throw, expected an error naming '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

}  // namespace v2a::test
