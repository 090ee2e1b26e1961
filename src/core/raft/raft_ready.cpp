// RaftCore, the interface to the application: Ready (sync and async storage writes), status snapshots and
// the invariant checks.
#include <algorithm>
#include <stdexcept>

#include "raft/raft.h"
#include "raft/raft_internal.h"

namespace raftwc::raft {

using detail::ccTypeName;
using detail::kNoLimit;
using detail::str;

// ---- Ready -------------------------------------------------------------------------------------------

bool RaftCore::hasReady() const {
    if (!msgs_.empty()) return true;
    if (const auto& ps = log_.pendingSnapshot(); ps && ps->meta.index != snapHandedTo_) return true;
    if (hardState() != prevHardState_) return true;
    if (!log_.unstableEntries().empty() && std::max(handedTo_ + 1, log_.unstableOffset()) <= log_.lastIndex())
        return true;
    return applicableTo() > applyingTo_;
}

Index RaftCore::applicableTo() const {
    // Async writes: an entry is applied only once it is durable here too (etcd does the same), so that a
    // restart never finds the state machine ahead of the log.
    return cfg_.asyncStorageWrites ? std::min(log_.committed(), log_.stableLastIndex()) : log_.committed();
}

Ready RaftCore::ready() {
    if (readyOutstanding_)
        throw std::logic_error("RawNode::ready() called again before advance() for the previous Ready");
    Ready rd;
    const HardState hs = hardState();
    if (hs != prevHardState_) {
        rd.hardState = hs;
        rd.mustSync = hs.term != prevHardState_.term || hs.vote != prevHardState_.vote;
        prevHardState_ = hs;
    }
    if (const auto& ps = log_.pendingSnapshot(); ps && ps->meta.index != snapHandedTo_) {
        rd.snapshot = *ps;
        snapHandedTo_ = ps->meta.index;
        rd.mustSync = true;
        // Entries up to the snapshot are in its state: they are never handed out to apply.
        applyingTo_ = std::max(applyingTo_, ps->meta.index);
    }
    const auto& un = log_.unstableEntries();
    const Index from = std::max(handedTo_ + 1, log_.unstableOffset());
    if (!un.empty() && from <= log_.lastIndex()) {
        rd.entries.assign(un.begin() + static_cast<std::ptrdiff_t>(from - log_.unstableOffset()), un.end());
        handedTo_ = log_.lastIndex();
        rd.mustSync = true;
    }
    if (cfg_.asyncStorageWrites) {
        if (rd.snapshot || rd.hardState || !rd.entries.empty()) {
            PendingWrite w;
            w.token = nextWriteToken_++;
            if (rd.snapshot) w.snapshot = rd.snapshot->meta.index;
            if (!rd.entries.empty()) {
                w.index = rd.entries.back().index;
                w.term = rd.entries.back().term;
            }
            w.termOrVote = rd.hardState && rd.mustSync;
            rd.persistToken = w.token;
            pendingWrites_.push_back(w);
        }
        // While a new term or vote is not durable, nothing leaves: a crash could make this node forget
        // the term it spoke for (and vote again in it). Otherwise only answers that describe the write wait.
        const bool termInFlight = std::any_of(pendingWrites_.begin(), pendingWrites_.end(),
                                              [](const PendingWrite& w) { return w.termOrVote; });
        for (Message& m : msgs_) {
            const bool describesWrite = m.type == MessageType::AppendResp ||
                                        m.type == MessageType::VoteResp || m.type == MessageType::PreVoteResp;
            (termInFlight || describesWrite ? rd.messagesAfterPersist : rd.messages).push_back(std::move(m));
        }
    } else {
        rd.messages = std::move(msgs_);
    }
    msgs_.clear();
    if (applicableTo() > applyingTo_) {
        Index lo = applyingTo_ + 1;
        const Index hi = applicableTo() + 1;
        while (lo < hi) {
            auto part = log_.entries(lo, hi, kNoLimit);
            if (part.empty()) break;
            lo = part.back().index + 1;
            rd.committedEntries.insert(rd.committedEntries.end(), std::make_move_iterator(part.begin()),
                                       std::make_move_iterator(part.end()));
        }
        applyingTo_ = hi - 1;
    }
    readyOutstanding_ = true;
    return rd;
}

void RaftCore::advance() {
    if (!readyOutstanding_) return;
    readyOutstanding_ = false;
    if (!cfg_.asyncStorageWrites) log_.stableSnapTo(snapHandedTo_);
    if (!cfg_.asyncStorageWrites && handedTo_ >= log_.unstableOffset())
        log_.stableTo(handedTo_, log_.termOrZero(handedTo_));
    log_.appliedTo(applyingTo_);
    updateSelfProgress();
}

void RaftCore::persisted(std::uint64_t token) {
    if (token == 0) return;
    if (!cfg_.asyncStorageWrites) throw std::logic_error("RawNode::persisted() without asyncStorageWrites");
    if (pendingWrites_.empty() || pendingWrites_.front().token != token)
        throw std::logic_error("RawNode::persisted(" + std::to_string(token) +
                               "): writes must be reported in the order of their Readys");
    const PendingWrite w = pendingWrites_.front();
    pendingWrites_.pop_front();
    // A later Ready may already have replaced these entries (a conflict): then only that one's write makes
    // them stable (stableTo checks the term).
    if (w.snapshot > 0) log_.stableSnapTo(w.snapshot);
    if (w.index > 0) log_.stableTo(w.index, w.term);
    updateSelfProgress();
}

// ---- status ------------------------------------------------------------------------------------------

Status RaftCore::status() const {
    Status s;
    s.id = id_;
    s.role = role_;
    s.term = term_;
    s.vote = vote_;
    s.leader = lead_;
    s.commit = log_.committed();
    s.applied = log_.applied();
    s.lastIndex = log_.lastIndex();
    s.lastTerm = log_.lastTerm();
    s.snapshotIndex = log_.firstIndex() - 1;
    s.conf = conf();
    s.leadTransferee = leadTransferee_;
    s.electionsStarted = electionsStarted_;
    if (role_ == Role::Leader) {
        for (const auto& [pid, pr] : prs_) {
            ProgressStatus p;
            p.id = pid;
            p.match = pr.match;
            p.next = pr.next;
            p.voter = !pr.learner;
            p.probing = pr.state != Progress::State::Replicate;
            p.pendingSnapshot = pr.pendingSnapshot;
            p.recentActive = pr.recentActive;
            p.inflightBytes = pr.inflightBytes;
            p.inflightMsgs = static_cast<std::uint32_t>(pr.inflights.size());
            s.progress.push_back(p);
        }
    }
    return s;
}

// ---- invariants --------------------------------------------------------------------------------------

void RaftCore::checkInvariants() const {
    auto fail = [&](const std::string& what) {
        throw std::logic_error("raft invariant violated on node " + idStr(id_) + " (term " + str(term_) +
                               ", role " + std::string(toString(role_)) + "): " + what);
    };
    const Index last = log_.lastIndex();
    if (log_.committed() > last) fail("commit " + str(log_.committed()) + " > last index " + str(last));
    if (log_.applied() > log_.committed()) fail("applied > commit");
    if (applyingTo_ < log_.applied() || applyingTo_ > log_.committed()) fail("applying index out of range");
    if (term_ < lastCheckedTerm_) fail("term went backwards from " + str(lastCheckedTerm_));
    if (log_.committed() < lastCheckedCommit_) fail("commit went backwards from " + str(lastCheckedCommit_));
    lastCheckedTerm_ = term_;
    lastCheckedCommit_ = log_.committed();

    // Compaction: the application compacts only what it has applied (a snapshot past that would hold
    // state it does not have, or entries not yet committed).
    if (storage_.firstIndex() - 1 > std::max(log_.applied(), applyingTo_))
        fail("storage compacted up to " + str(storage_.firstIndex() - 1) + ", past the applied index " +
             str(log_.applied()));
    if (const auto& ps = log_.pendingSnapshot();
        ps && (ps->meta.index > log_.committed() || log_.unstableOffset() != ps->meta.index + 1))
        fail("received snapshot " + str(ps->meta.index) + " is past commit or not where the log resumes");

    // Unstable buffer.
    const auto& un = log_.unstableEntries();
    if (log_.unstableOffset() < storage_.firstIndex())
        fail("unstable offset below the storage's first index");
    if (log_.unstableOffset() > storage_.lastIndex() + 1 && !readyOutstanding_ && pendingWrites_.empty() &&
        !log_.pendingSnapshot())
        fail("unstable offset " + str(log_.unstableOffset()) + " leaves a gap after storage last index " +
             str(storage_.lastIndex()));
    Term prevTerm = log_.termOrZero(log_.unstableOffset() - 1);
    for (std::size_t k = 0; k < un.size(); ++k) {
        if (un[k].index != log_.unstableOffset() + k) fail("unstable entries are not consecutive");
        if (un[k].term < prevTerm) fail("log terms decrease at index " + str(un[k].index));
        prevTerm = un[k].term;
    }
    if (log_.lastTerm() > term_) fail("last log term " + str(log_.lastTerm()) + " > current term");
    if (log_.termOrZero(log_.committed()) > term_) fail("committed entry from a future term");

    // Roles.
    if ((lead_ == id_) != (role_ == Role::Leader)) fail("leader field and role disagree");
    if (role_ == Role::Candidate && vote_ != id_) fail("candidate has not voted for itself");
    if (role_ != Role::Leader && (!prs_.empty() || leadTransferee_ != kNoNode))
        fail("non-leader holds replication progress or a transfer");
    if (role_ == Role::Leader) {
        if (vote_ != id_) fail("leader has not voted for itself in its term");
        if (log_.lastTerm() != term_) fail("leader's last entry is not of its own term (missing NoOp)");
        const ConfState& cs = conf();
        std::size_t members = 0;
        for (const auto& [pid, pr] : prs_) {
            if (!cs.contains(pid)) fail("progress for non-member " + idStr(pid));
            ++members;
            if (pr.match >= pr.next) fail("match >= next for " + idStr(pid));
            if (pr.next > last + 1) fail("next past last index + 1 for " + idStr(pid));
            if (pr.learner != cs.isLearner(pid)) fail("progress learner flag wrong for " + idStr(pid));
            if (pr.inflights.size() > cfg_.maxInflightMsgs)
                fail("too many messages in flight to " + idStr(pid));
            if (pr.inflightBytes > cfg_.maxInflightBytes && pr.inflights.size() > 1)
                fail("too many bytes in flight to " + idStr(pid));
            if (pr.state != Progress::State::Replicate && !pr.inflights.empty())
                fail("inflights outside Replicate state");
            if ((pr.state == Progress::State::Snapshot) != (pr.pendingSnapshot > 0))
                fail("pending snapshot without Snapshot state, or the reverse, for " + idStr(pid));
        }
        if (members != cs.voters.size() + cs.learners.size())
            fail("progress set differs from the configuration");
        if (auto it = prs_.find(id_); it != prs_.end() && it->second.match > log_.stableLastIndex())
            fail("leader counts an unpersisted entry of its own");
        if (leadTransferee_ != kNoNode && !cs.isVoter(leadTransferee_))
            fail("transfer target is not a voter");
    }
    // Configuration.
    for (const auto& [idx, cs] : confHistory_) {
        if (!std::is_sorted(cs.voters.begin(), cs.voters.end()) ||
            !std::is_sorted(cs.learners.begin(), cs.learners.end()))
            fail("configuration lists not sorted");
        for (NodeId v : cs.voters)
            if (cs.isLearner(v)) fail("node " + str(v) + " is both voter and learner");
        if (idx > last) fail("configuration from an entry past the end of the log");
    }
    if (confHistory_.size() > 1 && log_.termOrZero(confHistory_.back().first) == 0 &&
        confHistory_.back().first >= log_.firstIndex())
        fail("configuration entry missing from the log");
}

}  // namespace raftwc::raft
