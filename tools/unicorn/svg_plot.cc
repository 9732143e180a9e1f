#include "svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace unicorn::cli {
namespace {

constexpr double kW = 720, kH = 440;                              // canvas
constexpr double kLeft = 80, kRight = 170, kTop = 50, kBot = 60;  // margins (legend on the right)
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

// A round axis end at or above v (1, 2 or 5 times a power of ten), and its tick step.
std::pair<double, double> axis(double v) {
    if (!(v > 0)) return {1, 0.2};
    const double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v) return {m * p, m * p / 5};
    return {10 * p, 2 * p};
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string svg_line_chart(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<PlotSeries>& series) {
    double max_x = 0, max_y = 0;
    for (const PlotSeries& s : series)
        for (const PlotPoint& p : s.points) {
            max_x = std::max(max_x, p.x);
            max_y = std::max(max_y, p.y + p.sd);
        }
    const auto [x_end, x_step] = axis(max_x);
    const auto [y_end, y_step] = axis(max_y);
    const double pw = kW - kLeft - kRight, ph = kH - kTop - kBot;
    auto px = [&](double x) { return kLeft + pw * x / x_end; };
    auto py = [&](double y) { return kTop + ph * (1 - y / y_end); };
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
        "<text x=\"{2}\" y=\"28\" font-size=\"15\" text-anchor=\"middle\">{3}</text>\n",
        kW, kH, kLeft + pw / 2, escape(title));
    for (double t = 0; t <= x_end + 1e-9 * x_end; t += x_step)
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
            "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4:g}</text>\n",
            px(t), kTop, kTop + ph, kTop + ph + 18, t);
    for (double t = 0; t <= y_end + 1e-9 * y_end; t += y_step)
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
            "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
            kLeft, py(t), kLeft + pw, kLeft - 6, py(t) + 4, t);
    svg += fmt::format(
        "<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" stroke=\"#333\"/>\n"
        "<text x=\"{4:.1f}\" y=\"{5:.1f}\" text-anchor=\"middle\">{6}</text>\n"
        "<text x=\"18\" y=\"{7:.1f}\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 18 {7:.1f})\">{8}</text>\n",
        kLeft, kTop, pw, ph, kLeft + pw / 2, kH - 18, escape(x_label), kTop + ph / 2,
        escape(y_label));
    for (size_t i = 0; i < series.size(); ++i) {
        const PlotSeries& s = series[i];
        const char* color = kColors[i % std::size(kColors)];
        std::string pts;
        for (const PlotPoint& p : s.points) pts += fmt::format("{:.1f},{:.1f} ", px(p.x), py(p.y));
        svg += fmt::format(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color,
            pts);
        for (const PlotPoint& p : s.points) {
            svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n",
                               px(p.x), py(p.y), color);
            if (p.sd > 0)
                svg += fmt::format(
                    "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                    "stroke=\"{3}\"/>\n",
                    px(p.x), py(p.y - p.sd), py(p.y + p.sd), color);
        }
        const double ly = kTop + 10 + 20.0 * static_cast<double>(i);
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
            "stroke-width=\"2\"/><text x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text>\n",
            kLeft + pw + 12, ly, kLeft + pw + 32, color, kLeft + pw + 38, ly + 4, escape(s.name));
    }
    return svg + "</svg>\n";
}

}  // namespace unicorn::cli
