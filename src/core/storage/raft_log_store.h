// RaftLogStore: the durable raft::Storage — the segmented log in DIR/log, the hard-state file
// DIR/hardstate and the directory lock DIR/LOCK, with a bytes-bounded cache of recent entries and the
// ConfChange entries kept in memory.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "raft/storage.h"
#include "storage/dir_lock.h"
#include "storage/hard_state_file.h"
#include "storage/segmented_log.h"

namespace raftwc::storage {

/// Appends consecutive entries `more` to consecutive entries `into` the way a log takes them: whatever of
/// `into` sits at or after more.front().index is replaced (a later Ready that conflicts). Pure.
void appendReplacing(std::vector<raft::Entry>& into, std::vector<raft::Entry>&& more);

struct RaftLogStoreOptions {
    std::string dir;                           ///< data directory (created if missing)
    std::uint64_t segmentBytes = 64ull << 20;  ///< see SegmentedLogOptions
    std::size_t cacheBytes = 16u << 20;        ///< bytes of recent entries kept in memory
    Logger logger;
    std::shared_ptr<FileOps> fileOps;  ///< null: plain POSIX
};

/// Thread-safe. Storage reads throw std::runtime_error on an I/O error (fatal, per raft::Storage) and
/// std::out_of_range on an index outside the log; persist() and the other mutators return a Status.
/// Mutations are serialized; reads run concurrently with them and see entries once they are durable.
class RaftLogStore final : public raft::Storage {
  public:
    /// Locks DIR, reads the hard state and recovers the log (see SegmentedLog::open).
    static Result<std::unique_ptr<RaftLogStore>> open(RaftLogStoreOptions options);
    /// Finishes queued persistAsync() jobs (their callbacks run), then closes.
    ~RaftLogStore() override;

    raft::HardState hardState() const override;
    raft::ConfState baseConfState() const override;
    std::optional<raft::Snapshot> snapshot() const override;
    /// The newest snapshot's index (0: none), without copying its state.
    raft::Index snapshotIndex() const;
    raft::Index firstIndex() const override;
    raft::Index lastIndex() const override { return log_->lastIndex(); }
    raft::Term term(raft::Index i) const override;
    std::vector<raft::Entry> entries(raft::Index lo, raft::Index hi, std::size_t maxBytes) const override;
    std::vector<raft::Entry> confEntries() const override;

    /// Ready handling: if `entries` is not empty, drops every stored entry at or after
    /// entries.front().index (durably), appends them with one fdatasync; then, if `hs` is set and differs
    /// from the stored one, writes the hard state. \pre entries consecutive, front().index <= lastIndex()+1
    /// On error nothing after the failed step happened; lastIndex()/hardState() tell what is stored.
    Status persist(const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& entries) {
        return persist(std::nullopt, hs, entries);
    }
    /// The same, with Ready::snapshot first: DIR/snapshot is replaced atomically, then the log is cut after
    /// it if it holds the snapshot's (index, term), else replaced by an empty log that starts after it.
    Status persist(const std::optional<raft::Snapshot>& snapshot, const std::optional<raft::HardState>& hs,
                   const std::vector<raft::Entry>& entries);

    /// persist() on the store's writer thread, so the caller's (event-loop) thread never waits for an
    /// fsync. Jobs run in submission order; every job queued while a write runs joins the next write, which
    /// costs one fdatasync for all of them (group commit: see appendReplacing). `done` is called ON THE
    /// WRITER THREAD after the job, in submission order (hop back with QMetaObject::invokeMethod(obj, ...,
    /// Qt::QueuedConnection)); a failed write fails every job in it. A job with nothing to write keeps its
    /// place in the order and costs no I/O. Storage reads stay valid meanwhile; entries at or after the
    /// first persisted index may be briefly absent during a conflict truncation, so (as with etcd's
    /// unstable log) read those from the Raft core's unstable entries until done.
    void persistAsync(std::optional<raft::HardState> hs, std::vector<raft::Entry> entries,
                      std::function<void(const Status&)> done) {
        persistAsync(std::nullopt, std::move(hs), std::move(entries), std::move(done));
    }
    /// With a snapshot: a group's newest snapshot wins and the entries queued before it are dropped.
    void persistAsync(std::optional<raft::Snapshot> snapshot, std::optional<raft::HardState> hs,
                      std::vector<raft::Entry> entries, std::function<void(const Status&)> done);

