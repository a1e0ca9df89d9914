// Browser tests: Debian's chromium, headless and offline, driven by playwright-core (pinned in
// tests/serve/e2e/package.json / package-lock.json and installed there by `npm ci` on first use).
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

namespace v2a::test {

/// V2A_CHROMIUM, else Debian's chromium; empty when not installed (the caller skips) — unless
/// V2A_REQUIRE_BROWSER=1 (scripts/test.sh sets it after scripts/setup.sh installed chromium): then a
/// missing browser fails the test instead of skipping it.
inline std::string chromium_path() {
    if (const char* p = std::getenv("V2A_CHROMIUM")) return p;
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
        if (std::filesystem::exists(p)) return p;
    const char* required = std::getenv("V2A_REQUIRE_BROWSER");
    if (required && std::string(required) == "1")
        ADD_FAILURE() << "chromium is not installed but V2A_REQUIRE_BROWSER=1 (scripts/setup.sh installs it)";
    return {};
}

/// Runs a shell command, returning its exit status and output (stdout + stderr).
inline std::pair<int, std::string> run_command(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return {-1, "popen failed"};
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// The node package holding playwright-core, installed by `npm ci` when missing. Fails the test
/// (ASSERT) when node or npm cannot provide it.
inline void ensure_playwright(const std::filesystem::path& e2e) {
    ASSERT_EQ(run_command("node --version").first, 0) << "node is needed to drive the browser (Debian package nodejs)";
    if (!std::filesystem::exists(e2e / "node_modules" / "playwright-core")) {
        const auto [rc, out] = run_command("npm ci --prefix " + shell_quoted(e2e.string()) + " --no-audit --no-fund");
        ASSERT_EQ(rc, 0) << "npm ci in " << e2e << " failed:\n" << out;
    }
}

/// Where a browser test puts its screenshots: V2A_SCREENSHOT_DIR (e.g. docs/), else `fallback` in the
/// working folder.
inline std::filesystem::path screenshot_dir(const std::string& fallback) {
    const char* env_out = std::getenv("V2A_SCREENSHOT_DIR");
    return env_out ? std::filesystem::path(env_out) : std::filesystem::current_path() / fallback;
}

}  // namespace v2a::test
