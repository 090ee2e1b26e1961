// A Prometheus histogram as a value (fixed upper bounds in seconds) and its text exposition. Header-only:
// the HTTP front end and the node both export histograms.
#pragma once

#include <QByteArray>
#include <QtGlobal>
#include <vector>

namespace raftwc {

struct Histogram {
    std::vector<double> bounds;   ///< upper bounds, ascending (+Inf is implicit)
    std::vector<quint64> counts;  ///< per bucket (not cumulative), bounds.size() + 1
    double sum = 0;
    quint64 count = 0;

    /// Buckets from 1 ms to `maxSeconds` in a 1-2.5-5 series.
    static Histogram seconds(double maxSeconds) {
        Histogram h;
        for (double decade = 0.001; decade <= maxSeconds; decade *= 10)
            for (double m : {1.0, 2.5, 5.0})
                if (decade * m <= maxSeconds * 1.0000001) h.bounds.push_back(decade * m);
        h.counts.assign(h.bounds.size() + 1, 0);
        return h;
    }
    void observe(double value) {
        if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
        std::size_t i = 0;
        while (i < bounds.size() && value > bounds[i])
            ++i;
        ++counts[i];
        sum += value;
        ++count;
    }
    /// Appends "# HELP/# TYPE", the cumulative buckets, _sum and _count.
    void appendPrometheus(QByteArray& out, const char* name, const char* help) const {
        out.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name);
        out.append(" histogram\n");
        quint64 cumulative = 0;
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            cumulative += i < counts.size() ? counts[i] : 0;
            out.append(name).append("_bucket{le=\"").append(QByteArray::number(bounds[i], 'g', 6));
            out.append("\"} ").append(QByteArray::number(cumulative)).append('\n');
        }
        out.append(name).append("_bucket{le=\"+Inf\"} ").append(QByteArray::number(count)).append('\n');
        out.append(name).append("_sum ").append(QByteArray::number(sum, 'g', 17)).append('\n');
        out.append(name).append("_count ").append(QByteArray::number(count)).append('\n');
    }
};

}  // namespace raftwc
