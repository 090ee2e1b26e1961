// RaftCore, membership: the configuration in force (once committed), its history in the log, the leader's
// progress table kept in step with it, learner promotion.
#include <algorithm>
#include <stdexcept>

#include "raft/raft.h"
#include "raft/raft_internal.h"

namespace raftwc::raft {

using detail::ccTypeName;
using detail::kNoLimit;
using detail::str;

// ---- membership -------------------------------------------------------------------------------------

const ConfState& RaftCore::confAt(Index i) const {
    for (auto it = confHistory_.rbegin(); it != confHistory_.rend(); ++it)
        if (it->first <= i) return it->second;
    return confHistory_.front().second;
}

void RaftCore::truncateConfHistory(Index from) {
    bool changed = false;
    while (confHistory_.size() > 1 && confHistory_.back().first >= from) {
        confHistory_.pop_back();
        changed = true;
    }
    if (changed)
        log(LogLevel::Info, who() + " configuration reverted (entries truncated): " + confStr(conf()));
}

void RaftCore::onConfEntries(const std::vector<Entry>& ents) {
    for (const Entry& e : ents) {
        if (e.type != EntryType::ConfChange) continue;
        if (e.index <= confHistory_.front().first) continue;  // already part of the base configuration
        auto cc = decodeConfChange(e.data);
        if (!cc) {
            log(LogLevel::Warning,
                who() + " ignores an undecodable ConfChange entry at index " + str(e.index));
            continue;
        }
        ConfState next = confHistory_.back().second;  // the latest appended, not the one in force
        if (!applyConfChange(next, *cc)) {
            log(LogLevel::Warning, who() + " ignores an invalid ConfChange at index " + str(e.index) + " (" +
                                       std::string(ccTypeName(cc->type)) + " " + idStr(cc->node) + ")");
            continue;
        }
        log(LogLevel::Info, who() + " appends membership change at index " + str(e.index) + ": " +
                                std::string(ccTypeName(cc->type)) + " " + idStr(cc->node) + " -> " +
                                confStr(next) + " (in force once committed)");
        confHistory_.emplace_back(e.index, std::move(next));
    }
    noteConfInForce();
}

void RaftCore::noteConfInForce() {
    const Index idx = confIndex();
    if (idx == confInForceIndex_) return;
    confInForceIndex_ = idx;
    log(LogLevel::Info, who() + " configuration in force (entry " + str(idx) + "): " + confStr(conf()));
    syncProgressWithConf();
    // A new configuration may already hold later entries on a majority (e.g. a removal shrinks it): count
    // again now, as etcd does when it applies a configuration, or they wait for the next entry (F10).
    if (role_ == Role::Leader && maybeCommit()) {
        afterCommit();
        if (role_ == Role::Leader) bcastAppend();
    }
}

void RaftCore::syncProgressWithConf() {
    if (role_ != Role::Leader) return;
    const ConfState& cs = conf();
    for (auto it = prs_.begin(); it != prs_.end();) {
        if (!cs.contains(it->first))
            it = prs_.erase(it);
        else
            ++it;
    }
    auto add = [&](NodeId n, bool learner) {
        auto [it, inserted] = prs_.try_emplace(n);
        it->second.learner = learner;
        if (!inserted) return;
        Progress& pr = it->second;
        pr.next = log_.lastIndex() + 1;
        pr.recentActive = true;  // do not count a new member against check-quorum right away
        if (n == id_) {
            pr.match = std::min(log_.stableLastIndex(), log_.lastIndex());
            pr.next = log_.lastIndex() + 1;
            pr.state = Progress::State::Replicate;
        }
    };
    for (NodeId v : cs.voters)
        add(v, false);
    for (NodeId l : cs.learners)
        add(l, true);
    if (leadTransferee_ != kNoNode && !cs.isVoter(leadTransferee_)) {
        log(LogLevel::Info,
            who() + " aborts leadership transfer: " + idStr(leadTransferee_) + " left the voters");
        abortLeaderTransfer();
    }
}

void RaftCore::abortLeaderTransfer() {
    leadTransferee_ = kNoNode;
}

bool RaftCore::confChangePending() const {
    return pendingConfIndex_ > log_.committed();
}

void RaftCore::maybePromoteLearners() {
    if (role_ != Role::Leader || !cfg_.autoPromoteLearners || leadTransferee_ != kNoNode) return;
    if (confChangePending() || !ownTermCommitted() || !conf().isVoter(id_)) return;
    for (NodeId l : conf().learners) {
        auto it = prs_.find(l);
        if (it == prs_.end() || it->second.match < log_.committed()) continue;
        ConfChange cc{ConfChangeType::PromoteLearner, l, {}};
        log(LogLevel::Info, who() + " proposes to promote learner " + idStr(l) + " (caught up at " +
                                str(it->second.match) + ")");
        Index idx = 0;
        appendAsLeader(EntryType::ConfChange, encodeConfChange(cc), &idx);
        pendingConfIndex_ = idx;
        bcastAppend();
        return;  // one change at a time
    }
}

}  // namespace raftwc::raft
