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

void FrequencyTable::placeInIndex(std::uint64_t h, std::uint32_t entryNumber) {
    const std::size_t mask = index_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (index_[i] != 0)
        i = (i + 1) & mask;
    index_[i] = ((h >> 32) << 32) | (std::uint64_t{entryNumber} + 1);
}

void FrequencyTable::rebuildIndex(std::size_t slots) {
    index_.assign(slots, 0);
    for (std::size_t k = 0; k < entries_.size(); ++k) {
        const std::string_view key = keyOf(entries_[k]);
        placeInIndex(hashBytes(key.data(), key.size()), static_cast<std::uint32_t>(k));
    }
}

void FrequencyTable::insertNew(std::uint64_t h, std::string_view word, std::uint64_t n) {
    if (entries_.size() >= 0xFFFFFFFEu) std::abort();  // 4 billion distinct words: beyond any 1 GiB file
    // Grow at 5/8 load so probe sequences stay short.
    if ((entries_.size() + 1) * 8 > index_.size() * 5) rebuildIndex(index_.empty() ? 64 : index_.size() * 2);
    Entry e;
    e.count = n;
    e.len = word.size();
    if (word.size() <= kInline) {
        std::memset(e.inl, 0, kInline);
        if (!word.empty()) std::memcpy(e.inl, word.data(), word.size());
    } else {
        e.off = arena_.size();
        arena_.insert(arena_.end(), word.begin(), word.end());
    }
    entries_.push_back(e);
    total_ += n;
    placeInIndex(h, static_cast<std::uint32_t>(entries_.size() - 1));
}

void FrequencyTable::reserve(std::size_t n) {
    std::size_t slots = index_.empty() ? 64 : index_.size();
    while (n * 8 > slots * 5)
        slots *= 2;
    if (slots != index_.size()) rebuildIndex(slots);
    entries_.reserve(n);
}

void FrequencyTable::merge(const FrequencyTable& other) {
    if (other.empty()) return;
    reserve(size() + other.size() / 2);
    other.forEach([this](std::string_view w, std::uint64_t c) { add(w, c); });
}

void FrequencyTable::clear() {
    index_.clear();
    entries_.clear();
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
