// style.css: one small sheet, large targets for the rating buttons, readable tables.
#include "v2a/serve/web_assets.h"

namespace v2a::serve::web {

extern const char kStyleCss[] = R"CSS(
:root { --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #dfe3ea;
        --good: #1f9d55; --medium: #d98e04; --bad: #d64545; --accent: #3056d3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2330; color: #fff; }
.brand { font-weight: 700; font-size: 18px; } .brand span { font-weight: 400; color: #aab3c5; font-size: 14px; }
nav a { color: #cfd6e4; text-decoration: none; padding: 6px 12px; border-radius: 6px; }
nav a.active { background: #3b4456; color: #fff; }
#who { margin-left: auto; color: #cfd6e4; }
main { max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px; }
.card.done { text-align: center; padding: 40px; }
video { width: 100%; max-height: 480px; background: #000; border-radius: 6px; }
.caption { color: var(--muted); font-style: italic; margin: 10px 0 0; min-height: 1.4em; }
.question { font-weight: 600; margin: 14px 0 10px; }
.choices { display: flex; gap: 12px; }
.choice { flex: 1; font-size: 18px; padding: 16px; border-radius: 8px; border: 2px solid transparent; color: #fff; cursor: pointer; }
.choice.good { background: var(--good); } .choice.medium { background: var(--medium); } .choice.bad { background: var(--bad); }
.choice:disabled { opacity: .55; cursor: wait; }
.choice.picked { outline: 3px solid var(--ink); }
.secondary { display: flex; gap: 10px; margin-top: 12px; }
button, .button { font: inherit; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--line); background: #fff; color: var(--ink); cursor: pointer; text-decoration: none; display: inline-block; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.link { background: none; border: none; color: #9fb3ff; padding: 0; text-decoration: underline; }
kbd { font: 12px ui-monospace, monospace; background: rgba(0,0,0,.18); border-radius: 4px; padding: 1px 5px; margin-left: 6px; }
.secondary kbd, .card.done kbd { background: #eef0f4; }
.progress { display: flex; align-items: center; gap: 12px; margin-bottom: 12px; color: var(--muted); }
.bar { flex: 1; height: 8px; background: #e4e7ee; border-radius: 4px; overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--accent); transition: width .2s; }
.status { min-height: 1.4em; color: var(--muted); }
.status.error, .error { color: var(--bad); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 700; font-size: 18px; margin-bottom: 6px; }
.panel form label { display: block; margin: 10px 0; } .panel form label.wide input { width: 100%; }
input { font: inherit; padding: 7px 9px; border: 1px solid var(--line); border-radius: 6px; }
#login { max-width: 420px; margin: 60px auto; } #login input { width: 100%; }
.row { display: flex; gap: 16px; } .row input { width: 110px; }
.hint { color: var(--muted); }
.toolbar { display: flex; align-items: center; gap: 10px; } .toolbar h1 { margin: 0 auto 0 0; }
.stats { display: flex; gap: 12px; margin: 16px 0; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 18px; min-width: 150px; }
.stat b { display: block; font-size: 24px; } .stat span { color: var(--muted); }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid var(--line); } th { background: #f0f2f6; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; }
.mini { display: flex; height: 10px; width: 160px; border-radius: 3px; overflow: hidden; background: #eef0f4; }
.mini .g { background: var(--good); } .mini .m { background: var(--medium); } .mini .b { background: var(--bad); }
)CSS";

}  // namespace v2a::serve::web
