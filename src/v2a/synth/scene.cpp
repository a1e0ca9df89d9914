#include "v2a/synth/scene.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "v2a/core/error.h"
#include "v2a/synth/classes.h"
#include "v2a/synth/rng.h"
#include "v2a/synth/sound_sources.h"

namespace v2a::synth {
namespace {

using Col = cv::Scalar;   // RGB order: frames are RGB, so (r, g, b) everywhere
constexpr int kShift = 4; // sub-pixel bits for OpenCV drawing
constexpr double kPi = 3.14159265358979323846;

Col rgb(int r, int g, int b) { return Col(r, g, b); }
Col mix(const Col& a, const Col& b, double t) {
    t = std::clamp(t, 0.0, 1.0);
    return Col(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t);
}
Col scale(const Col& a, double f) { return Col(std::min(255.0, a[0] * f), std::min(255.0, a[1] * f), std::min(255.0, a[2] * f)); }

/// exp(-since / tau) for since >= 0, else 0: the decaying "flash" that starts on the event frame.
double pulse(double since, double tau) { return since >= 0 ? std::exp(-since / tau) : 0.0; }

/// The drawing context of one object: its box (centre, half-size R, in pixels) and the time.
struct Ctx {
    cv::Mat* img;
    const SourceSpec* src;
    int frame;
    double t, fps;
    float cx, cy, R;
    float env;   // audio envelope of this source at this frame, in [0, 1]

    float x(double u) const { return float(cx + u * R); }
    float y(double v) const { return float(cy + v * R); }
    cv::Point P(double u, double v) const {
        return cv::Point(int(std::lround(x(u) * (1 << kShift))), int(std::lround(y(v) * (1 << kShift))));
    }
    int L(double len) const { return std::max(1, int(std::lround(len * R * (1 << kShift)))); }
    int thick(double w) const { return std::max(1, int(std::lround(w * R))); }

    void circle(double u, double v, double r, const Col& c, int thickness = -1) const {
        cv::circle(*img, P(u, v), L(r), c, thickness, cv::LINE_AA, kShift);
    }
    void ellipse(double u, double v, double a, double b, double angle, double a0, double a1, const Col& c,
                 int thickness = -1) const {
        cv::ellipse(*img, P(u, v), cv::Size(L(a), L(b)), angle, a0, a1, c, thickness, cv::LINE_AA, kShift);
    }
    void rect(double u0, double v0, double u1, double v1, const Col& c, int thickness = -1) const {
        cv::rectangle(*img, P(u0, v0), P(u1, v1), c, thickness, cv::LINE_AA, kShift);
    }
    void line(double u0, double v0, double u1, double v1, const Col& c, int thickness = 1) const {
        cv::line(*img, P(u0, v0), P(u1, v1), c, thickness, cv::LINE_AA, kShift);
    }
    void poly(const std::vector<cv::Point2d>& pts, const Col& c) const {
        std::vector<cv::Point> p;
        for (const auto& q : pts) p.push_back(P(q.x, q.y));
        cv::fillPoly(*img, std::vector<std::vector<cv::Point>>{p}, c, cv::LINE_AA, kShift);
    }
    void polyline(const std::vector<cv::Point2d>& pts, const Col& c, int thickness) const {
        std::vector<cv::Point> p;
        for (const auto& q : pts) p.push_back(P(q.x, q.y));
        cv::polylines(*img, std::vector<std::vector<cv::Point>>{p}, false, c, thickness, cv::LINE_AA, kShift);
    }
    /// Draws with `draw` onto a copy and blends it in with opacity alpha (smoke, flashes, ripples).
    template <typename F>
    void blend(double alpha, F draw) const {
        if (alpha <= 0.003) return;
        cv::Mat layer = img->clone();
        Ctx c = *this;
        c.img = &layer;
        draw(c);
        cv::addWeighted(layer, std::min(alpha, 1.0), *img, 1.0 - std::min(alpha, 1.0), 0.0, *img);
    }

