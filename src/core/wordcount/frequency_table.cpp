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

inline std::uint64_t load32(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
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

/// a == b for n bytes, with fixed-size (overlapping) loads for short keys.
inline bool keyEquals(const char* a, const char* b, std::size_t n) {
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (load64(a + i) != load64(b + i)) return false;
        return load64(a + n - 8) == load64(b + n - 8);
    }
    if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

bool byCountThenWord(const WordCount& a, const WordCount& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.word < b.word;
}

}  // namespace

std::uint64_t hashBytes(const char* p, std::size_t n) noexcept {
    // wyhash-style: short inputs are read with (overlapping) fixed-size loads, never a variable memcpy.
    std::uint64_t a, b;
    std::uint64_t seed = kP0 ^ mix(n ^ kP0, kP1);
    if (n <= 16) {
        if (n >= 4) {
            a = (load32(p) << 32) | load32(p + ((n >> 3) << 2));
            b = (load32(p + n - 4) << 32) | load32(p + n - 4 - ((n >> 3) << 2));
        } else if (n > 0) {
            a = (std::uint64_t{static_cast<unsigned char>(p[0])} << 16) |
                (std::uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
                static_cast<unsigned char>(p[n - 1]);
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        std::size_t i = n;
        while (i > 16) {
            seed = mix(load64(p) ^ kP1, load64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = load64(p + i - 16);
        b = load64(p + i - 8);
    }
    return mix(kP1 ^ n, mix(a ^ kP1, b ^ seed));
}

void FrequencyTable::add(std::string_view word, std::uint64_t n) {
    if (n == 0) return;
    insertHashed(hashBytes(word.data(), word.size()), word, n);
}

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
