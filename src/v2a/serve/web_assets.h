// The browser UI: one page (index.html) with four tabs, plain JavaScript and CSS, no framework.
// Compiled into the binary (web_*.cpp hold them as raw strings), so the server reads no file from
// disk except the registered media.
#pragma once

namespace v2a::serve::web {

extern const char kIndexHtml[];
extern const char kAppJs[];
extern const char kStyleCss[];

}  // namespace v2a::serve::web