    /// Seconds since the latest event at or before this frame (and that event), or -1.
    double since_last(const Event** which = nullptr) const {
        const Event* best = nullptr;
        for (const Event& e : src->events)
            if (e.frame <= frame && (best == nullptr || e.frame > best->frame)) best = &e;
        if (which != nullptr) *which = best;
        return best != nullptr ? (frame - best->frame) / fps : -1.0;
    }
    double since(const Event& e) const { return (frame - e.frame) / fps; }
    /// Striker height in [0, 1]: 0 at a contact; it comes down over `down` s before each event and
    /// goes back up over `up` s after it.
    double striker(double down, double up) const {
        double h = 1.0;
        for (const Event& e : src->events) {
            const double s = since(e);
            if (s < 0 && s > -down) h = std::min(h, -s / down);
            if (s >= 0 && s < up) h = std::min(h, s / up);
        }
        return h;
    }
};

const Col& pal(const std::vector<Col>& colours, int palette) { return colours[size_t(palette) % colours.size()]; }

// ------------------------------------------------------------------------------------ classes
void draw_piano(const Ctx& c) {
    const Col body = pal({rgb(25, 20, 20), rgb(70, 35, 20), rgb(90, 20, 30), rgb(30, 30, 60)}, c.src->palette);
    const Col lit = pal({rgb(255, 200, 40), rgb(80, 220, 255), rgb(255, 110, 180), rgb(120, 255, 120)}, c.src->palette);
    c.rect(-1.0, -0.75, 1.0, 0.62, body);
    c.rect(-0.95, -0.7, 0.95, -0.42, scale(body, 1.8));   // music stand
    constexpr int kWhite = 8;
    const double w = 1.9 / kWhite, x0 = -0.95, top = -0.35, bottom = 0.55;
    std::vector<double> lit_level(kWhite, 0.0);
    for (const Event& e : c.src->events) {
        const double s = c.since(e);
        if (s < 0) continue;
        const int idx = std::clamp((e.key - 55) * kWhite / 22, 0, kWhite - 1);
        lit_level[size_t(idx)] = std::max(lit_level[size_t(idx)], pulse(s, 0.25));
    }
    for (int i = 0; i < kWhite; ++i) {
        const double dip = 0.05 * lit_level[size_t(i)];
        c.rect(x0 + i * w + 0.01, top + dip, x0 + (i + 1) * w - 0.01, bottom + dip, mix(rgb(245, 245, 240), lit, lit_level[size_t(i)]));
        c.rect(x0 + i * w + 0.01, top + dip, x0 + (i + 1) * w - 0.01, bottom + dip, rgb(120, 120, 120), 1);
    }
    for (int i : {0, 1, 3, 4, 5}) c.rect(x0 + (i + 0.68) * w, top, x0 + (i + 1.32) * w, top + 0.55, rgb(15, 15, 15));
}

void draw_drums(const Ctx& c) {
    const Col shell = pal({rgb(200, 30, 40), rgb(30, 80, 200), rgb(230, 150, 20), rgb(40, 150, 70)}, c.src->palette);
    const Event* last = nullptr;
    const double s = c.since_last(&last);
    const double p = pulse(s, 0.1);
    const double jump = (last != nullptr && last->key == 36 ? 0.08 : 0.05) * p;
    // body: a cylinder (rectangle + bottom ellipse) with hoops and lugs
    c.ellipse(0, 0.55 + jump, 0.75, 0.22, 0, 0, 180, scale(shell, 0.7));
    c.rect(-0.75, 0.0 + jump, 0.75, 0.55 + jump, shell);
    for (double u = -0.6; u <= 0.61; u += 0.3) c.line(u, 0.05 + jump, u, 0.5 + jump, scale(shell, 0.6), c.thick(0.04));
    c.ellipse(0, 0.0 + jump, 0.75, 0.22, 0, 0, 360, mix(rgb(225, 215, 190), rgb(255, 200, 0), p));
    c.ellipse(0, 0.0 + jump, 0.75, 0.22, 0, 0, 360, rgb(160, 160, 160), c.thick(0.04));
    if (p > 0.05) c.ellipse(0, jump, 0.2 + 0.5 * (1 - p), 0.06 + 0.15 * (1 - p), 0, 0, 360, rgb(255, 140, 0), c.thick(0.05));
    // stick: pivots at the top right; the tip comes down onto the skin on the event frame
    const double h = c.striker(0.2, 0.2);
    const double tx = 0.1 + 0.15 * h, ty = (0.0 + jump) * (1 - h) + (-0.95) * h;
    c.line(0.95, -0.7, tx, ty, rgb(230, 200, 140), c.thick(0.07));
    c.circle(tx, ty, 0.06, rgb(240, 220, 170));
}

void draw_guitar(const Ctx& c) {
    const Col wood = pal({rgb(190, 120, 50), rgb(215, 160, 80), rgb(130, 60, 25), rgb(160, 40, 40)}, c.src->palette);
    c.circle(0, 0.38, 0.55, wood);
    c.circle(0, -0.15, 0.42, wood);
    c.circle(0, 0.38, 0.55, scale(wood, 0.6), c.thick(0.03));
    c.circle(0, 0.05, 0.16, rgb(30, 20, 10));
    c.rect(-0.1, -1.0, 0.1, -0.3, rgb(80, 50, 25));
    for (double v = -0.9; v < -0.3; v += 0.12) c.line(-0.1, v, 0.1, v, rgb(200, 200, 200), 1);   // frets
    c.rect(-0.18, 0.55, 0.18, 0.62, rgb(50, 30, 15));
    const Col lit = pal({rgb(255, 255, 120), rgb(120, 255, 255), rgb(255, 160, 255)}, c.src->palette);
    for (int j = 0; j < 6; ++j) {
        const double u = -0.08 + j * 0.032;
        double amp = 0, glow = 0;
        for (const Event& e : c.src->events) {
            if (e.key % 6 != j) continue;
            const double s = c.since(e);
            if (s < 0) continue;
            amp = std::max(amp, 0.12 * pulse(s, 0.12));
            glow = std::max(glow, pulse(s, 0.2));
        }
        std::vector<cv::Point2d> pts;
        for (int k = 0; k <= 12; ++k) {
            const double v = -1.0 + k * (1.58 / 12.0);
            pts.emplace_back(u + amp * std::sin(kPi * k / 12.0), v);
        }
        c.polyline(pts, mix(rgb(210, 210, 200), lit, glow), glow > 0.05 ? 2 : 1);
    }
}

void draw_trumpet(const Ctx& c) {
    const Col brass = pal({rgb(220, 180, 50), rgb(200, 200, 210), rgb(190, 110, 60)}, c.src->palette);
    const Event* last = nullptr;
    const double s = c.since_last(&last);
    const double glow = pulse(s, 0.15);
    c.ellipse(-0.3, 0.2, 0.45, 0.14, 0, 0, 360, scale(brass, 0.7), c.thick(0.06));
    c.rect(-0.95, -0.06, 0.35, 0.06, brass);
    c.circle(-0.95, 0, 0.07, scale(brass, 0.8));
    c.poly({{0.3, -0.08}, {0.95, -0.4}, {0.95, 0.4}, {0.3, 0.08}}, mix(brass, rgb(255, 255, 200), glow));
    c.ellipse(0.95, 0, 0.07, 0.4, 0, 0, 360, scale(brass, 0.6));
    for (int j = 0; j < 3; ++j) {
        bool down = false;
        for (const Event& e : c.src->events) {
            const double se = c.since(e);
            if (se >= 0 && se < std::max(e.duration, 0.12) && e.key % 3 == j) down = true;
        }
        const double u = -0.35 + 0.17 * j, dv = down ? 0.1 : 0.0;
        c.rect(u - 0.05, -0.3 + dv, u + 0.05, -0.06, scale(brass, 0.85));
        c.rect(u - 0.07, -0.36 + dv, u + 0.07, -0.3 + dv, rgb(240, 240, 240));
    }
    // sound waves leaving the bell from the note onset
    for (const Event& e : c.src->events) {
        const double se = c.since(e);
        if (se < 0 || se > 0.5) continue;
        const double a = std::exp(-se / 0.2);
        for (int r = 0; r < 2; ++r) {
            const double rad = 0.15 + 0.25 * r + 1.2 * se;
            c.blend(a, [&](const Ctx& d) { d.ellipse(0.95, 0, rad * 0.6, rad * 1.2, 0, -60, 60, rgb(255, 255, 255), d.thick(0.06)); });
        }
    }
}

void draw_bells(const Ctx& c) {
    const Col metal = pal({rgb(200, 205, 215), rgb(225, 190, 90), rgb(190, 120, 80)}, c.src->palette);
    c.rect(-0.9, -0.98, 0.9, -0.86, rgb(60, 40, 30));
    const double xs[3] = {-0.5, 0.0, 0.5}, lens[3] = {1.7, 1.45, 1.2};
    const Event* last = nullptr;
    const double s = c.since_last(&last);
    const int struck = last != nullptr ? last->key % 3 : -1;
    for (int j = 0; j < 3; ++j) {
        const double p = j == struck ? pulse(s, 0.12) : 0.0;
        const double dx = 0.07 * p;
        c.line(xs[j], -0.86, xs[j] + dx, -0.78, rgb(40, 40, 40), 1);
        const Col col = mix(metal, rgb(255, 255, 210), p);
        c.rect(xs[j] - 0.09 + dx, -0.78, xs[j] + 0.09 + dx, -0.78 + lens[j], col);
        c.rect(xs[j] - 0.04 + dx, -0.74, xs[j] - 0.01 + dx, -0.82 + lens[j], scale(col, 1.25));   // highlight
        c.rect(xs[j] - 0.1 + dx, -0.8, xs[j] + 0.1 + dx, -0.72, scale(metal, 0.7));
    }
    // hammer: comes in from the right onto the tube of the next (or last) strike
    int target = struck;
    for (const Event& e : c.src->events)
        if (e.frame > c.frame) {
            if (c.since(e) > -0.14) target = e.key % 3;
            break;
        }
    if (target < 0) target = 2;
    const double h = c.striker(0.14, 0.18);
    const double hx = xs[target] + 0.12 + 0.35 * h, hy = -0.45;
    c.line(hx, hy, hx + 0.55, hy + 0.6, rgb(120, 80, 40), c.thick(0.05));
    c.circle(hx + 0.04, hy, 0.07, rgb(200, 40, 40));
}

void draw_marimba(const Ctx& c) {
    const Col wood = pal({rgb(150, 70, 35), rgb(205, 130, 60), rgb(120, 45, 45)}, c.src->palette);
    const Col ball = pal({rgb(40, 200, 240), rgb(250, 250, 250), rgb(60, 230, 80), rgb(240, 60, 160)}, c.src->palette);
    constexpr int kBars = 5;
    const double top = 0.2, rball = 0.13;
    auto bar_x = [](int i) { return -0.8 + 0.4 * i; };
    auto bar_of = [&](const Event& e) { return ((e.key % kBars) + kBars) % kBars; };
    c.rect(-1.0, 0.55, 1.0, 0.62, rgb(60, 60, 60));   // rail
    std::vector<double> lit(kBars, 0.0);
    for (const Event& e : c.src->events) lit[size_t(bar_of(e))] = std::max(lit[size_t(bar_of(e))], pulse(c.since(e), 0.12));
    for (int i = 0; i < kBars; ++i) {
        const double len = 0.75 - 0.08 * i, dip = 0.03 * lit[size_t(i)];
        const Col col = mix(wood, rgb(255, 240, 120), lit[size_t(i)]);
        c.rect(bar_x(i) - 0.16, top + dip, bar_x(i) + 0.16, top + len + dip, col);
        for (int g = 1; g < 4; ++g)   // wood grain texture
            c.line(bar_x(i) - 0.16 + 0.08 * g, top + 0.04 + dip, bar_x(i) - 0.17 + 0.08 * g, top + len - 0.04 + dip, scale(col, 0.8), 1);
    }
    // ball: parabolic hops from contact to contact; falls in before the first, flies off after the last
    const auto& ev = c.src->events;
    if (ev.empty()) return;
    double bx = 0, h = 0;
    const double t = c.t;
    if (t <= ev.front().time) {
        const double d = ev.front().time - t;
        bx = bar_x(bar_of(ev.front())) - 0.3 * d;
        h = 9.0 * d * d;
    } else if (t >= ev.back().time) {
        const double s = t - ev.back().time;
        bx = bar_x(bar_of(ev.back())) + 0.8 * s;
        h = 4.0 * s + 3.0 * s * s;
    } else {
        size_t i = 0;
        while (ev[i + 1].time <= t) ++i;
        const double a = ev[i].time, b = ev[i + 1].time, u = (t - a) / (b - a);
        bx = bar_x(bar_of(ev[i])) + (bar_x(bar_of(ev[i + 1])) - bar_x(bar_of(ev[i]))) * u;
        h = 4.0 * std::min(1.3, 1.6 * (b - a)) * u * (1 - u);
    }
    const double by = top - rball - h;
    if (by > -2.5) {
        c.circle(bx, by, rball, ball);
        c.circle(bx - 0.04, by - 0.04, rball * 0.35, scale(ball, 1.4));
    }
}

void draw_speech(const Ctx& c) {
    const Col skin = pal({rgb(240, 200, 165), rgb(200, 150, 110), rgb(140, 95, 65), rgb(250, 220, 190)}, c.src->palette);
    const Col hair = pal({rgb(40, 30, 20), rgb(120, 70, 30), rgb(220, 190, 100), rgb(20, 20, 20)}, c.src->palette / 4);
    if (c.src->female) c.ellipse(0, 0.05, 0.8, 0.85, 0, 0, 360, hair);   // long hair behind the head
    c.ellipse(0, 0.0, 0.62, 0.75, 0, 0, 360, skin);
    c.ellipse(0, -0.45, 0.64, 0.38, 0, 180, 360, hair);                 // hair on top
    for (double u : {-0.25, 0.25}) {
        c.ellipse(u, -0.15, 0.12, 0.08, 0, 0, 360, rgb(250, 250, 250));
        c.circle(u, -0.15, 0.05, rgb(40, 60, 120));
    }
    c.line(0, -0.05, -0.04, 0.15, scale(skin, 0.75), c.thick(0.03));
    // mouth: opens with the voice (sqrt of the RMS envelope), a line when silent
    // (and snaps open on the word's first frame, as a mouth does when a word starts)
    const double open = std::max(std::min(1.0, 1.4 * std::sqrt(std::max(0.0f, c.env))), 0.9 * pulse(c.since_last(), 0.05));
    if (open > 0.05) {
        c.ellipse(0, 0.4, 0.22 + 0.04 * open, 0.03 + 0.22 * open, 0, 0, 360, rgb(110, 20, 30));
        c.ellipse(0, 0.4 - 0.12 * open, 0.14, 0.04 * open, 0, 0, 360, rgb(250, 250, 250));
    } else {
        c.line(-0.2, 0.4, 0.2, 0.4, rgb(140, 40, 40), c.thick(0.04));
    }
}

void draw_notification(const Ctx& c) {
    const Col tile = pal({rgb(40, 110, 230), rgb(40, 170, 90), rgb(150, 60, 200), rgb(230, 120, 20)}, c.src->palette);
    const Event* last = nullptr;
    const double s = c.since_last(&last);
    const double p = pulse(s, 0.12);
    const double k = 0.55 * (1.0 + 0.3 * p);
    if (p > 0.02) c.blend(p, [&](const Ctx& d) { d.circle(0, 0, k * 1.45, rgb(255, 255, 160)); });
    const double r = 0.18;
    c.rect(-k + r * k, -k, k - r * k, k, mix(tile, rgb(255, 255, 255), 0.4 * p));
    c.rect(-k, -k + r * k, k, k - r * k, mix(tile, rgb(255, 255, 255), 0.4 * p));
    for (double u : {-1.0, 1.0})
        for (double v : {-1.0, 1.0}) c.circle(u * (k - r * k), v * (k - r * k), r * k, mix(tile, rgb(255, 255, 255), 0.4 * p));
    // bell glyph
    c.ellipse(0, 0.1 * k / 0.55, 0.28 * k / 0.55, 0.38 * k / 0.55, 0, 180, 360, rgb(255, 255, 255));
    c.rect(-0.32 * k / 0.55, 0.08 * k / 0.55, 0.32 * k / 0.55, 0.16 * k / 0.55, rgb(255, 255, 255));
    c.circle(0, 0.24 * k / 0.55, 0.07 * k / 0.55, rgb(255, 255, 255));
    if (last != nullptr && s < std::max(last->duration, 0.3)) c.circle(0.75 * k, -0.75 * k, 0.16, rgb(235, 30, 30));
}

void draw_camera(const Ctx& c) {
    const Col body = pal({rgb(35, 35, 40), rgb(190, 190, 195), rgb(170, 30, 30), rgb(30, 60, 110)}, c.src->palette);
    const Event* last = nullptr;
    const double s = c.since_last(&last);
    const double p = pulse(s, 0.06);
    c.rect(-0.3, -0.62, 0.2, -0.4, scale(body, 0.8));
    c.rect(-0.85, -0.45, 0.85, 0.55, body);
    c.rect(-0.85, -0.45, 0.85, 0.55, scale(body, 0.6), 1);
    c.rect(0.55, -0.58, 0.72, -0.45, rgb(200, 30, 30));       // shutter button
    c.rect(0.4, -0.38, 0.75, -0.18, mix(rgb(220, 220, 200), rgb(255, 255, 255), p));   // flash window
    c.circle(0, 0.08, 0.4, rgb(20, 20, 20));
    c.circle(0, 0.08, 0.3, rgb(90, 90, 95));
    c.circle(0, 0.08, 0.18 * (1.0 - 0.7 * p), rgb(40, 70, 140));   // aperture closes with the shutter
    c.circle(-0.06, 0.02, 0.05, rgb(200, 220, 255));
    if (p > 0.02) {
        c.blend(0.85 * p, [&](const Ctx& d) {
            d.circle(0.58, -0.28, 1.3, rgb(255, 255, 255));
            for (int r = 0; r < 8; ++r) {
                const double a = r * kPi / 4;
                d.line(0.58, -0.28, 0.58 + 1.6 * std::cos(a), -0.28 + 1.6 * std::sin(a), rgb(255, 255, 220), d.thick(0.08));
            }
        });
    }
}

void draw_water(const Ctx& c) {
    const Col water = pal({rgb(30, 90, 180), rgb(20, 130, 140), rgb(40, 70, 120), rgb(30, 120, 90)}, c.src->palette);
    const double surf = 0.25, t = c.t;
    std::vector<cv::Point2d> pts;
    for (int k = 0; k <= 16; ++k) {
        const double u = -1.0 + k / 8.0;
        pts.emplace_back(u, surf + 0.03 * std::sin(2 * kPi * (0.75 * u + 0.6 * t)));
    }
    std::vector<cv::Point2d> body = pts;
    body.emplace_back(1.0, 1.0);
    body.emplace_back(-1.0, 1.0);
    c.poly(body, water);
    for (int r = 1; r <= 3; ++r) {   // moving wave texture
        std::vector<cv::Point2d> w;
        for (int k = 0; k <= 16; ++k) {
            const double u = -1.0 + k / 8.0;
            w.emplace_back(u, surf + 0.2 * r + 0.025 * std::sin(2 * kPi * (1.1 * u - 0.4 * t + 0.3 * r)));
        }
        c.polyline(w, scale(water, 1.35), 1);
    }
    c.polyline(pts, scale(water, 1.6), c.thick(0.03));
    for (const Event& e : c.src->events) {
        const double s = c.since(e), xe = e.key / 100.0;
        if (s < 0 && s > -0.36) {   // the drop falls, accelerating, onto the surface
            const double u = 1.0 + s / 0.36;
            const double yd = -0.95 + (surf - 0.08 + 0.95) * u * u;
            c.circle(xe, yd, 0.07, rgb(200, 230, 255));
            c.poly({{xe - 0.06, yd - 0.03}, {xe, yd - 0.16}, {xe + 0.06, yd - 0.03}}, rgb(200, 230, 255));
        }
        if (s >= 0 && s < 1.0) {    // splash crown + droplets + spreading ripples
            const double a = std::exp(-s / 0.35);
            c.blend(a, [&](const Ctx& d) {
                for (int r = 0; r < 2; ++r) {
                    const double rad = 0.1 + 0.9 * s - 0.15 * r;
                    if (rad > 0.02) d.ellipse(xe, surf + 0.05, rad, rad * 0.28, 0, 0, 360, rgb(230, 245, 255), d.thick(0.05));
                }
            });
            if (s < 0.3) {
                const double b = std::exp(-s / 0.12);
                for (int j = -2; j <= 2; ++j) {
                    const double dx = j * (0.08 + 0.7 * s), dy = -(0.25 * std::abs(j) + 0.3) * (1.2 * s - 2.5 * s * s) - 0.08;
                    c.blend(b, [&](const Ctx& d) { d.circle(xe + dx, surf + dy, 0.06 + 0.02 * (2 - std::abs(j)), rgb(235, 250, 255)); });
                }
            }
        }
    }
}

void draw_engine(const Ctx& c) {
    const Col rim = pal({rgb(200, 200, 210), rgb(230, 60, 40), rgb(240, 200, 40), rgb(60, 200, 220)}, c.src->palette);
    const SourceSpec& src = *c.src;
    // wheel angle: integral of the angular speed (proportional to rpm) over the frames so far
    double angle = 0;
    for (int k = 0; k < c.frame; ++k) angle += 0.12 * engine_rpm(src, k / c.fps) / src.base_rpm;
    const double wx = -0.35, wy = 0.3;
    c.rect(-0.95, -0.85, 0.45, -0.2, rgb(90, 95, 100));   // engine block with fins
    for (double v = -0.78; v < -0.25; v += 0.1) c.line(-0.9, v, 0.4, v, rgb(60, 62, 66), c.thick(0.03));
    c.circle(wx, wy, 0.6, rgb(25, 25, 25));
    c.circle(wx, wy, 0.4, rim);
    for (int j = 0; j < 5; ++j) {
        const double a = angle + j * 2 * kPi / 5;
        c.line(wx, wy, wx + 0.38 * std::cos(a), wy + 0.38 * std::sin(a), rgb(40, 40, 40), c.thick(0.04));
    }
    c.circle(wx, wy, 0.09, rgb(60, 60, 60));
    // rpm gauge
    const double gx = 0.7, gy = -0.55, rpm = engine_rpm(src, c.t);
    c.circle(gx, gy, 0.26, rgb(240, 240, 230));
    c.circle(gx, gy, 0.26, rgb(30, 30, 30), 1);
    const double na = kPi * (0.8 + 1.4 * std::min(1.0, (rpm - src.base_rpm * 0.8) / (src.base_rpm * 1.7)));
    c.line(gx, gy, gx + 0.22 * std::cos(na), gy + 0.22 * std::sin(na), rgb(220, 30, 30), c.thick(0.04));
    // exhaust pipe and the puff of each rev
    c.rect(0.35, 0.55, 0.85, 0.68, rgb(110, 110, 110));
    for (const Event& e : src.events) {
        const double s = c.since(e);
        if (s < 0 || s > 0.8) continue;
        const double a = std::exp(-s / 0.25);
        for (int i = 0; i < 3; ++i) {
            const double r = (0.3 + 0.3 * s) * (1.0 - 0.15 * i);
            c.blend(a, [&](const Ctx& d) { d.circle(0.85 + 0.9 * s + 0.2 * i, 0.6 - 0.5 * s - 0.15 * i, r, rgb(240, 240, 240)); });
        }
        const double fire = pulse(s, 0.05);   // backfire flame on the rev frame
        if (fire > 0.05) c.blend(fire, [&](const Ctx& d) { d.poly({{0.85, 0.5}, {1.25, 0.62}, {0.85, 0.74}}, rgb(255, 150, 0)); });
    }
}

void draw_source(cv::Mat& img, const SourceSpec& src, const ClipConfig& cfg, int frame, float env) {
    Ctx c{&img, &src, frame, frame / cfg.fps, cfg.fps, src.cx * cfg.size, src.cy * cfg.size, src.scale * cfg.size, env};
    const std::string& name = all_classes().at(size_t(src.class_id)).name;
    if (name == "piano") draw_piano(c);
    else if (name == "drums") draw_drums(c);
    else if (name == "guitar") draw_guitar(c);
    else if (name == "trumpet") draw_trumpet(c);
    else if (name == "bells") draw_bells(c);
    else if (name == "marimba") draw_marimba(c);
    else if (name == "speech") draw_speech(c);
    else if (name == "notification") draw_notification(c);
    else if (name == "camera") draw_camera(c);
    else if (name == "water") draw_water(c);
    else if (name == "engine") draw_engine(c);
    else fail(ErrorKind::Internal, "scene: no renderer for class '", name, "'");
}

cv::Mat make_background(const Background& bg, int size) {
    const Col c1(bg.c1[0], bg.c1[1], bg.c1[2]), c2(bg.c2[0], bg.c2[1], bg.c2[2]);
    cv::Mat img(size, size, CV_8UC3, c1);
    const int period = std::max(2, bg.period * size / 96);
    if (bg.kind == 1) {
        for (int y = 0; y < size; ++y) img.row(y).setTo(mix(c1, c2, double(y) / std::max(1, size - 1)));
    } else if (bg.kind == 2 || bg.kind == 4) {
        for (int y = 0; y < size; ++y) {
            auto* row = img.ptr<cv::Vec3b>(y);
            for (int x = 0; x < size; ++x) {
                const bool odd = bg.kind == 2 ? ((x / period + y / period) & 1) : (((x + y) / period) & 1);
                if (odd) row[x] = cv::Vec3b(bg.c2[0], bg.c2[1], bg.c2[2]);
            }
        }
    } else if (bg.kind == 3) {
        Rng rng(bg.seed);
        const int g = 7;
        cv::Mat grid(g, g, CV_32FC1);
        for (int y = 0; y < g; ++y)
            for (int x = 0; x < g; ++x) grid.at<float>(y, x) = float(rng.uniform());
        cv::Mat up;
        cv::resize(grid, up, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
        for (int y = 0; y < size; ++y) {
            auto* row = img.ptr<cv::Vec3b>(y);
            for (int x = 0; x < size; ++x) {
                const Col m = mix(c1, c2, up.at<float>(y, x));
                row[x] = cv::Vec3b(cv::saturate_cast<uint8_t>(m[0]), cv::saturate_cast<uint8_t>(m[1]), cv::saturate_cast<uint8_t>(m[2]));
            }
        }
    }
    return img;
}

}  // namespace

std::vector<float> frame_envelope(const std::vector<float>& audio, const ClipConfig& config) {
    const int T = config.n_frames();
    std::vector<float> env(size_t(T), 0.0f);
    float peak = 0;
    for (int k = 0; k < T; ++k) {
        const int64_t a = config.frame_to_sample(k), b = std::min<int64_t>(config.frame_to_sample(k + 1), int64_t(audio.size()));
        double sum = 0;
        for (int64_t i = a; i < b; ++i) sum += double(audio[size_t(i)]) * audio[size_t(i)];
        env[size_t(k)] = b > a ? float(std::sqrt(sum / double(b - a))) : 0.0f;
        peak = std::max(peak, env[size_t(k)]);
    }
    if (peak > 0)
        for (float& v : env) v /= peak;
    return env;
}

torch::Tensor render_video(const ClipSpec& spec, const std::vector<std::vector<float>>& envelopes) {
    const ClipConfig& cfg = spec.config;
    const int T = cfg.n_frames(), S = cfg.size;
    V2A_CHECK(envelopes.size() == spec.sources.size(), Internal, "render_video: one envelope per source expected");
    torch::Tensor frames = torch::empty({T, S, S, 3}, torch::kUInt8);
    const cv::Mat background = make_background(spec.background, S);
    uint8_t* base = frames.data_ptr<uint8_t>();
    for (int k = 0; k < T; ++k) {
        cv::Mat img(S, S, CV_8UC3, base + int64_t(k) * S * S * 3);
        background.copyTo(img);
        for (size_t i = 0; i < spec.sources.size(); ++i) {
            const auto& env = envelopes[i];
            draw_source(img, spec.sources[i], cfg, k, size_t(k) < env.size() ? env[size_t(k)] : 0.0f);
        }
    }
    return frames;
}

}  // namespace v2a::synth
