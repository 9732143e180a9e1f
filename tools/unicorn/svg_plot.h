// A small SVG line chart for `unicorn bench --plot`: tokens/s against prompt or generation
// length, one line per test kind, error bars of ± one standard deviation. No dependencies: the
// file opens in any browser.
#pragma once

#include <string>
#include <vector>

namespace unicorn::cli {

struct PlotPoint {
    double x = 0, y = 0, sd = 0;
};
struct PlotSeries {
    std::string name;
    std::vector<PlotPoint> points;  // in x order
};

// The SVG document. Axes start at 0 and end at a round value above the largest x and y + sd.
std::string svg_line_chart(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<PlotSeries>& series);

}  // namespace unicorn::cli
