// The word-counting kernel: counts words, lines and bytes of a byte range of a file, optionally with a
// frequency table, so that shard results merge exactly. Semantics: docs/WORDS.md.
//
// Pure: the only I/O is through ByteSource (FileByteSource reads a file with pread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wordcount/frequency_table.h"

namespace raftwc::wordcount {

/// Random-access bytes of one file. read() must be safe to call from several threads at once.
class ByteSource {
  public:
    virtual ~ByteSource() = default;
    /// Reads exactly len bytes at offset into out. False on any error or short read.
    virtual bool read(std::uint64_t offset, std::size_t len, char* out) const = 0;
};

/// Bytes held in memory (the view must outlive the source).
class MemoryByteSource final : public ByteSource {
  public:
    explicit MemoryByteSource(std::string_view bytes) : bytes_(bytes) {}
    bool read(std::uint64_t offset, std::size_t len, char* out) const override;
    std::uint64_t size() const { return bytes_.size(); }

  private:
    std::string_view bytes_;
};

/// A file read with pread(2). Not copyable; check isOpen()/error() after construction.
class FileByteSource final : public ByteSource {
  public:
    explicit FileByteSource(const std::string& path);
    ~FileByteSource() override;
    FileByteSource(const FileByteSource&) = delete;
    FileByteSource& operator=(const FileByteSource&) = delete;

    bool isOpen() const { return fd_ >= 0; }
    const std::string& error() const { return error_; }
    /// Size at open time (0 if not open).
    std::uint64_t size() const { return size_; }
    bool read(std::uint64_t offset, std::size_t len, char* out) const override;

  private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::string error_;
};

/// Which frequency table countRange builds.
enum class FreqMode : std::uint8_t {
    None = 0,        ///< Totals only (fastest).
    Raw = 1,         ///< Exactly the tokens counted by `words` (bytes as they are); counts sum to words.
    Normalized = 2,  ///< Case-folded runs of letters/marks/numbers with inner ' ’ - (docs/WORDS.md).
};

/// SIMD classification kernel. Auto = AVX2 when the CPU has it, else SSE2 (x86-64 baseline).
enum class Kernel : std::uint8_t { Auto, Avx2, Sse2 };

struct CountOptions {
    FreqMode mode = FreqMode::None;
    Kernel kernel = Kernel::Auto;          ///< An unsupported choice falls back to Auto.
    std::size_t bufferBytes = 256 * 1024;  ///< Read buffer per call (rounded to 64; min 4096).
    /// The file is still growing: fileSize is only what can be read so far, and more bytes follow. Counts
    /// are then exactly those of the longer file, or the call fails with CountResult::needsMore when
    /// they depend on bytes past fileSize (a word, or a character's lookahead, running past it).
    bool growing = false;
    /// Distinct words expected in the range (a hint, e.g. those of the previous piece of the same file): the
    /// table starts with room for them instead of growing step by step. 0: no hint. Counts never depend on
    /// it.
    std::size_t expectedDistinct = 0;
};

/// [offset, offset + length) of a file. It owns every word that starts inside it.
struct ShardSpec {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    bool operator==(const ShardSpec&) const = default;
};

/// How a byte range moves the column of GNU `wc -L` (docs/WORDS.md, "Longest line"). The column of a
/// line only grows, so a line's width is the column at its end. The *head* is the text before the
/// range's first line end (\n, \r, \f; all of it when there is none): it takes a starting column p to
/// headColumn(p) — p + headWidth without a tab, else the tab stop after p + headWidth plus
/// headAfterTab (the rest starts 8-aligned, so it adds a constant). The *tail*, after the last line
/// end, starts at column 0. Canonical: fields that do not apply are 0.
struct LineWidthSummary {
    bool hasLineEnd = false;         ///< The range holds a \n, \r or \f.
    bool headTab = false;            ///< The head holds a tab.
    std::uint64_t headWidth = 0;     ///< Width of the head before its first tab (the whole head if none).
    std::uint64_t headAfterTab = 0;  ///< Column after the head, relative to its first tab stop (headTab).
    std::uint64_t innerMax = 0;      ///< Widest line between the first and the last line end (hasLineEnd).
    std::uint64_t tail = 0;          ///< Column after the last line end (hasLineEnd).

