// RaftLogStore: the durable raft::Storage — the segmented log in DIR/log, the hard-state file
// DIR/hardstate and the directory lock DIR/LOCK, with a bytes-bounded cache of recent entries and the
// ConfChange entries kept in memory.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/storage.h"
#include "storage/dir_lock.h"
#include "storage/hard_state_file.h"
#include "storage/segmented_log.h"

namespace raftwc::storage {

struct RaftLogStoreOptions {
    std::string dir;                           ///< data directory (created if missing)
    std::uint64_t segmentBytes = 64ull << 20;  ///< see SegmentedLogOptions
    std::size_t cacheBytes = 64u << 20;        ///< payload bytes of recent entries kept in memory
    Logger logger;
    std::shared_ptr<FileOps> fileOps;  ///< null: plain POSIX
};

/// Not thread-safe: one thread (the node's) uses it. Storage reads throw std::runtime_error on an I/O
/// error (fatal, per raft::Storage); persist() and setIdentity() return a Status.
class RaftLogStore final : public raft::Storage {
  public:
    /// Locks DIR, reads the hard state and recovers the log (see SegmentedLog::open).
    static Result<std::unique_ptr<RaftLogStore>> open(RaftLogStoreOptions options);

    raft::HardState hardState() const override { return hs_.current().hs; }
    raft::ConfState baseConfState() const override { return {}; }
    raft::Index firstIndex() const override { return log_->firstIndex(); }
    raft::Index lastIndex() const override { return log_->lastIndex(); }
    raft::Term term(raft::Index i) const override;
    std::vector<raft::Entry> entries(raft::Index lo, raft::Index hi, std::size_t maxBytes) const override;
    std::vector<raft::Entry> confEntries() const override { return confEntries_; }

    /// Ready handling: if `entries` is not empty, drops every stored entry at or after
    /// entries.front().index (durably), appends them with one fdatasync; then, if `hs` is set and differs
    /// from the stored one, writes the hard state. \pre entries consecutive, front().index <= lastIndex()+1
    /// On error nothing after the failed step happened; lastIndex()/hardState() tell what is stored.
    Status persist(const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& entries);

    /// Cluster id and node id, stored in the hard-state file (empty / 0 until set).
    const std::string& clusterId() const { return hs_.current().clusterId; }
    raft::NodeId nodeId() const { return hs_.current().nodeId; }
    Status setIdentity(const std::string& clusterId, raft::NodeId nodeId);

    /// Compaction hook: deletes whole log segments below uptoIndex (see SegmentedLog::dropPrefix).
    Status dropPrefix(raft::Index uptoIndex);

    /// Payload byte range of a stored entry without loading it (pread). Throws like the Storage reads.
    void readPayload(raft::Index i, std::uint64_t offset, std::size_t length, char* out) const;

    const SegmentedLog& log() const { return *log_; }
    std::size_t cachedEntries() const { return cache_.size(); }

  private:
    RaftLogStore(DirLock lock, HardStateFile hs, std::unique_ptr<SegmentedLog> log, std::size_t cacheBytes)
        : lock_(std::move(lock)), hs_(std::move(hs)), log_(std::move(log)), cacheBytes_(cacheBytes) {}
    void cacheAppend(const std::vector<raft::Entry>& ents);
    void cacheTruncate(raft::Index from);
    raft::Entry readEntry(raft::Index i) const;

    DirLock lock_;
    HardStateFile hs_;
    std::unique_ptr<SegmentedLog> log_;
    std::size_t cacheBytes_;
    std::deque<raft::Entry> cache_;  ///< consecutive entries ending at lastIndex() (possibly empty)
    std::size_t cacheUsed_ = 0;
    std::vector<raft::Entry> confEntries_;
};

}  // namespace raftwc::storage
