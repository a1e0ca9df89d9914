// index.html: the page shell with the four tabs; app.js fills it in.
#include "v2a/serve/web_assets.h"

namespace v2a::serve::web {

extern const char kIndexHtml[] = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>v2a · rate generated audio</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header>
  <div class="brand">v2a <span>human preference</span></div>
  <nav id="tabs">
    <a href="#rate" data-tab="rate">Rate</a>
    <a href="#compare" data-tab="compare">Compare</a>
    <a href="#agreement" data-tab="agreement">Agreement</a>
    <a href="#demo" data-tab="demo">Demo</a>
  </nav>
  <div id="who" hidden><span id="who-name"></span> <button id="sign-out" class="link" type="button">switch</button></div>
</header>
<main>
  <section id="login" class="panel" hidden>
    <h1>Who is rating?</h1>
    <p class="hint">Your name is stored with every label you give. Use the same name each time you come back.</p>
    <form id="login-form">
      <label>Name <input id="login-name" autocomplete="username" maxlength="64" required></label>
      <label id="login-token-row" hidden>Access token <input id="login-token" type="password" autocomplete="current-password"></label>
      <button type="submit" class="primary" id="login-submit">Start</button>
      <p class="error" id="login-error" role="alert"></p>
    </form>
  </section>

  <section id="rate" class="tab panel" hidden>
    <div class="progress"><div class="bar"><div id="rate-bar"></div></div><span id="rate-progress"></span></div>
    <div id="rate-card" class="card" hidden>
      <video id="rate-video" controls autoplay playsinline preload="auto"></video>
      <p id="rate-caption" class="caption"></p>
      <p class="question">Does the sound fit the video &mdash; the right sounds, on the right frames &mdash; and does it sound good?</p>
      <div class="choices">
        <button type="button" class="choice good" id="btn-good" data-label="good">Good <kbd>1</kbd></button>
        <button type="button" class="choice medium" id="btn-medium" data-label="medium">Medium <kbd>2</kbd></button>
        <button type="button" class="choice bad" id="btn-bad" data-label="bad">Bad <kbd>3</kbd></button>
      </div>
      <div class="secondary">
        <button type="button" id="rate-skip">Skip <kbd>S</kbd></button>
        <button type="button" id="rate-undo">Undo last <kbd>U</kbd></button>
      </div>
    </div>
    <div id="rate-done" class="card done" hidden>
      <h2>Nothing left to rate</h2>
      <p>Every clip you have not rated already has enough ratings. Thank you!</p>
      <button type="button" id="rate-undo-done">Undo last <kbd>U</kbd></button>
    </div>
    <p id="rate-status" class="status" role="status"></p>
  </section>

  <section id="compare" class="tab panel" hidden>
    <div class="progress"><div class="bar"><div id="compare-bar"></div></div><span id="compare-progress"></span></div>
    <div id="compare-card" class="card" hidden>
      <p id="compare-caption" class="caption"></p>
      <div class="pair">
        <figure><figcaption>A</figcaption><video id="compare-left" controls playsinline preload="auto"></video></figure>
        <figure><figcaption>B</figcaption><video id="compare-right" controls playsinline preload="auto"></video></figure>
      </div>
      <p class="question">Which soundtrack fits the video better?</p>
      <div class="choices">
        <button type="button" class="choice good" id="btn-left" data-choice="left">A is better <kbd>A</kbd></button>
        <button type="button" class="choice medium" id="btn-tie" data-choice="tie">Tie <kbd>T</kbd></button>
        <button type="button" class="choice good" id="btn-right" data-choice="right">B is better <kbd>B</kbd></button>
      </div>
      <div class="secondary">
        <button type="button" id="compare-skip">Skip <kbd>S</kbd></button>
        <button type="button" id="compare-undo">Undo last <kbd>U</kbd></button>
      </div>
    </div>
    <div id="compare-done" class="card done" hidden>
      <h2>Nothing left to compare</h2>
      <p id="compare-done-text">Every pair of versions you have not judged already has enough judgements.</p>
    </div>
    <p id="compare-status" class="status" role="status"></p>
  </section>

  <section id="agreement" class="tab panel" hidden>
    <div class="toolbar">
      <h1>Agreement</h1>
      <button type="button" id="agreement-refresh">Refresh</button>
      <a class="button" href="/api/export/labels.csv" download>labels.csv</a>
      <a class="button" href="/api/export/labels.jsonl" download>labels.jsonl</a>
      <a class="button" href="/api/export/comparisons.csv" download>comparisons.csv</a>
    </div>
    <div class="stats" id="agreement-stats"></div>
    <h2>Annotator pairs (Cohen's &kappa;)</h2>
    <table id="agreement-pairs"><thead><tr><th>annotator</th><th>annotator</th><th>shared clips</th><th>&kappa;</th></tr></thead><tbody></tbody></table>
    <h2>Labels per clip</h2>
    <table id="agreement-clips"><thead><tr><th>clip</th><th>good</th><th>medium</th><th>bad</th><th>raters</th><th></th></tr></thead><tbody></tbody></table>
    <h2>A/B comparisons</h2>
    <table id="agreement-ab"><thead><tr><th>version A</th><th>version B</th><th>A wins</th><th>ties</th><th>B wins</th></tr></thead><tbody></tbody></table>
  </section>

  <section id="demo" class="tab panel" hidden>
    <h1>Try the model on your video</h1>
    <p id="demo-disabled" class="hint" hidden>The demo is off: start <code>v2a serve</code> with <code>--model</code> and <code>--vae</code>.</p>
    <form id="demo-form" hidden>
      <label class="wide">Video <input id="demo-video" type="file" accept="video/*" required></label>
      <p class="hint" id="demo-limits"></p>
      <label class="wide">Prompt (optional) <input id="demo-prompt" maxlength="1000" placeholder="e.g. a dog barking"></label>
      <label class="wide">Negative prompt (optional) <input id="demo-negative" maxlength="1000" placeholder="e.g. music"></label>
      <div class="row">
        <label>Seed <input id="demo-seed" type="number" value="42" min="0" step="1"></label>
        <label>Steps <input id="demo-steps" type="number" value="25" min="1" step="1"></label>
        <label>CFG <input id="demo-cfg" type="number" value="4.5" min="0" max="20" step="0.5"></label>
      </div>
      <button type="submit" class="primary" id="demo-submit">Generate</button>
    </form>
    <div class="progress" id="demo-progress-row" hidden><div class="bar"><div id="demo-bar"></div></div><span id="demo-progress"></span></div>
    <p id="demo-status" class="status" role="status"></p>
    <div id="demo-result" class="card" hidden>
      <video id="demo-output" controls playsinline></video>
      <p><a id="demo-download" class="button" href="#">Download mp4</a></p>
    </div>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
)HTML";

}  // namespace v2a::serve::web
