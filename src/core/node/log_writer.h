// LogWriter: persists the Raft core's Readys off the event loop (etcd's async storage writes). Each Ready's
// hard state and entries go to the store's writer thread in order; the store writes everything queued while
// a write runs with one fdatasync (group commit, RaftLogStore::persistAsync). Each finished Ready comes back
// on the owner's thread, in order, where the owner sends the messages that waited for it and reports it to
// the core (RawNode::persisted).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "raft/rawnode.h"
#include "storage/status.h"

namespace raftwc::storage {
class RaftLogStore;
}

namespace raftwc::node {

/// What is left of a Ready once its entries and hard state went to the disk.
struct WrittenReady {
    std::vector<raft::Message> messagesAfterPersist;
    std::uint64_t persistToken = 0;
};

class LogWriter {
  public:
    /// Runs a function on the owner's thread (e.g. QMetaObject::invokeMethod on a QObject, queued). Calls
    /// must run in the order posted.
    using Post = std::function<void(std::function<void()>)>;
    /// On the owner's thread, in order: a Ready is durable (status ok), or its write failed (then nothing
    /// more is reported: the node stops).
    using Done = std::function<void(WrittenReady, const storage::Status&)>;

    /// Writes a Ready's snapshot (a received InstallSnapshot), hard state and entries in submission order and
    /// calls its `done` (on any thread) once they are durable or failed — RaftLogStore::persistAsync, or the
    /// simulation's disk.
    using Persist =
        std::function<void(std::optional<raft::Snapshot>, std::optional<raft::HardState>,
                           std::vector<raft::Entry>, std::function<void(const storage::Status&)>)>;

    LogWriter(Persist persist, Post post, Done done);
    /// Persists through store.persistAsync (its writer thread, group commit).
    LogWriter(storage::RaftLogStore& store, Post post, Done done);
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;

    /// On the owner's thread. \pre rd.needsPersist(). The snapshot, if any, is written too; loading it into
    /// the state machine is the owner's, once it is reported durable.
    void submit(raft::Ready rd);
    /// Readys handed in and not yet reported.
    std::size_t inFlight() const { return inFlight_; }

  private:
    Persist persist_;
    Post post_;
    Done done_;
    std::size_t inFlight_ = 0;
    bool failed_ = false;
};

}  // namespace raftwc::node
