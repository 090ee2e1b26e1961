// GroupCommitWriter: asynchronous appends to a SegmentedLog from any thread; whatever is queued while
// the previous batch is being synced is written and fdatasync'ed together.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "raft/types.h"
#include "storage/segmented_log.h"

namespace raftwc::storage {

class GroupCommitWriter {
  public:
    /// Called exactly once per submission, ON THE WRITER THREAD, after the entries are durable (ok) or
    /// definitely not stored (error). Keep it short. From Qt, hop back to the owner's thread:
    ///   writer.submit(std::move(ents), [obj](const Status& s) {
    ///       QMetaObject::invokeMethod(obj, [obj, s] { obj->onPersisted(s); }, Qt::QueuedConnection); });
    using Callback = std::function<void(const Status&)>;

    struct Options {
        std::size_t maxBatchBytes = 64u << 20;  ///< payload bytes per sync (bounds latency)
    };

    /// Starts the writer thread. `log` must outlive the writer. While the writer runs, nothing else may
    /// append to, truncate or drop from the log (reads are fine).
    explicit GroupCommitWriter(SegmentedLog& log) : GroupCommitWriter(log, Options{}) {}
    GroupCommitWriter(SegmentedLog& log, Options options);
    /// Finishes every queued submission (callbacks fire), then joins the thread.
    ~GroupCommitWriter();
    GroupCommitWriter(const GroupCommitWriter&) = delete;
    GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

    /// Thread-safe. Entries must have consecutive indexes continuing the log as it will be after every
    /// earlier submission (submissions are applied in submit order). A submission that does not fit —
    /// index gap, lower term — fails alone with an error; if a batch's write or sync fails, every
    /// submission in that batch gets the error and the log keeps only what was stored before it.
    void submit(std::vector<raft::Entry> entries, Callback done);

    std::uint64_t batchCount() const;  ///< batches written (each with one fdatasync)

  private:
    struct Submission {
        std::vector<raft::Entry> entries;
        Callback done;
    };
    void run();

    SegmentedLog& log_;
    Options opt_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Submission> queue_;
    bool stopping_ = false;
    std::uint64_t batches_ = 0;
    std::thread thread_;
};

}  // namespace raftwc::storage