    /// Compaction: records `s`, a snapshot the application made of its state at s.meta.index (it applied
    /// that far), in DIR/snapshot and deletes the whole log segments it covers. firstIndex() becomes
    /// s.meta.index + 1 at once (entries before it are no longer served). \pre firstIndex() - 1 <=
    /// s.meta.index <= lastIndex() and the stored term there is s.meta.term (EINVAL otherwise).
    Status compact(const raft::Snapshot& s);

    /// Cluster id and node id, stored in the hard-state file (empty / 0 until set).
    std::string clusterId() const;
    raft::NodeId nodeId() const;
    Status setIdentity(const std::string& clusterId, raft::NodeId nodeId);

    /// Compaction hook: deletes whole log segments below uptoIndex (see SegmentedLog::dropPrefix).
    Status dropPrefix(raft::Index uptoIndex);

    /// Payload byte range of a stored entry without loading it (pread). Throws like the Storage reads.
    void readPayload(raft::Index i, std::uint64_t offset, std::size_t length, char* out) const;

    const SegmentedLog& log() const { return *log_; }

    /// persistAsync() so far: jobs done, writes they took (each at most one fdatasync of the log, plus the
    /// hard-state file when the term or vote changed), the largest group.
    struct AsyncStats {
        std::uint64_t jobs = 0;
        std::uint64_t writes = 0;
        std::size_t largestGroup = 0;
    };
    AsyncStats asyncStats() const;
    std::size_t cachedEntries() const;

  private:
    struct Job {
        std::optional<raft::Snapshot> snapshot;
        std::optional<raft::HardState> hs;
        std::vector<raft::Entry> entries;
        std::function<void(const Status&)> done;
    };
    RaftLogStore(DirLock lock, HardStateFile hs, std::unique_ptr<SegmentedLog> log, std::size_t cacheBytes,
                 std::string dir, std::shared_ptr<FileOps> ops)
        : dir_(std::move(dir)),
          ops_(std::move(ops)),
          lock_(std::move(lock)),
          hsFile_(std::move(hs)),
          log_(std::move(log)),
          cacheBytes_(cacheBytes),
          hs_(hsFile_.current()) {}
    Status persistLocked(const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& entries);
    Status installSnapshotLocked(const raft::Snapshot& s);
    /// After DIR/snapshot changed: cache, ConfChange list and the snapshot readers see.
    void noteSnapshotLocked(const raft::Snapshot& s);
    void cacheAppendLocked(const std::vector<raft::Entry>& ents);
    void cacheTruncateLocked(raft::Index from);
    raft::Entry readEntry(raft::Index i) const;
    void runJobs();

    const std::string dir_;
    const std::shared_ptr<FileOps> ops_;
    DirLock lock_;
    std::mutex writeMu_;  ///< serializes mutations; guards hsFile_
    HardStateFile hsFile_;
    std::unique_ptr<SegmentedLog> log_;  ///< itself thread-safe
    const std::size_t cacheBytes_;

    mutable std::mutex stateMu_;     ///< guards the members below (never held during I/O)
    HardStateRecord hs_;             ///< copy of hsFile_.current() for readers
    std::deque<raft::Entry> cache_;  ///< consecutive entries ending at lastIndex() (possibly empty)
    std::size_t cacheUsed_ = 0;      ///< payload bytes + a fixed per-entry overhead
    std::vector<raft::Entry> confEntries_;
    std::optional<raft::Snapshot> snap_;  ///< DIR/snapshot; entries up to its index are not served

    mutable std::mutex jobMu_;  ///< guards jobs_, stopping_, worker_, asyncStats_
    std::condition_variable jobCv_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    AsyncStats asyncStats_;
    std::thread worker_;  ///< started by the first persistAsync()
};

}  // namespace raftwc::storage
