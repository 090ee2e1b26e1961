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
};

/// [offset, offset + length) of a file. It owns every word that starts inside it.
struct ShardSpec {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    bool operator==(const ShardSpec&) const = default;
};

struct ShardCounts {
    std::uint64_t words = 0;  ///< Words starting in the range.
    std::uint64_t lines = 0;  ///< 0x0A bytes in the range.
    std::uint64_t bytes = 0;  ///< Range length.
    FreqMode mode = FreqMode::None;
    FrequencyTable freq;  ///< Empty when mode == None.

    bool operator==(const ShardCounts&) const = default;
};

struct CountResult {
    bool ok = false;
    std::string error;  ///< Set when !ok.
    ShardCounts counts;
};

/// Counts the shard. fileSize is the whole file's size (the counter looks up to 3 bytes before the
/// range and reads past its end to finish the last word when a table is built).
/// Errors: range outside the file, read failure.
CountResult countRange(const ByteSource& src, std::uint64_t fileSize, ShardSpec shard,
                       const CountOptions& options = {});

/// Whole-buffer convenience (same as countRange over [0, size)).
ShardCounts countBytes(std::string_view bytes, FreqMode mode = FreqMode::None);

/// Exact merge of two shards of the same file. nullopt if both carry tables of different modes.
std::optional<ShardCounts> merge(const ShardCounts& a, const ShardCounts& b);
/// In-place merge; false (acc unchanged) on a mode mismatch. A None-mode acc takes part's mode.
bool mergeInto(ShardCounts& acc, const ShardCounts& part);

/// Name of the kernel Kernel::Auto picks on this CPU: "avx2" or "sse2".
const char* autoKernelName();
/// Whether kernel k can run on this CPU.
bool kernelSupported(Kernel k);

}  // namespace raftwc::wordcount
