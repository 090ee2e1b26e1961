#include "wordcount/frequency_table.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace raftwc::wordcount {

namespace {

bool byCountThenWord(const WordCount& a, const WordCount& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.word < b.word;
}

}  // namespace

std::size_t FrequencyTable::emptySlotFor(std::uint64_t h) const {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (slots_[i].count != 0)
        i = (i + 1) & mask;
    return i;
}

void FrequencyTable::rehash(std::size_t slots) {
    std::vector<Slot> old(slots, Slot{});
    old.swap(slots_);
    for (std::uint32_t& k : order_) {
        const Slot& s = old[k];
        const std::string_view key = keyOf(s);
        const std::size_t at = emptySlotFor(keyHash(key.data(), key.size()));
        slots_[at] = s;
        k = static_cast<std::uint32_t>(at);
    }
}

void FrequencyTable::insertNew(std::uint64_t h, std::string_view word, std::uint64_t n) {
    if (order_.size() >= 0xFFFFFFFEu) std::abort();  // 4 billion distinct words: beyond any 1 GiB file
    // Grow at 5/8 load so probe sequences stay short.
    if ((order_.size() + 1) * 8 > slots_.size() * 5) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    Slot s{};
    s.count = n;
    s.len = static_cast<std::uint32_t>(word.size());
    s.tag = static_cast<std::uint32_t>(h >> 32);
    if (word.size() <= kInline) {
        if (!word.empty()) std::memcpy(s.inl, word.data(), word.size());
    } else {
        s.off = arena_.size();
        arena_.insert(arena_.end(), word.begin(), word.end());
    }
    const std::size_t at = emptySlotFor(h);
    slots_[at] = s;
    order_.push_back(static_cast<std::uint32_t>(at));
    total_ += n;
}

void FrequencyTable::reserve(std::size_t n) {
    std::size_t slots = slots_.empty() ? 64 : slots_.size();
    while (n * 8 > slots * 5)
        slots *= 2;
    if (slots != slots_.size()) rehash(slots);
    order_.reserve(n);
}

void FrequencyTable::merge(const FrequencyTable& other) {
    if (other.empty()) return;
    reserve(size() + other.size() / 2);
    other.forEach([this](std::string_view w, std::uint64_t c) { add(w, c); });
}

void FrequencyTable::clear() {
    slots_.clear();
    order_.clear();
    arena_.clear();
    total_ = 0;
}

std::vector<WordCount> FrequencyTable::entries() const {
    std::vector<WordCount> out;
    out.reserve(size());
    forEach([&](std::string_view w, std::uint64_t c) { out.push_back(WordCount{std::string(w), c}); });
    return out;
}

bool FrequencyTable::operator==(const FrequencyTable& other) const {
    if (size() != other.size() || total_ != other.total_) return false;
    bool same = true;
    forEach([&](std::string_view w, std::uint64_t c) {
        if (same && other.count(w) != c) same = false;
    });
    return same;
}

std::vector<WordCount> topWords(const FrequencyTable& table, std::size_t n) {
    // Keep candidates as (count, view) pairs and copy strings only for the winners.
    struct Ref {
        std::uint64_t count;
        std::string_view word;
    };
    std::vector<Ref> refs;
    refs.reserve(table.size());
    table.forEach([&](std::string_view w, std::uint64_t c) { refs.push_back(Ref{c, w}); });
    const auto cmp = [](const Ref& a, const Ref& b) {
        if (a.count != b.count) return a.count > b.count;
        return a.word < b.word;
    };
    n = std::min(n, refs.size());
    std::partial_sort(refs.begin(), refs.begin() + static_cast<std::ptrdiff_t>(n), refs.end(), cmp);
    std::vector<WordCount> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(WordCount{std::string(refs[i].word), refs[i].count});
    return out;
}

std::vector<WordCount> sortedEntries(const FrequencyTable& table) {
    std::vector<WordCount> all = table.entries();
    std::sort(all.begin(), all.end(), byCountThenWord);
    return all;
}

WordPage pageSorted(const std::vector<WordCount>& sorted, std::size_t limit, std::size_t offset) {
    WordPage page;
    page.totalDistinct = sorted.size();
    if (offset >= sorted.size()) return page;
    const std::size_t end = offset + std::min(limit, sorted.size() - offset);
    page.words.assign(sorted.begin() + static_cast<std::ptrdiff_t>(offset),
                      sorted.begin() + static_cast<std::ptrdiff_t>(end));
    return page;
}

WordPage pageWords(const FrequencyTable& table, std::size_t limit, std::size_t offset) {
    if (offset >= table.size()) {
        WordPage page;
        page.totalDistinct = table.size();
        return page;
    }
    // Only the first offset+limit entries need ordering.
    const std::size_t need = offset + std::min(limit, table.size() - offset);
    const std::vector<WordCount> head = topWords(table, need);
    WordPage page = pageSorted(head, limit, offset);
    page.totalDistinct = table.size();
    return page;
}

}  // namespace raftwc::wordcount
