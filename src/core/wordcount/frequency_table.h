// Word -> count table: open addressing (linear probing) over a power-of-two slot array, keys stored
// back to back in one arena, a fast 64-bit multiply-mix hash. A plain value: copyable, comparable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace raftwc::wordcount {

struct WordCount {
    std::string word;  ///< Bytes (raw mode words may be invalid UTF-8).
    std::uint64_t count = 0;

    bool operator==(const WordCount&) const = default;
};

/// 64-bit hash of a byte string (not cryptographic; stable across runs and machines).
std::uint64_t hashBytes(const char* data, std::size_t len) noexcept;

class FrequencyTable {
  public:
    FrequencyTable() = default;

    /// Adds n occurrences of word (n == 0 does nothing).
    void add(std::string_view word, std::uint64_t n = 1);
    /// Occurrences of word, 0 if absent.
    std::uint64_t count(std::string_view word) const;
    /// Number of distinct words.
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    /// Sum of all counts.
    std::uint64_t total() const { return total_; }
    /// Adds every entry of other.
    void merge(const FrequencyTable& other);
    void clear();
    /// Prepares room for n distinct words without rehashing.
    void reserve(std::size_t n);

    /// Calls f(std::string_view word, std::uint64_t count) for every entry, in unspecified order.
    template <class F>
    void forEach(F&& f) const {
        for (const Slot& s : slots_) {
            if (s.count != 0) f(keyOf(s), s.count);
        }
    }
    /// All entries, unspecified order.
    std::vector<WordCount> entries() const;

    /// Same words with the same counts (order and capacity ignored).
    bool operator==(const FrequencyTable& other) const;

  private:
    static constexpr std::size_t kInline = 16;
    /// 32 bytes; keys of up to 16 bytes live in the slot, longer ones in the arena.
    struct Slot {
        std::uint32_t tag;    ///< High 32 bits of the hash.
        std::uint32_t len;    ///< Key length.
        std::uint64_t count;  ///< 0 = empty slot.
        union {
            char inl[kInline];
            std::uint64_t off;  ///< Arena offset when len > kInline.
        };
    };
    std::string_view keyOf(const Slot& s) const {
        return s.len <= kInline ? std::string_view(s.inl, s.len)
                                : std::string_view(arena_.data() + s.off, s.len);
    }
    void grow();
    void insertHashed(std::uint64_t h, std::string_view word, std::uint64_t n);

    std::vector<Slot> slots_;  ///< Size 0 or a power of two.
    std::vector<char> arena_;
    std::size_t size_ = 0;
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
