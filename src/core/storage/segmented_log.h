// SegmentedLog: the append-only, checksummed, fsync'd record log in a directory of segment files.
// Format and recovery rules: docs/STORAGE.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "raft/types.h"
#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage {

/// One record to append. The payload is only borrowed for the duration of append().
struct Record {
    raft::EntryType type = raft::EntryType::Normal;
    raft::Term term = 0;
    raft::Index index = 0;
    std::string_view payload;
};

/// What the in-memory index knows about a stored entry (no payload).
struct EntryInfo {
    raft::Term term = 0;
    raft::EntryType type = raft::EntryType::Normal;
    std::uint32_t length = 0;  ///< payload bytes
};

/// Where an entry's record lives (for tests and tools).
struct RecordLocation {
    std::string path;
    std::uint64_t offset = 0;  ///< byte offset of the record header in the file
    std::uint32_t length = 0;  ///< payload bytes (the payload starts at offset + kRecordHeaderBytes)
};

struct SegmentedLogOptions {
    std::string dir;                           ///< created if missing
    std::uint64_t segmentBytes = 64ull << 20;  ///< roll to a new segment past this size
    std::uint32_t maxPayloadBytes = 1u << 30;  ///< larger records are refused (and "insane" on read)
    Logger logger;                             ///< warnings about repaired torn tails etc.
    std::shared_ptr<FileOps> fileOps;          ///< null: plain POSIX
};

/// Thread-safety: all methods may be called from any thread. Mutations (append, truncateSuffix,
/// dropPrefix) are serialized; reads run concurrently with each other and with the write/fsync part of
/// an append (entries become visible to readers once synced).
class SegmentedLog {
  public:
    static constexpr std::uint32_t kSegmentHeaderBytes = 40;
    static constexpr std::uint32_t kRecordHeaderBytes = 32;

    /// Opens (or creates) the log and runs recovery: every record is verified; a torn record at the very
    /// tail of the last segment is cut off with a warning; any other damage is an error naming the file
    /// and byte offset.
    static Result<std::unique_ptr<SegmentedLog>> open(SegmentedLogOptions options);
    ~SegmentedLog();
    SegmentedLog(const SegmentedLog&) = delete;
    SegmentedLog& operator=(const SegmentedLog&) = delete;

    /// First stored index (lastIndex() + 1 when empty).
    raft::Index firstIndex() const;
    raft::Index lastIndex() const;
    raft::Term lastTerm() const;
    /// The term of entry firstIndex() - 1 (0 for a log that starts at 1).
    raft::Term prevTerm() const;
    /// \return nullopt if i is outside [firstIndex(), lastIndex()].
    std::optional<EntryInfo> info(raft::Index i) const;
    /// The term of i for firstIndex() - 1 <= i <= lastIndex(), else nullopt.
    std::optional<raft::Term> term(raft::Index i) const;

    /// Appends a batch with one fdatasync (plus two per segment roll inside the batch). Indexes must
    /// continue lastIndex() consecutively and terms must not decrease. All or nothing: on an I/O error
    /// (ENOSPC, EIO, short write) the partial tail is cut back, the log is unchanged and later appends
    /// work once the cause is gone.
    Status append(std::span<const Record> records);

    /// Reads one entry (header-checked and CRC-verified).
    Result<raft::Entry> read(raft::Index i) const;
    /// Reads payload bytes [offset, offset + length) of entry i with pread (no CRC check: the whole record
    /// was verified at recovery or append).
    Status readPayload(raft::Index i, std::uint64_t offset, std::size_t length, char* out) const;

    /// Durably removes every entry >= fromIndex (Raft log conflict). \pre fromIndex >= firstIndex()
    Status truncateSuffix(raft::Index fromIndex);
    /// Deletes every whole segment whose entries are all <= uptoIndex (compaction). firstIndex() becomes
    /// the first index of the first remaining segment (<= uptoIndex + 1) and prevTerm() the term before
    /// it. If every entry is <= uptoIndex, a new empty segment at lastIndex() + 1 is started.
    Status dropPrefix(raft::Index uptoIndex);

    /// Deletes every segment and starts an empty log whose first index is `first`, with `prevTerm` the
    /// term before it (a snapshot received from the leader replaces a log that does not hold it). A crash
    /// part-way leaves a suffix of the old segments or an empty log: the snapshot file, written before,
    /// says to reset again (RaftLogStore::open).
    Status reset(raft::Index first, raft::Term prevTerm);

    std::optional<RecordLocation> locate(raft::Index i) const;
    std::size_t segmentCount() const;
    std::uint64_t bytes() const;      ///< the segment files' valid content, headers included
    std::uint64_t syncCount() const;  ///< fdatasync calls made by append (for tests/benchmarks)
    const std::string& dir() const { return opt_.dir; }

  private:
    struct Segment {
        raft::Index first = 1;
        raft::Term prevTerm = 0;
        std::string path;
        int fd = -1;
        std::uint64_t size = 0;  ///< bytes of valid (published) content
    };
    struct Meta {
        std::uint64_t offset;
        raft::Term term;
        std::uint32_t length;
        raft::EntryType type;
    };

    explicit SegmentedLog(SegmentedLogOptions options);
    Status recover();
    Status recoverSegment(std::size_t k, bool last);
    Status createSegment(raft::Index first, raft::Term prevTerm, Segment* out);
    Status truncateSuffixLocked(raft::Index fromIndex);
    std::string segmentPath(raft::Index first) const;
    void log(LogLevel level, const std::string& msg) const;
    std::size_t segmentFor(raft::Index i) const;  ///< \pre i in [first, last]

    SegmentedLogOptions opt_;
    std::shared_ptr<FileOps> ops_;
    std::mutex writeMutex_;                 ///< serializes mutations
    mutable std::shared_mutex indexMutex_;  ///< guards segments_ and entries_
    std::vector<Segment> segments_;         ///< ascending; the last one is active (appended to)
    std::vector<Meta> entries_;             ///< entries_[i - segments_.front().first]
    std::atomic<std::uint64_t> syncs_{0};
    bool tailDirty_ = false;  ///< a failed cut-back left bytes past segments_.back().size
};

}  // namespace raftwc::storage
