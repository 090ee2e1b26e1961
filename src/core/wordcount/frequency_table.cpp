#include "wordcount/frequency_table.h"

#include <algorithm>
#include <cstring>

namespace raftwc::wordcount {

namespace {

__extension__ using u128 = unsigned __int128;

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t load64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

constexpr std::uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr std::uint64_t kP3 = 0x589965cc75374cc3ULL;

bool byCountThenWord(const WordCount& a, const WordCount& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.word < b.word;
}

}  // namespace

std::uint64_t hashBytes(const char* p, std::size_t n) noexcept {
    std::uint64_t h = kP0 ^ (static_cast<std::uint64_t>(n) * kP1);
    while (n >= 16) {
        h = mix(load64(p) ^ kP1 ^ h, load64(p + 8) ^ kP2);
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        h = mix(load64(p) ^ kP1 ^ h, kP3);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        std::uint64_t t = 0;
        std::memcpy(&t, p, n);
        h = mix(t ^ kP2 ^ h, kP3 ^ n);
    }
    return mix(h ^ kP0, kP1);
}

void FrequencyTable::add(std::string_view word, std::uint64_t n) {
    if (n == 0) return;
    insertHashed(hashBytes(word.data(), word.size()), word, n);
}

void FrequencyTable::insertHashed(std::uint64_t h, std::string_view word, std::uint64_t n) {
    // Grow at 5/8 load so probe sequences stay short.
    if ((size_ + 1) * 8 > slots_.size() * 5) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;;) {
        Slot& s = slots_[i];
        if (s.count == 0) {
            s.hash = h;
            s.count = n;
            s.keyOff = arena_.size();
            s.keyLen = word.size();
            arena_.insert(arena_.end(), word.begin(), word.end());
            ++size_;
            total_ += n;
            return;
        }
        if (s.hash == h && s.keyLen == word.size() &&
            (word.empty() || std::memcmp(arena_.data() + s.keyOff, word.data(), word.size()) == 0)) {
            s.count += n;
            total_ += n;
            return;
        }
        i = (i + 1) & mask;
    }
}

std::uint64_t FrequencyTable::count(std::string_view word) const {
    if (slots_.empty()) return 0;
    const std::uint64_t h = hashBytes(word.data(), word.size());
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;;) {
        const Slot& s = slots_[i];
        if (s.count == 0) return 0;
        if (s.hash == h && s.keyLen == word.size() &&
            (word.empty() || std::memcmp(arena_.data() + s.keyOff, word.data(), word.size()) == 0))
            return s.count;
        i = (i + 1) & mask;
    }
}

void FrequencyTable::grow() {
    const std::size_t newSize = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old(newSize, Slot{0, 0, 0, 0});
    old.swap(slots_);
    const std::size_t mask = newSize - 1;
    for (const Slot& s : old) {
        if (s.count == 0) continue;
        std::size_t i = static_cast<std::size_t>(s.hash) & mask;
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
    for (const Slot& s : other.slots_) {
        if (s.count != 0)
            insertHashed(s.hash, std::string_view(other.arena_.data() + s.keyOff, s.keyLen), s.count);
    }
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
