#include "node/proposal_tracker.h"

#include <vector>

namespace raftwc::node {

void ProposalTracker::proposed(raft::Index index, raft::Term term, Done done, qint64 deadlineMs) {
    proposals_.emplace(index, Proposal{term, std::move(done), deadlineMs});
}

void ProposalTracker::applied(raft::Index index, raft::Term term, raft::Index appliedUpTo) {
    auto range = proposals_.equal_range(index);
    std::vector<Proposal> answered;
    for (auto it = range.first; it != range.second; ++it)
        answered.push_back(std::move(it->second));
    proposals_.erase(range.first, range.second);
    std::vector<std::function<void(bool)>> ready;
    while (!waiters_.empty() && waiters_.begin()->first <= appliedUpTo) {
        ready.push_back(std::move(waiters_.begin()->second.cb));
        waiters_.erase(waiters_.begin());
    }
    for (auto& p : answered) {
        ProposeOutcome o;
        if (p.term == term) {
            o.code = ProposeOutcome::Code::Committed;
            o.term = term;
            o.index = index;
        } else {
            o.code = ProposeOutcome::Code::Failed;
            o.error = QStringLiteral("entry was replaced by a new leader");
        }
        p.done(o);
    }
    for (auto& cb : ready)
        cb(true);
}

void ProposalTracker::whenApplied(raft::Index index, raft::Index appliedUpTo, std::function<void(bool)> cb,
                                  qint64 deadlineMs) {
    if (appliedUpTo >= index) {
        cb(true);
        return;
    }
    waiters_.emplace(index, Waiter{std::move(cb), deadlineMs});
}

std::uint64_t ProposalTracker::forwarded(raft::NodeId leader, Done done) {
    const std::uint64_t key = nextKey_++;
    forwards_.emplace(key, Forward{leader, std::move(done)});
    return key;
}

bool ProposalTracker::forwardAnswered(std::uint64_t key, ProposeOutcome outcome) {
    auto it = forwards_.find(key);
    if (it == forwards_.end()) return false;
    Done done = std::move(it->second.done);
    forwards_.erase(it);
    done(std::move(outcome));
    return true;
}

void ProposalTracker::leaderChanged(raft::NodeId oldLeader) {
    std::vector<Done> failed;
    for (auto it = forwards_.begin(); it != forwards_.end();) {
        if (it->second.leader == oldLeader) {
            failed.push_back(std::move(it->second.done));
            it = forwards_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& done : failed)
        done({ProposeOutcome::Code::NoLeader, 0, 0, QStringLiteral("the leader changed before answering")});
}

void ProposalTracker::sweep(qint64 nowMs) {
    std::vector<std::pair<Done, qint64>> late;
    for (auto it = proposals_.begin(); it != proposals_.end();) {
        if (it->second.deadlineMs <= nowMs) {
            late.emplace_back(std::move(it->second.done), it->second.deadlineMs);
            it = proposals_.erase(it);
        } else {
            ++it;
        }
    }
    std::vector<std::function<void(bool)>> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->second.deadlineMs <= nowMs) {
            expired.push_back(std::move(it->second.cb));
            it = waiters_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [done, deadline] : late)
        done({ProposeOutcome::Code::Failed, 0, 0, QStringLiteral("not committed in time")});
    for (auto& cb : expired)
        cb(false);
}

}  // namespace raftwc::node
