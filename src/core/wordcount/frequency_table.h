// Word -> count table: open addressing (linear probing) over a power-of-two slot array, keys stored
// back to back in one arena, a fast 64-bit multiply-mix hash. A plain value: copyable, comparable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace raftwc::wordcount {

struct WordCount {
    std::string word;  ///< Bytes (raw mode words may be invalid UTF-8).
    std::uint64_t count = 0;

    bool operator==(const WordCount&) const = default;
};

namespace detail {

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
inline constexpr std::uint64_t kP0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t kSeed = 0x3b1f0c5a9d2e4871ULL;

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

}  // namespace detail

/// 64-bit hash of a byte string (wyhash-style; not cryptographic; stable across runs and machines).
/// Short inputs are read with (overlapping) fixed-size loads, never a variable-length memcpy.
inline std::uint64_t hashBytes(const char* p, std::size_t n) noexcept {
    using namespace detail;
    std::uint64_t a, b, seed = kSeed;
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
    return mix(a ^ kP1 ^ (static_cast<std::uint64_t>(n) << 56), b ^ seed);
}

/// Layout: a power-of-two index of 8-byte slots (hash tag << 32 | entry number + 1, 0 = empty,
/// linear probing, at most 5/8 full) over a dense entry array in insertion order (frequent words come
/// early and share cache lines); keys of up to 16 bytes live in their entry, longer ones in an arena.
class FrequencyTable {
  public:
    FrequencyTable() = default;

    /// Adds n occurrences of word (n == 0 does nothing). The hit path is inline.
    void add(std::string_view word, std::uint64_t n = 1) {
        if (n == 0) return;
        const std::uint64_t h = hashBytes(word.data(), word.size());
        if (Entry* e = find(h, word)) {
            e->count += n;
            total_ += n;
            return;
        }
        insertNew(h, word, n);
    }
    /// Occurrences of word, 0 if absent.
    std::uint64_t count(std::string_view word) const {
        const Entry* e = const_cast<FrequencyTable*>(this)->find(hashBytes(word.data(), word.size()), word);
        return e ? e->count : 0;
    }
    /// Number of distinct words.
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    /// Sum of all counts.
    std::uint64_t total() const { return total_; }
    /// Adds every entry of other.
    void merge(const FrequencyTable& other);
    void clear();
    /// Prepares room for n distinct words without rehashing.
    void reserve(std::size_t n);

    /// Calls f(std::string_view word, std::uint64_t count) for every entry, in insertion order.
    template <class F>
    void forEach(F&& f) const {
        for (const Entry& e : entries_)
            f(keyOf(e), e.count);
    }
    /// All entries, in insertion order.
    std::vector<WordCount> entries() const;

    /// Same words with the same counts (order and capacity ignored).
    bool operator==(const FrequencyTable& other) const;

  private:
    static constexpr std::size_t kInline = 16;
    struct Entry {
        std::uint64_t count;
        std::uint64_t len;
        union {
            char inl[kInline];  ///< The key when len <= kInline.
            std::uint64_t off;  ///< Else its arena offset.
        };
    };
    const char* keyPtr(const Entry& e) const { return e.len <= kInline ? e.inl : arena_.data() + e.off; }
    std::string_view keyOf(const Entry& e) const {
        return std::string_view(keyPtr(e), static_cast<std::size_t>(e.len));
    }
    Entry* find(std::uint64_t h, std::string_view word) {
        if (index_.empty()) return nullptr;
        const std::size_t mask = index_.size() - 1;
        const std::uint64_t tag = h >> 32;
        for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
            const std::uint64_t v = index_[i];
            if (v == 0) return nullptr;
            if ((v >> 32) == tag) {
                Entry& e = entries_[static_cast<std::uint32_t>(v) - 1];
                if (e.len == word.size() && detail::keyEquals(keyPtr(e), word.data(), word.size())) return &e;
            }
        }
    }
    void insertNew(std::uint64_t h, std::string_view word, std::uint64_t n);
    void placeInIndex(std::uint64_t h, std::uint32_t entryNumber);
    void rebuildIndex(std::size_t slots);

    std::vector<std::uint64_t> index_;  ///< Size 0 or a power of two.
    std::vector<Entry> entries_;
    std::vector<char> arena_;
    std::uint64_t total_ = 0;
};

/// The n most frequent words, sorted by count descending then word ascending (bytewise).
std::vector<WordCount> topWords(const FrequencyTable& table, std::size_t n);
/// Every entry in the same order as topWords (count desc, word asc).
std::vector<WordCount> sortedEntries(const FrequencyTable& table);

struct WordPage {
    std::vector<WordCount> words;  ///< At most limit entries, starting at offset, in topWords order.
    std::uint64_t totalDistinct = 0;
};
/// One page of the full table in topWords order; an offset past the end gives an empty page.
WordPage pageWords(const FrequencyTable& table, std::size_t limit, std::size_t offset);
/// The same from an already sorted vector (sortedEntries), to page repeatedly without resorting.
WordPage pageSorted(const std::vector<WordCount>& sorted, std::size_t limit, std::size_t offset);

}  // namespace raftwc::wordcount
