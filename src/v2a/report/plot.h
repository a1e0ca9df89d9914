// Plots for long jobs (loss curves, reliability diagrams, sweeps), drawn by gnuplot (Debian
// gnuplot-nox) to PNG (pngcairo) or SVG by file extension. We write the data and a script; gnuplot draws.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace v2a::report {

struct Series {
    std::string name;
    std::vector<double> x, y;
    std::string style = "lines";   // gnuplot style: lines, points, linespoints, boxes
};

struct PlotOptions {
    std::string title, xlabel, ylabel;
    bool log_y = false;
    int width = 900, height = 540;
    /// Optional fixed ranges ("[0:1]"); empty = autoscale.
    std::string xrange, yrange;
    /// Extra gnuplot commands (e.g. a diagonal reference line for a reliability diagram).
    std::vector<std::string> extra;
};

/// True when a gnuplot binary is on PATH.
bool gnuplot_available();

/// Draws `series` into `path` (.png or .svg), atomically. Throws v2a::Error(IO) if gnuplot is
/// missing or fails, naming the output file.
void plot_series(const std::filesystem::path& path, const std::vector<Series>& series, const PlotOptions& options);

/// One confidence bin of a reliability diagram: (lower, upper], its sample count, mean confidence, accuracy.
struct ReliabilityBin {
    double lower = 0.0, upper = 0.0;   // (lower, upper] of the max probability (the first bin includes 0)
    int64_t count = 0;
    double confidence = 0.0;           // mean max probability in the bin (0 when empty)
    double accuracy = 0.0;             // fraction correct in the bin (0 when empty)
};

/// The usual reliability diagram: per non-empty bin a bar of its accuracy and a point at its mean
/// confidence (the gap is the bin's calibration error), against the diagonal; titled "<title> (ECE x)".
void plot_reliability(const std::filesystem::path& path, const std::vector<ReliabilityBin>& bins, double ece,
                      const std::string& title);

/// Moving average with window `w` (for noisy per-step losses); w <= 1 returns the input.
std::vector<double> smooth(const std::vector<double>& y, int w);

}  // namespace v2a::report
