// ProposalTracker: everything that waits on the log — proposals this node made as leader (answered when an
// entry with their index comes out committed: ok iff it has their term), proposals it forwarded to a
// leader (failed at once if that leader is replaced before it answers), and waiters for "applied up to
// index". Deadlines fail what waits too long. A value with callbacks: no I/O, no clock (times passed in);
// every callback runs after the tracker's own state is updated, so a callback may call back into it.
#pragma once

#include <QtGlobal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "node/jobs.h"
#include "raft/types.h"

namespace raftwc::node {

class ProposalTracker {
  public:
    using Done = std::function<void(ProposeOutcome)>;

    /// A proposal appended by this node (leader) at (index, term).
    void proposed(raft::Index index, raft::Term term, Done done, qint64 deadlineMs);
    /// A committed entry was applied: answers the proposals at its index, then the apply waiters up to
    /// `applied`.
    void applied(raft::Index index, raft::Term term, raft::Index appliedUpTo);
    /// Calls cb(true) once applied() reaches `index` (at once if `appliedUpTo` already has), cb(false) at
    /// the deadline.
    void whenApplied(raft::Index index, raft::Index appliedUpTo, std::function<void(bool)> cb,
                     qint64 deadlineMs);

    /// A proposal forwarded to `leader`; returns its key. Exactly one of forwardAnswered()/leaderChanged()
    /// answers it: forwardAnswered() returns false (answer nothing) if the forward was already failed.
    std::uint64_t forwarded(raft::NodeId leader, Done done);
    bool forwardAnswered(std::uint64_t key, ProposeOutcome outcome);
    /// `oldLeader` is no longer the leader: its forwards fail with NoLeader (the caller retries).
    void leaderChanged(raft::NodeId oldLeader);

    /// Fails everything whose deadline passed.
    void sweep(qint64 nowMs);

    std::size_t pending() const { return proposals_.size() + forwards_.size() + waiters_.size(); }

  private:
    struct Proposal {
        raft::Term term = 0;
        Done done;
        qint64 deadlineMs = 0;
    };
    struct Waiter {
        std::function<void(bool)> cb;
        qint64 deadlineMs = 0;
    };
    struct Forward {
        raft::NodeId leader = raft::kNoNode;
        Done done;
    };
    std::multimap<raft::Index, Proposal> proposals_;
    std::multimap<raft::Index, Waiter> waiters_;
    std::map<std::uint64_t, Forward> forwards_;
    std::uint64_t nextKey_ = 1;
};

}  // namespace raftwc::node