    /// Column at the end of the head for a range starting at column start.
    std::uint64_t headColumn(std::uint64_t start) const {
        return headTab ? ((start + headWidth) | 7) + 1 + headAfterTab : start + headWidth;
    }
    /// `wc -L` of the range read from column 0 (exact for a range starting at the file start).
    std::uint64_t maxWidth() const;

    bool operator==(const LineWidthSummary&) const = default;
};

/// The summary of a followed immediately by b.
LineWidthSummary compose(const LineWidthSummary& a, const LineWidthSummary& b);

/// The summary of the non-empty range [offset, offset + length).
struct LineFragment {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    LineWidthSummary summary;

    bool operator==(const LineFragment&) const = default;
};

/// Line-width summaries of merged ranges. Merging is order-free: fragments stay sorted by offset and
/// any two that touch are composed into one, so at most one fragment per merged part remains and a
/// whole file merged from its shards in any order is a single fragment [0, size).
struct LineWidths {
    bool known = true;  ///< False once a part without summaries (an older node's reply) was merged.
    std::vector<LineFragment> fragments;  ///< Sorted by offset; none empty, none touching the next.

    /// Adds one range's summary (ignored when empty), composing it with the fragments it touches.
    void add(const LineFragment& f);
    void merge(const LineWidths& other);
    /// `wc -L` of [0, size) when known and the fragments cover exactly that range; else nullopt.
    std::optional<std::uint64_t> maxLineWidth(std::uint64_t size) const;

    bool operator==(const LineWidths&) const = default;
};

struct ShardCounts {
    std::uint64_t words = 0;  ///< Words starting in the range.
    std::uint64_t lines = 0;  ///< 0x0A bytes in the range.
    std::uint64_t bytes = 0;  ///< Range length.
    /// Characters starting in the range, as GNU `wc -m` counts them in C.UTF-8 (invalid bytes are
    /// not characters). nullopt: unknown (a part from an older node was merged).
    std::optional<std::uint64_t> chars = 0;
    LineWidths lineWidths;  ///< For `wc -L`; see maxLineWidth().
    FreqMode mode = FreqMode::None;
    FrequencyTable freq;  ///< Empty when mode == None.

    /// `wc -L` of the file when these counts cover it exactly from offset 0 (bytes is the file size);
    /// nullopt for a shard that does not start at 0, an incomplete merge, or unknown summaries.
    std::optional<std::uint64_t> maxLineWidth() const { return lineWidths.maxLineWidth(bytes); }

    bool operator==(const ShardCounts&) const = default;
};

struct CountResult {
    bool ok = false;
    std::string error;       ///< Set when !ok.
    bool needsMore = false;  ///< !ok only because a growing file's known bytes do not suffice yet.
    ShardCounts counts;
};

/// Counts the shard. fileSize is the whole file's size (the counter looks up to 3 bytes before the
/// range and reads past its end to finish the last word when a table is built).
/// Errors: range outside the file, read failure.
CountResult countRange(const ByteSource& src, std::uint64_t fileSize, ShardSpec shard,
                       const CountOptions& options = {});

/// Whole-buffer convenience (same as countRange over [0, size)).
ShardCounts countBytes(std::string_view bytes, FreqMode mode = FreqMode::None);

/// Exact merge of two shards of the same file, in any order (line widths compose by offset). nullopt
/// if both carry tables of different modes.
std::optional<ShardCounts> merge(const ShardCounts& a, const ShardCounts& b);
/// In-place merge; false (acc unchanged) on a mode mismatch. A None-mode acc takes part's mode.
bool mergeInto(ShardCounts& acc, const ShardCounts& part);

/// Name of the kernel Kernel::Auto picks on this CPU: "avx2" or "sse2".
const char* autoKernelName();
/// Whether kernel k can run on this CPU.
bool kernelSupported(Kernel k);

}  // namespace raftwc::wordcount
