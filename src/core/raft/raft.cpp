#include "raft/raft.h"

#include "raft/raft_internal.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace raftwc::raft {

using detail::ccTypeName;
using detail::kNoLimit;
using detail::str;

std::string RaftCore::idStr(NodeId id) const {
    return cfg_.idToString ? cfg_.idToString(id) : str(id);
}

std::string RaftCore::confStr(const ConfState& cs) const {
    std::string s = "voters {";
    for (std::size_t i = 0; i < cs.voters.size(); ++i)
        s += (i ? ", " : "") + idStr(cs.voters[i]);
    s += "} learners {";
    for (std::size_t i = 0; i < cs.learners.size(); ++i)
        s += (i ? ", " : "") + idStr(cs.learners[i]);
    return s + "}";
}

// ---- construction ---------------------------------------------------------------------------------

RaftCore::RaftCore(const Config& config, const Storage& storage)
    : cfg_(config), id_(config.id), log_(storage), storage_(storage) {
    if (id_ == kNoNode) throw std::invalid_argument("raft::Config: id must not be 0");
    if (cfg_.electionTicksMin < 1 || cfg_.electionTicksMax < cfg_.electionTicksMin)
        throw std::invalid_argument("raft::Config: need 1 <= electionTicksMin <= electionTicksMax");
    if (cfg_.heartbeatTicks < 1 || cfg_.heartbeatTicks >= cfg_.electionTicksMin)
        throw std::invalid_argument("raft::Config: need 1 <= heartbeatTicks < electionTicksMin");
    if (cfg_.maxInflightMsgs < 1) throw std::invalid_argument("raft::Config: maxInflightMsgs must be >= 1");
    if (cfg_.maxInflightBytes < 1) throw std::invalid_argument("raft::Config: maxInflightBytes must be >= 1");
    // Private PRNG (splitmix64), seeded from the configured seed and the node id so that nodes given
    // the same seed still draw different timeouts.
    rng_ = cfg_.seed ^ (id_ * 0x9E3779B97F4A7C15ull);

    const HardState hs = storage_.hardState();
    term_ = hs.term;
    vote_ = hs.vote;
    if (log_.lastTerm() > term_) {
        // Entries were persisted without the hard state of their term (a storage that does not write
        // both atomically). Never run with a term below the log's: adopt it, with no vote.
        log(LogLevel::Warning,
            who() + " stored term is below the last log term " + str(log_.lastTerm()) + "; adopting it");
        term_ = log_.lastTerm();
        vote_ = kNoNode;
    }
    confHistory_.emplace_back(storage_.firstIndex() - 1, storage_.baseConfState());
    onConfEntries(storage_.confEntries());
    // A compacted log: everything up to the snapshot is committed and in the application's state.
    const Index snapIndex = storage_.firstIndex() - 1;
    Index commit = std::max(hs.commit, snapIndex);
    if (commit > log_.lastIndex()) {
        // Only lost durable data can explain this: a commit index is stored after the entries it covers.
        throw std::runtime_error("raft: stored commit index " + str(commit) +
                                 " is past the last stored entry " + str(log_.lastIndex()) +
                                 ": committed entries are missing from the log; refusing to start (restore "
                                 "the data directory from a backup, or wipe it so the node rejoins as new)");
    }
    log_.setCommitted(commit);
    noteConfInForce();
    if (cfg_.applied > commit)
        throw std::invalid_argument("raft::Config: applied " + str(cfg_.applied) + " is past commit " +
                                    str(commit));
    log_.appliedTo(std::max(cfg_.applied, snapIndex));
    applyingTo_ = log_.applied();
    // Compared with what Storage holds, so that an adopted log term or a clamped commit index goes out
    // in the first Ready and the disk agrees with status().
    prevHardState_ = hs;
    handedTo_ = log_.stableLastIndex();
    becomeFollower(term_, kNoNode);
    lastCheckedTerm_ = term_;
    lastCheckedCommit_ = commit;
    log(LogLevel::Info, who() + " started: last index " + str(log_.lastIndex()) + ", commit " + str(commit) +
                            (snapIndex > 0 ? ", snapshot at " + str(snapIndex) : std::string()) + ", " +
                            confStr(conf()));
}

