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

/// Layout: one power-of-two array of 32-byte slots, open addressing with linear probing, at most 5/8 full.
/// A slot holds the count (0 = empty), the key's length, the upper half of its hash, and the key itself
/// when it has at most 16 bytes (longer keys live in an arena): a lookup touches one cache line, not an
/// index slot and then an entry. The insertion order is kept aside (forEach, entries()).
class FrequencyTable {
  public:
    FrequencyTable() = default;

    /// Adds n occurrences of word (n == 0 does nothing). The hit path is inline.
    void add(std::string_view word, std::uint64_t n = 1) {
        if (n == 0) return;
        const std::uint64_t h = keyHash(word.data(), word.size());
        if (Slot* s = find(h, word)) {
            s->count += n;
            total_ += n;
            return;
        }
        insertNew(h, word, n);
    }
    /// add(word, 1) for a word followed by at least 16 readable bytes (a padded buffer): a key of up to
    /// 16 bytes is loaded, hashed and compared with fixed-size loads and masks, without branching on its
    /// length (word lengths are random: those branches are mispredicted).
    void addPadded(std::string_view word) {
        const std::size_t n = word.size();
        if (n > kInline) {
            add(word);
            return;
        }
        std::uint64_t a = detail::load64(word.data()), b = detail::load64(word.data() + 8);
        const unsigned bits = static_cast<unsigned>(8 * n);
        a &= n >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
        b &= n <= 8 ? 0 : n >= 16 ? ~std::uint64_t{0} : (std::uint64_t{1} << (bits - 64)) - 1;
        const std::uint64_t h = shortHash(a, b, n);
        if (!slots_.empty()) {
            const std::size_t mask = slots_.size() - 1;
            const auto tag = static_cast<std::uint32_t>(h >> 32);
            for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
                Slot& s = slots_[i];
                if (s.count == 0) break;
                // Inline keys are zero-padded, so equal (length, 16 bytes) means equal keys.
                if (((s.tag ^ tag) | (s.len ^ n) | (detail::load64(s.inl) ^ a) |
                     (detail::load64(s.inl + 8) ^ b)) == 0) {
                    ++s.count;
                    ++total_;
                    return;
                }
            }
        }
        insertNew(h, word, 1);
    }
    /// Occurrences of word, 0 if absent.
    std::uint64_t count(std::string_view word) const {
        const Slot* s = const_cast<FrequencyTable*>(this)->find(keyHash(word.data(), word.size()), word);
        return s ? s->count : 0;
    }
    /// Number of distinct words.
    std::size_t size() const { return order_.size(); }
    bool empty() const { return order_.empty(); }
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
        for (const std::uint32_t k : order_)
            f(keyOf(slots_[k]), slots_[k].count);
    }
    /// All entries, in insertion order.
    std::vector<WordCount> entries() const;

    /// Same words with the same counts (order and capacity ignored).
    bool operator==(const FrequencyTable& other) const;

  private:
    static constexpr std::size_t kInline = 16;
    struct Slot {
        std::uint64_t count;  ///< 0: empty (every word present has a count of at least 1).
        std::uint32_t len;
        std::uint32_t tag;  ///< hash >> 32
        union {
            char inl[kInline];  ///< The key when len <= kInline.
            std::uint64_t off;  ///< Else its arena offset.
        };
    };
    static_assert(sizeof(Slot) == 32);
    /// The table's hash (in memory only: hashBytes, the serialized checksum, is unchanged). Keys of up to
    /// 16 bytes hash as two zero-padded 64-bit halves, so addPadded and add agree.
    static std::uint64_t shortHash(std::uint64_t a, std::uint64_t b, std::size_t n) {
        return detail::mix(a ^ detail::kP1 ^ (static_cast<std::uint64_t>(n) << 56), b ^ detail::kSeed);
    }
    static std::uint64_t keyHash(const char* p, std::size_t n) {
        if (n > kInline) return hashBytes(p, n);
        // The zero-padded halves from (overlapping) fixed-size loads, never past p + n.
        std::uint64_t a = 0, b = 0;
        if (n >= 8) {
            a = detail::load64(p);
            if (n > 8) b = detail::load64(p + n - 8) >> (8 * (16 - n));
        } else if (n >= 4) {
            a = detail::load32(p) | (detail::load32(p + n - 4) << (8 * (n - 4)));
        } else if (n > 0) {
            const auto* u = reinterpret_cast<const unsigned char*>(p);
            a = u[0] | (std::uint64_t{u[n >> 1]} << (8 * (n >> 1))) |
                (std::uint64_t{u[n - 1]} << (8 * (n - 1)));
        }
        return shortHash(a, b, n);
    }
    const char* keyPtr(const Slot& s) const { return s.len <= kInline ? s.inl : arena_.data() + s.off; }
    std::string_view keyOf(const Slot& s) const { return std::string_view(keyPtr(s), s.len); }
    Slot* find(std::uint64_t h, std::string_view word) {
        if (slots_.empty()) return nullptr;
        const std::size_t mask = slots_.size() - 1;
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
            Slot& s = slots_[i];
            if (s.count == 0) return nullptr;
            if (s.tag == tag && s.len == word.size() &&
                detail::keyEquals(keyPtr(s), word.data(), word.size()))
                return &s;
        }
    }
    void insertNew(std::uint64_t h, std::string_view word, std::uint64_t n);
    /// The empty slot where a key of hash h goes.
    std::size_t emptySlotFor(std::uint64_t h) const;
    void rehash(std::size_t slots);

    std::vector<Slot> slots_;           ///< Size 0 or a power of two.
    std::vector<std::uint32_t> order_;  ///< Slot numbers in insertion order.
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
