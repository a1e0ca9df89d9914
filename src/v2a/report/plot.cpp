#include "v2a/report/plot.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"

namespace v2a::report {
namespace {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

std::vector<double> smooth(const std::vector<double>& y, int w) {
    if (w <= 1 || y.empty()) return y;
    std::vector<double> out(y.size());
    double sum = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        sum += y[i];
        if (i >= size_t(w)) sum -= y[i - size_t(w)];
        out[i] = sum / double(std::min(i + 1, size_t(w)));
    }
    return out;
}

void plot_series(const std::filesystem::path& path, const std::vector<Series>& series, const PlotOptions& options) {
    V2A_CHECK(!series.empty(), Usage, path.string(), ": nothing to plot");
    const std::string ext = path.extension().string();
    V2A_CHECK(ext == ".png" || ext == ".svg", Usage, path.string(), ": plots are .png or .svg");
    V2A_CHECK(gnuplot_available(), IO, path.string(), ": gnuplot is not installed (apt-get install gnuplot-nox)");
    fs::write_atomic_with(path, [&](const std::filesystem::path& tmp) {
        const auto data_path = std::filesystem::path(tmp.string() + ".dat");
        const auto script_path = std::filesystem::path(tmp.string() + ".gp");
        {
            std::ofstream data(data_path);
            for (const auto& s : series) {
                V2A_CHECK(s.x.size() == s.y.size(), Usage, path.string(), ": series '", s.name, "' has ",
                          s.x.size(), " x and ", s.y.size(), " y values");
                for (size_t i = 0; i < s.x.size(); ++i) data << s.x[i] << ' ' << s.y[i] << '\n';
                data << "\n\n";  // gnuplot data blocks are separated by two blank lines (index N)
            }
        }
        std::ostringstream gp;
        gp << (ext == ".png" ? "set terminal pngcairo noenhanced size " : "set terminal svg noenhanced size ")
           << options.width << ',' << options.height << '\n'
           << "set output " << quote(tmp.string()) << '\n'
           << "set title " << quote(options.title) << '\n'
           << "set xlabel " << quote(options.xlabel) << '\n'
           << "set ylabel " << quote(options.ylabel) << '\n'
           << "set grid\nset key outside right top\n";
        if (options.log_y) gp << "set logscale y\n";
        if (!options.xrange.empty()) gp << "set xrange " << options.xrange << '\n';
        if (!options.yrange.empty()) gp << "set yrange " << options.yrange << '\n';
        for (const auto& line : options.extra) gp << line << '\n';
        gp << "plot ";
        for (size_t i = 0; i < series.size(); ++i) {
            gp << (i ? ", " : "") << quote(data_path.string()) << " index " << i << " with " << series[i].style
               << " lw 2 title " << quote(series[i].name);
        }
        gp << '\n';
        { std::ofstream(script_path) << gp.str(); }
        const std::string cmd = "gnuplot " + quote(script_path.string()) + " 2>&1";
        std::FILE* pipe = ::popen(cmd.c_str(), "r");
        std::string output;
        char buf[256];
        while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
        const int status = pipe != nullptr ? ::pclose(pipe) : -1;
        std::error_code ec;
        std::filesystem::remove(data_path, ec);
        std::filesystem::remove(script_path, ec);
        V2A_CHECK(status == 0 && std::filesystem::exists(tmp), IO, path.string(), ": gnuplot failed: ", output);
    });
}

void plot_reliability(const std::filesystem::path& path, const std::vector<ReliabilityBin>& bins, double ece,
                      const std::string& title) {
    Series acc{"accuracy (per bin)", {}, {}, "boxes"};
    Series conf{"mean confidence (per bin)", {}, {}, "points pt 7 ps 1.5"};
    for (const auto& b : bins) {
        if (b.count == 0) continue;
        acc.x.push_back(0.5 * (b.lower + b.upper));
        acc.y.push_back(b.accuracy);
        conf.x.push_back(0.5 * (b.lower + b.upper));
        conf.y.push_back(b.confidence);
    }
    Series diagonal{"perfect calibration", {0.0, 1.0}, {0.0, 1.0}, "lines"};
    PlotOptions o;
    char t[256];
    std::snprintf(t, sizeof t, "%s (ECE %.3f)", title.c_str(), ece);
    o.title = t;
    o.xlabel = "confidence (max probability)";
    o.ylabel = "accuracy";
    o.xrange = "[0:1]";
    o.yrange = "[0:1]";
    o.extra = {"set boxwidth " + std::to_string(0.9 / double(std::max<size_t>(1, bins.size()))),
               "set style fill solid 0.4 border"};
    plot_series(path, {acc, conf, diagonal}, o);
}

}  // namespace v2a::report