bool RaftCore::bootstrap(const std::vector<NodeId>& voters) {
    if (storage_.lastIndex() != 0 || !storage_.hardState().empty() || log_.lastIndex() != 0 || term_ != 0)
        return false;
    if (voters.empty()) return false;
    std::vector<Entry> ents;
    ConfState check;
    for (NodeId v : voters) {
        ConfChange cc{ConfChangeType::AddVoter, v, {}};
        if (!applyConfChange(check, cc)) return false;  // 0 or duplicate id
        ents.push_back(Entry{1, ents.size() + 1, EntryType::ConfChange, encodeConfChange(cc)});
    }
    becomeFollower(1, kNoNode);
    appendEntries(ents);
    log_.commitTo(ents.size());
    noteConfInForce();
    log(LogLevel::Info, who() + " bootstrapped a new cluster: " + confStr(conf()));
    return true;
}

// ---- helpers ----------------------------------------------------------------------------------------

std::uint64_t RaftCore::nextRandom() {
    std::uint64_t z = (rng_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void RaftCore::log(LogLevel level, const std::string& text) const {
    if (cfg_.logger) cfg_.logger(level, text);
}

std::string RaftCore::who() const {
    return "raft " + idStr(id_) + " [term " + str(term_) + "]";
}

void RaftCore::resetRandomizedTimeout() {
    const auto span = static_cast<std::uint64_t>(cfg_.electionTicksMax - cfg_.electionTicksMin) + 1;
    randomizedTimeout_ = cfg_.electionTicksMin + static_cast<int>(nextRandom() % span);
}

bool RaftCore::inLease() const {
    return cfg_.checkQuorum && lead_ != kNoNode && electionElapsed_ < cfg_.electionTicksMin;
}

void RaftCore::send(Message m) {
    m.from = id_;
    if (m.type != MessageType::PreVote && m.type != MessageType::PreVoteResp) m.term = term_;
    // Answers tell the leader what this node knows to be committed (maybeStepDownRemoved).
    if (m.type == MessageType::AppendResp || m.type == MessageType::HeartbeatResp)
        m.commit = log_.committed();
    msgs_.push_back(std::move(m));
}

// ---- roles -----------------------------------------------------------------------------------------

void RaftCore::reset(Term term) {
    if (term != term_) {
        log(LogLevel::Info, who() + " moves to term " + str(term));
        term_ = term;
        vote_ = kNoNode;
        // Messages of older terms still in the outbox are obsolete (they may describe log entries this
        // node is about to truncate): drop them, as the network could.
        std::erase_if(msgs_, [term](const Message& m) { return m.term < term; });
    }
    lead_ = kNoNode;
    electionElapsed_ = 0;
    heartbeatElapsed_ = 0;
    resetRandomizedTimeout();
    abortLeaderTransfer();
    votes_.clear();
    prs_.clear();
}

void RaftCore::becomeFollower(Term term, NodeId lead) {
    reset(term);
    role_ = Role::Follower;
    lead_ = lead;
}

void RaftCore::becomeLeader() {
    reset(term_);
    role_ = Role::Leader;
    lead_ = id_;
    syncProgressWithConf();
    // pendingConfIndex_: the last ConfChange in the log, committed or not.
    pendingConfIndex_ = confHistory_.size() > 1 ? confHistory_.back().first : 0;
    log(LogLevel::Info, who() + " became leader (" + confStr(conf()) + ")");
    Index idx = 0;
    appendAsLeader(EntryType::NoOp, {}, &idx);
    bcastAppend();
}

// ---- ticks -----------------------------------------------------------------------------------------

void RaftCore::tick() {
    if (role_ == Role::Leader)
        tickHeartbeat();
    else
        tickElection();
}

void RaftCore::tickElection() {
    ++electionElapsed_;
    if (promotable() && electionElapsed_ >= randomizedTimeout_) {
        electionElapsed_ = 0;
        campaign();
    }
}

void RaftCore::tickHeartbeat() {
    ++heartbeatElapsed_;
    ++electionElapsed_;
    if (electionElapsed_ >= cfg_.electionTicksMin) {
        electionElapsed_ = 0;
        if (cfg_.checkQuorum) {
            std::size_t active = 0;
            for (NodeId v : conf().voters) {
                if (v == id_) {
                    ++active;
                    continue;
                }
                auto it = prs_.find(v);
                if (it != prs_.end() && it->second.recentActive) ++active;
            }
            for (auto& [pid, pr] : prs_)
                if (pid != id_) pr.recentActive = false;
            if (active < conf().voters.size() / 2 + 1) {
                log(LogLevel::Warning, who() +
                                           " has not heard from a quorum within an election timeout; "
                                           "stepping down");
                becomeFollower(term_, kNoNode);
                return;
            }
        }
        if (leadTransferee_ != kNoNode) {
            log(LogLevel::Info,
                who() + " aborts leadership transfer to " + idStr(leadTransferee_) + " (timed out)");
            abortLeaderTransfer();
        }
    }
    tickSnapshots();
    if (heartbeatElapsed_ >= cfg_.heartbeatTicks) {
        heartbeatElapsed_ = 0;
        bcastHeartbeat();
    }
}

// ---- step ------------------------------------------------------------------------------------------

void RaftCore::step(const Message& m) {
    if (m.to != id_ || m.from == kNoNode || m.from == id_ || m.term == 0) return;

    const bool isVoteReq = m.type == MessageType::Vote || m.type == MessageType::PreVote;
    if (isVoteReq) learnCommit(m);
    if (m.term > term_) {
        if (isVoteReq && !m.transfer && inLease()) {
            log(LogLevel::Info, who() + " ignores " + std::string(toString(m.type)) + " from " +
                                    idStr(m.from) + " for term " + str(m.term) + ": leader " + idStr(lead_) +
                                    " was heard from within the election timeout");
            emitEvent({ElectionEvent::Kind::Vote,
                       m.type == MessageType::PreVote,
                       m.from,
                       m.term,
                       false,
                       "leader " + idStr(lead_) + " is alive (heard within the election timeout)",
                       {}});
            return;
        }
        if (m.type == MessageType::PreVote) {
            // Never change term on a pre-vote request.
        } else if (m.type == MessageType::PreVoteResp && !m.reject) {
            // The granted pre-vote carries the future term; ours changes when we campaign.
        } else if (m.type == MessageType::Append || m.type == MessageType::Heartbeat ||
                   m.type == MessageType::Snapshot) {
            becomeFollower(m.term, m.from);
        } else {
            becomeFollower(m.term, kNoNode);
        }
    } else if (m.term < term_) {
        if ((cfg_.checkQuorum || cfg_.preVote) &&
            (m.type == MessageType::Append || m.type == MessageType::Heartbeat ||
             m.type == MessageType::Snapshot)) {
            // A stale leader (e.g. back from a partition): tell it the current term so it steps down.
            Message r;
            r.type = MessageType::AppendResp;
            r.to = m.from;
            send(std::move(r));
        } else if (m.type == MessageType::PreVote) {
            Message r;
            r.type = MessageType::PreVoteResp;
            r.to = m.from;
            r.term = term_;
            r.reject = true;
            send(std::move(r));
        }
        if (isVoteReq)
            emitEvent({ElectionEvent::Kind::Vote,
                       m.type == MessageType::PreVote,
                       m.from,
                       m.term,
                       false,
                       "stale term (ours is " + std::to_string(term_) + ")",
                       {}});
        return;
    }

    if (isVoteReq) {
        handleVoteRequest(m);
        return;
    }
    switch (role_) {
        case Role::Follower:
            stepFollower(m);
            break;
        case Role::PreCandidate:
        case Role::Candidate:
            stepCandidate(m);
            break;
        case Role::Leader:
            stepLeader(m);
            break;
    }
}

void RaftCore::learnCommit(const Message& m) {
    // A commitment is a fact about (index, term), true whatever the sender's role or term: if our entry at
    // m.commit has the term the candidate's has, our log agrees with its committed prefix (Log Matching).
    if (m.commit <= log_.committed() || m.commitTerm == 0 || !log_.matchTerm(m.commit, m.commitTerm)) return;
    log(LogLevel::Info, who() + " learns from " + idStr(m.from) + " that entry " + str(m.commit) + " (term " +
                            str(m.commitTerm) + ") is committed");
    log_.commitTo(m.commit);
    noteConfInForce();
}

bool RaftCore::validAppend(const Message& m) const {
    Index expect = m.index + 1;
    Term prevTerm = m.logTerm;
    for (const Entry& e : m.entries) {
        if (e.index != expect++ || e.term < prevTerm || e.term > m.term) return false;
        if (e.type != EntryType::Normal && e.type != EntryType::NoOp && e.type != EntryType::ConfChange)
            return false;
        prevTerm = e.term;
    }
    return m.logTerm <= m.term;
}

void RaftCore::stepFollower(const Message& m) {
    switch (m.type) {
        case MessageType::Append:
            electionElapsed_ = 0;
            lead_ = m.from;
            handleAppend(m);
            break;
        case MessageType::Heartbeat:
            electionElapsed_ = 0;
            lead_ = m.from;
            handleHeartbeat(m);
            break;
        case MessageType::Snapshot:
            electionElapsed_ = 0;
            lead_ = m.from;
            handleSnapshot(m);
            break;
        case MessageType::TimeoutNow:
            if (promotable()) {
                log(LogLevel::Info, who() + " received TimeoutNow from " + idStr(m.from) +
                                        "; campaigning for leadership transfer");
                hup(CampaignKind::Transfer);
            }
            break;
        default:
            break;
    }
}

void RaftCore::stepLeader(const Message& m) {
    switch (m.type) {
        case MessageType::AppendResp:
            handleAppendResp(m);
            break;
        case MessageType::HeartbeatResp:
            handleHeartbeatResp(m);
            break;
        default:
            break;
    }
}

void RaftCore::handleAppend(const Message& m) {
    Message r;
    r.type = MessageType::AppendResp;
    r.to = m.from;
    if (!validAppend(m)) {
        log(LogLevel::Warning, who() + " drops a malformed Append from " + idStr(m.from));
        return;
    }
    if (m.index < log_.committed()) {
        r.index = log_.committed();
        send(std::move(r));
        return;
    }
    if (log_.matchTerm(m.index, m.logTerm)) {
        const Index lastNew = m.index + m.entries.size();
        const Index ci = log_.findConflict(m.entries);
        if (ci != 0) {
            if (ci <= log_.committed()) {
                // Only a broken or malicious sender can do this: never truncate committed entries.
                log(LogLevel::Error, who() + " drops an Append from " + idStr(m.from) + ": entry " + str(ci) +
                                         " conflicts with a committed entry");
                return;
            }
            appendEntries(std::vector<Entry>(
                m.entries.begin() + static_cast<std::ptrdiff_t>(ci - m.index - 1), m.entries.end()));
        }
        log_.commitTo(std::min(m.commit, lastNew));
        noteConfInForce();
        r.index = lastNew;
        send(std::move(r));
        return;
    }
    // Reject with a hint for fast backtracking (etcd's findConflictByTerm).
    const auto [hintIndex, hintTerm] =
        log_.findConflictByTerm(std::min(m.index, log_.lastIndex()), m.logTerm);
    r.reject = true;
    r.index = m.index;
    r.rejectHint = hintIndex;
    r.rejectHintTerm = hintTerm;
    send(std::move(r));
}

void RaftCore::handleHeartbeat(const Message& m) {
    log_.commitTo(std::min(m.commit, log_.lastIndex()));
    noteConfInForce();
    Message r;
    r.type = MessageType::HeartbeatResp;
    r.to = m.from;
    send(std::move(r));
}

void RaftCore::handleAppendResp(const Message& m) {
    auto it = prs_.find(m.from);
    if (it == prs_.end()) return;
    Progress& pr = it->second;
    pr.recentActive = true;
    if (m.commit <= log_.committed()) pr.commitKnown = std::max(pr.commitKnown, m.commit);
    maybeStepDownRemoved();
    if (role_ != Role::Leader) return;
    if (m.index > log_.lastIndex()) return;  // malformed
    if (m.reject) {
        Index next = m.rejectHint;
        if (m.rejectHintTerm > 0) next = log_.findConflictByTerm(m.rejectHint, m.rejectHintTerm).first;
        if (pr.maybeDecrTo(m.index, next)) maybeSendAppend(m.from, true);
        return;
    }
    if (pr.maybeUpdate(m.index) || (pr.state == Progress::State::Probe && pr.match == m.index)) {
        if (pr.state == Progress::State::Snapshot) {
            // Installed (or caught up some other way): replicate from its answer on if the log still
            // holds what follows; else the next send makes a newer snapshot.
            if (pr.match >= pr.pendingSnapshot || pr.match + 1 >= log_.firstIndex()) pr.becomeReplicate();
        } else if (pr.state == Progress::State::Probe) {
            pr.becomeReplicate();
        } else {
            pr.freeLE(m.index);
        }
        if (maybeCommit()) {
            afterCommit();
            if (role_ != Role::Leader) return;
            bcastAppend();
        } else {
            while (maybeSendAppend(m.from, false)) {
            }
        }
        if (m.from == leadTransferee_ && prs_.count(m.from) && prs_[m.from].match == log_.lastIndex()) {
            log(LogLevel::Info, who() + " sends TimeoutNow to " + idStr(m.from) + " (caught up)");
            sendTimeoutNow(m.from);
        }
        maybePromoteLearners();
    } else if (pr.state == Progress::State::Replicate) {
        pr.freeLE(m.index);
    }
}

void RaftCore::handleHeartbeatResp(const Message& m) {
    auto it = prs_.find(m.from);
    if (it == prs_.end()) return;
    Progress& pr = it->second;
    pr.recentActive = true;
    if (m.commit <= log_.committed()) pr.commitKnown = std::max(pr.commitKnown, m.commit);
    maybeStepDownRemoved();
    if (role_ != Role::Leader) return;
    if (pr.state == Progress::State::Snapshot) {
        // Its commit index covers the snapshot: installed, and the answer was lost.
        if (m.commit < pr.pendingSnapshot || m.commit > log_.committed()) return;
        pr.snapshotDone();
    }
    pr.probeSent = false;
    // An answer to a heartbeat from a member that is behind frees one in-flight slot: Appends lost on the
    // way must not hold the window shut for ever, whether it is full by count, by bytes, or too full for
    // the next entry (found by the simulation with small flow-control limits).
    if (pr.state == Progress::State::Replicate && !pr.inflights.empty() && pr.match < log_.lastIndex())
        pr.freeFirst();
    if (pr.match < log_.lastIndex()) maybeSendAppend(m.from, true);
}

// ---- proposals ---------------------------------------------------------------------------------------

ProposeResult RaftCore::propose(std::string data) {
    ProposeResult r;
    r.leaderHint = lead_;
    if (role_ != Role::Leader) return r;
    if (leadTransferee_ != kNoNode || !prs_.count(id_)) {
        r.code = ProposeResult::Code::Dropped;
        return r;
    }
    Index idx = 0;
    appendAsLeader(EntryType::Normal, std::move(data), &idx);
    bcastAppend();
    r.code = ProposeResult::Code::Ok;
    r.term = term_;
    r.index = idx;
    return r;
}

ProposeResult RaftCore::proposeConfChange(const ConfChange& cc) {
    ProposeResult r;
    r.leaderHint = lead_;
    if (role_ != Role::Leader) return r;
    if (leadTransferee_ != kNoNode || !prs_.count(id_)) {
        r.code = ProposeResult::Code::Dropped;
        return r;
    }
    r.code = ProposeResult::Code::ConfChangePending;
    if (confChangePending() || !ownTermCommitted()) {
        log(LogLevel::Info, who() + " refuses " + std::string(ccTypeName(cc.type)) + " " + idStr(cc.node) +
                                ": a configuration change is pending or no entry of this term is committed");
        return r;
    }
    ConfState next = conf();
    if (cc.type == ConfChangeType::AddVoter || !applyConfChange(next, cc) || next.voters.empty()) {
        log(LogLevel::Info, who() + " refuses " + std::string(ccTypeName(cc.type)) + " " + idStr(cc.node) +
                                ": invalid for " + confStr(conf()));
        return r;
    }
    Index idx = 0;
    appendAsLeader(EntryType::ConfChange, encodeConfChange(cc), &idx);
    pendingConfIndex_ = idx;
    if (role_ == Role::Leader) bcastAppend();
    r.code = ProposeResult::Code::Ok;
    r.term = term_;
    r.index = idx;
    return r;
}

bool RaftCore::transferLeadership(NodeId to) {
    if (role_ != Role::Leader || to == id_ || !conf().isVoter(to) || !prs_.count(to)) return false;
    if (leadTransferee_ == to) return true;
    leadTransferee_ = to;
    electionElapsed_ = 0;  // the transfer is aborted after one election timeout
    log(LogLevel::Info, who() + " starts leadership transfer to " + idStr(to));
    if (prs_[to].match == log_.lastIndex())
        sendTimeoutNow(to);
    else
        maybeSendAppend(to, true);
    return true;
}

}  // namespace raftwc::raft
