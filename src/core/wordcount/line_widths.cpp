// Line-width summaries (GNU wc -L) and their order-free merge by offset. Semantics: docs/WORDS.md.
#include <algorithm>

#include "wordcount/wordcount.h"

namespace raftwc::wordcount {

std::uint64_t LineWidthSummary::maxWidth() const {
    const std::uint64_t head = headColumn(0);
    return hasLineEnd ? std::max({head, innerMax, tail}) : head;
}

LineWidthSummary compose(const LineWidthSummary& a, const LineWidthSummary& b) {
    LineWidthSummary r;
    if (!a.hasLineEnd) {
        // One head: a's head runs on into b's head.
        if (a.headTab) {
            r.headTab = true;
            r.headWidth = a.headWidth;
            r.headAfterTab = b.headColumn(a.headAfterTab);  // a's tab stop is 8-aligned: a shift
        } else {
            r.headTab = b.headTab;
            r.headWidth = a.headWidth + b.headWidth;
            r.headAfterTab = b.headAfterTab;
        }
        r.hasLineEnd = b.hasLineEnd;
        r.innerMax = b.innerMax;
        r.tail = b.tail;
        return r;
    }
    r = a;
    const std::uint64_t joined = b.headColumn(a.tail);  // a's last line continued by b's head
    if (b.hasLineEnd) {
        r.innerMax = std::max({a.innerMax, joined, b.innerMax});
        r.tail = b.tail;
    } else {
        r.tail = joined;
    }
    return r;
}

void LineWidths::add(const LineFragment& f) {
    if (f.length == 0) return;
    auto it = std::upper_bound(fragments.begin(), fragments.end(), f.offset,
                               [](std::uint64_t off, const LineFragment& x) { return off < x.offset; });
    it = fragments.insert(it, f);
    if (it != fragments.begin()) {
        auto prev = it - 1;
        if (prev->offset + prev->length == it->offset) {
            prev->summary = compose(prev->summary, it->summary);
            prev->length += it->length;
            it = fragments.erase(it) - 1;
        }
    }
    if (auto next = it + 1; next != fragments.end() && it->offset + it->length == next->offset) {
        it->summary = compose(it->summary, next->summary);
        it->length += next->length;
        fragments.erase(next);
    }
}

void LineWidths::merge(const LineWidths& other) {
    if (!known || !other.known) {
        known = false;
        fragments.clear();
        return;
    }
    for (const LineFragment& f : other.fragments)
        add(f);
}

std::optional<std::uint64_t> LineWidths::maxLineWidth(std::uint64_t size) const {
    if (!known) return std::nullopt;
    if (fragments.empty()) return size == 0 ? std::optional<std::uint64_t>(0) : std::nullopt;
    if (fragments.size() != 1 || fragments[0].offset != 0 || fragments[0].length != size) return std::nullopt;
    return fragments[0].summary.maxWidth();
}

}  // namespace raftwc::wordcount
