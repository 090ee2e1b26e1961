#include "wordcount/frequency_table.h"

#include <algorithm>
#include <cstring>

namespace raftwc::wordcount {

namespace {

using detail::keyEquals;

bool byCountThenWord(const WordCount& a, const WordCount& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.word < b.word;
}

}  // namespace

void FrequencyTable::insertHashed(std::uint64_t h, std::string_view word, std::uint64_t n) {
    if (word.size() > 0xFFFFFFFFu) word = word.substr(0, 0xFFFFFFFFu);  // keys are at most 4 GiB
    // Grow at 5/8 load so probe sequences stay short.
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const auto len = static_cast<std::uint32_t>(word.size());
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;;) {
        Slot& s = slots_[i];
        if (s.count == 0) {
            s.tag = tag;
            s.len = len;
            s.count = n;
            if (len <= kInline) {
                std::memcpy(s.inl, word.data(), len);
            } else {
                s.off = arena_.size();
                arena_.insert(arena_.end(), word.begin(), word.end());
            }
            ++size_;
            total_ += n;
            return;
        }
        if (s.tag == tag && s.len == len &&
            keyEquals(len <= kInline ? s.inl : arena_.data() + s.off, word.data(), len)) {
            s.count += n;
            total_ += n;
            return;
        }
        i = (i + 1) & mask;
    }
}

std::uint64_t FrequencyTable::count(std::string_view word) const {
    if (slots_.empty() || word.size() > 0xFFFFFFFFu) return 0;
    const std::uint64_t h = hashBytes(word.data(), word.size());
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const auto len = static_cast<std::uint32_t>(word.size());
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;;) {
        const Slot& s = slots_[i];
        if (s.count == 0) return 0;
        if (s.tag == tag && s.len == len &&
            keyEquals(len <= kInline ? s.inl : arena_.data() + s.off, word.data(), len))
            return s.count;
        i = (i + 1) & mask;
    }
}

void FrequencyTable::grow() {
    const std::size_t newSize = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old(newSize);
    for (Slot& s : old)
        s.count = 0;
    old.swap(slots_);
    const std::size_t mask = newSize - 1;
    for (const Slot& s : old) {
        if (s.count == 0) continue;
        const std::string_view key = keyOf(s);
        std::size_t i = static_cast<std::size_t>(hashBytes(key.data(), key.size())) & mask;
        while (slots_[i].count != 0)
            i = (i + 1) & mask;
        slots_[i] = s;
    }
}

void FrequencyTable::reserve(std::size_t n) {
    while (n * 8 > slots_.size() * 5)
        grow();
}

void FrequencyTable::merge(const FrequencyTable& other) {
    if (other.empty()) return;
    reserve(size_ + other.size_ / 2);
    other.forEach(
        [this](std::string_view w, std::uint64_t c) { insertHashed(hashBytes(w.data(), w.size()), w, c); });
}

void FrequencyTable::clear() {
    slots_.clear();
    arena_.clear();
    size_ = 0;
    total_ = 0;
}

std::vector<WordCount> FrequencyTable::entries() const {
    std::vector<WordCount> out;
    out.reserve(size_);
    forEach([&](std::string_view w, std::uint64_t c) { out.push_back(WordCount{std::string(w), c}); });
    return out;
}

bool FrequencyTable::operator==(const FrequencyTable& other) const {
    if (size_ != other.size_ || total_ != other.total_) return false;
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
