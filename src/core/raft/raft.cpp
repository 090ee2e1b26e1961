#include "raft/raft.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace raftwc::raft {

namespace {

std::string str(std::uint64_t v) {
    return std::to_string(v);
}

std::string_view ccTypeName(ConfChangeType t) {
    switch (t) {
        case ConfChangeType::AddLearner:
            return "add learner";
        case ConfChangeType::PromoteLearner:
            return "promote learner";
        case ConfChangeType::RemoveNode:
            return "remove node";
        case ConfChangeType::AddVoter:
            return "add voter";
    }
    return "unknown change";
}

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

}  // namespace

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
    Index commit = hs.commit;
    if (commit > log_.lastIndex()) {
        // Only lost durable data can explain this: a commit index is stored after the entries it covers.
        throw std::runtime_error("raft: stored commit index " + str(commit) +
                                 " is past the last stored entry " + str(log_.lastIndex()) +
                                 ": committed entries are missing from the log; refusing to start (restore "
                                 "the data directory from a backup, or wipe it so the node rejoins as new)");
    }
    log_.setCommitted(commit);
    noteConfInForce();
    if (cfg_.applied > 0) {
        if (cfg_.applied > commit)
            throw std::invalid_argument("raft::Config: applied " + str(cfg_.applied) + " is past commit " +
                                        str(commit));
        log_.appliedTo(cfg_.applied);
    }
    applyingTo_ = log_.applied();
    // Compared with what Storage holds, so that an adopted log term or a clamped commit index goes out
    // in the first Ready and the disk agrees with status().
    prevHardState_ = hs;
    handedTo_ = log_.stableLastIndex();
    becomeFollower(term_, kNoNode);
    lastCheckedTerm_ = term_;
    lastCheckedCommit_ = commit;
    log(LogLevel::Info, who() + " started: last index " + str(log_.lastIndex()) + ", commit " + str(commit) +
                            ", " + confStr(conf()));
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

void RaftCore::becomePreCandidate() {
    // Pre-vote: neither the term nor the vote changes; the leader is forgotten.
    electionElapsed_ = 0;
    heartbeatElapsed_ = 0;
    resetRandomizedTimeout();
    votes_.clear();
    prs_.clear();
    lead_ = kNoNode;
    role_ = Role::PreCandidate;
    ++electionsStarted_;
    log(LogLevel::Info, who() + " starts a pre-vote for term " + str(term_ + 1));
}

void RaftCore::becomeCandidate() {
    const bool wasPre = role_ == Role::PreCandidate;
    reset(term_ + 1);
    vote_ = id_;
    role_ = Role::Candidate;
    if (!wasPre) ++electionsStarted_;
    log(LogLevel::Info, who() + " starts an election");
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

void RaftCore::hup(CampaignKind kind) {
    if (role_ == Role::Leader) return;
    if (!promotable()) {
        log(LogLevel::Debug,
            who() + " is not a voter (latest and committed configuration) and does not campaign");
        return;
    }
    startCampaign(kind);
}

void RaftCore::startCampaign(CampaignKind kind) {
    Term voteTerm;
    MessageType type;
    if (kind == CampaignKind::PreElection) {
        becomePreCandidate();
        voteTerm = term_ + 1;
        type = MessageType::PreVote;
    } else {
        becomeCandidate();
        voteTerm = term_;
        type = MessageType::Vote;
    }
    if (poll(id_, true) == VoteResult::Won) {
        if (kind == CampaignKind::PreElection)
            startCampaign(CampaignKind::Election);
        else
            becomeLeader();
        return;
    }
    for (NodeId v : conf().voters) {
        if (v == id_) continue;
        Message m;
        m.type = type;
        m.to = v;
        m.term = voteTerm;
        m.logTerm = log_.lastTerm();
        m.index = log_.lastIndex();
        m.commit = log_.committed();
        m.commitTerm = log_.termOrZero(m.commit);
        m.transfer = kind == CampaignKind::Transfer;
        send(std::move(m));
    }
}

RaftCore::VoteResult RaftCore::poll(NodeId from, bool granted) {
    votes_.emplace(from, granted);
    std::size_t yes = 0, no = 0;
    for (NodeId v : conf().voters) {
        auto it = votes_.find(v);
        if (it == votes_.end()) continue;
        (it->second ? yes : no)++;
    }
    const std::size_t quorum = conf().voters.size() / 2 + 1;
    if (yes >= quorum) return VoteResult::Won;
    if (conf().voters.size() - no < quorum) return VoteResult::Lost;
    return VoteResult::Pending;
}

void RaftCore::campaign() {
    hup(cfg_.preVote ? CampaignKind::PreElection : CampaignKind::Election);
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
                who() + " aborts leadership transfer to " + str(leadTransferee_) + " (timed out)");
            abortLeaderTransfer();
        }
    }
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
            return;
        }
        if (m.type == MessageType::PreVote) {
            // Never change term on a pre-vote request.
        } else if (m.type == MessageType::PreVoteResp && !m.reject) {
            // The granted pre-vote carries the future term; ours changes when we campaign.
        } else if (m.type == MessageType::Append || m.type == MessageType::Heartbeat) {
            becomeFollower(m.term, m.from);
        } else {
            becomeFollower(m.term, kNoNode);
        }
    } else if (m.term < term_) {
        if ((cfg_.checkQuorum || cfg_.preVote) &&
            (m.type == MessageType::Append || m.type == MessageType::Heartbeat)) {
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

void RaftCore::handleVoteRequest(const Message& m) {
    const bool pre = m.type == MessageType::PreVote;
    const bool canVote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term > term_);
    const bool upToDate = log_.isUpToDate(m.logTerm, m.index);
    Message r;
    r.type = pre ? MessageType::PreVoteResp : MessageType::VoteResp;
    r.to = m.from;
    if (canVote && upToDate) {
        r.term = m.term;
        log(LogLevel::Info, who() + " grants " + (pre ? "pre-vote" : "vote") + " to " + idStr(m.from) +
                                " for term " + str(m.term));
        if (!pre) {
            electionElapsed_ = 0;
            vote_ = m.from;
        }
    } else {
        r.term = term_;
        r.reject = true;
        log(LogLevel::Info, who() + " refuses " + (pre ? "pre-vote" : "vote") + " to " + idStr(m.from) +
                                " for term " + str(m.term) +
                                (!upToDate ? std::string(": its log is behind")
                                 : vote_ != kNoNode && vote_ != m.from
                                     ? ": already voted for " + str(vote_)
                                     : ": leader " + idStr(lead_) + " is known in this term"));
    }
    r.from = id_;  // not send(): the granted pre-vote answer carries the requested term
    msgs_.push_back(std::move(r));
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

void RaftCore::stepCandidate(const Message& m) {
    switch (m.type) {
        case MessageType::Append:
            becomeFollower(m.term, m.from);
            handleAppend(m);
            break;
        case MessageType::Heartbeat:
            becomeFollower(m.term, m.from);
            handleHeartbeat(m);
            break;
        case MessageType::PreVoteResp:
        case MessageType::VoteResp: {
            const bool mine = (role_ == Role::PreCandidate && m.type == MessageType::PreVoteResp &&
                               (m.reject || m.term == term_ + 1)) ||
                              (role_ == Role::Candidate && m.type == MessageType::VoteResp);
            if (!mine) break;
            switch (poll(m.from, !m.reject)) {
                case VoteResult::Won:
                    if (role_ == Role::PreCandidate)
                        startCampaign(CampaignKind::Election);
                    else
                        becomeLeader();
                    break;
                case VoteResult::Lost:
                    log(LogLevel::Info,
                        who() + " lost the " + (role_ == Role::PreCandidate ? "pre-vote" : "election"));
                    becomeFollower(term_, kNoNode);
                    break;
                case VoteResult::Pending:
                    break;
            }
            break;
        }
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
        if (pr.state == Progress::State::Probe)
            pr.becomeReplicate();
        else
            pr.freeLE(m.index);
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
    pr.probeSent = false;
    // An answer to a heartbeat from a member that is behind frees one in-flight slot: Appends lost on the
    // way must not hold the window shut for ever, whether it is full by count, by bytes, or too full for
    // the next entry (found by the simulation with small flow-control limits).
    if (pr.state == Progress::State::Replicate && !pr.inflights.empty() && pr.match < log_.lastIndex())
        pr.freeFirst();
    if (pr.match < log_.lastIndex()) maybeSendAppend(m.from, true);
}

// ---- replication -------------------------------------------------------------------------------------

bool RaftCore::maybeSendAppend(NodeId to, bool sendIfEmpty) {
    if (to == id_) return false;
    auto it = prs_.find(to);
    if (it == prs_.end()) return false;
    Progress& pr = it->second;
    std::size_t budget = cfg_.maxMsgBytes;
    if (pr.state == Progress::State::Probe) {
        if (pr.probeSent) return false;
    } else {
        if (pr.inflights.size() >= cfg_.maxInflightMsgs) return false;
        if (!pr.inflights.empty()) {
            if (pr.inflightBytes >= cfg_.maxInflightBytes) return false;
            budget = std::min<std::uint64_t>(budget, cfg_.maxInflightBytes - pr.inflightBytes);
        }
    }
    const Index prev = pr.next - 1;
    const auto prevTerm = log_.term(prev);
    if (!prevTerm) {
        log(LogLevel::Error, who() + " cannot replicate to " + idStr(to) + ": entry " + str(prev) +
                                 " is compacted (snapshots are not supported)");
        return false;
    }
    std::vector<Entry> ents;
    if (pr.next <= log_.lastIndex()) ents = log_.entries(pr.next, log_.lastIndex() + 1, budget);
    if (ents.empty() && !sendIfEmpty) return false;
    std::uint64_t bytes = 0;
    for (const Entry& e : ents)
        bytes += e.data.size();
    if (pr.state == Progress::State::Replicate && !ents.empty() && !pr.inflights.empty() &&
        pr.inflightBytes + bytes > cfg_.maxInflightBytes)
        return false;  // a single oversized entry waits until nothing else is in flight

    Message m;
    m.type = MessageType::Append;
    m.to = to;
    m.index = prev;
    m.logTerm = *prevTerm;
    m.commit = log_.committed();
    if (!ents.empty()) {
        const Index last = ents.back().index;
        if (pr.state == Progress::State::Replicate) {
            pr.next = last + 1;
            pr.inflights.emplace_back(last, bytes);
            pr.inflightBytes += bytes;
        } else {
            pr.probeSent = true;
        }
    } else if (pr.state == Progress::State::Probe) {
        pr.probeSent = true;
    }
    m.entries = std::move(ents);
    send(std::move(m));
    return true;
}

void RaftCore::sendHeartbeat(NodeId to) {
    auto it = prs_.find(to);
    Message m;
    m.type = MessageType::Heartbeat;
    m.to = to;
    m.commit = std::min(log_.committed(), it == prs_.end() ? 0 : it->second.match);
    send(std::move(m));
}

void RaftCore::sendTimeoutNow(NodeId to) {
    Message m;
    m.type = MessageType::TimeoutNow;
    m.to = to;
    send(std::move(m));
}

void RaftCore::bcastAppend() {
    for (const auto& [pid, pr] : prs_)
        if (pid != id_) maybeSendAppend(pid, true);
}

void RaftCore::bcastHeartbeat() {
    for (const auto& [pid, pr] : prs_)
        if (pid != id_) sendHeartbeat(pid);
}

bool RaftCore::maybeCommit() {
    const auto& voters = conf().voters;
    if (voters.empty()) return false;
    std::vector<Index> matches;
    matches.reserve(voters.size());
    for (NodeId v : voters) {
        auto it = prs_.find(v);
        matches.push_back(it == prs_.end() ? 0 : it->second.match);
    }
    std::sort(matches.begin(), matches.end(), std::greater<>());
    const Index mci = matches[voters.size() / 2];  // the quorum-th largest
    // Figure 8: only entries of the leader's own term are committed by counting replicas.
    if (mci > log_.committed() && log_.termOrZero(mci) == term_) {
        log_.commitTo(mci);
        return true;
    }
    return false;
}

void RaftCore::afterCommit() {
    noteConfInForce();
    maybeStepDownRemoved();
    if (role_ == Role::Leader) maybePromoteLearners();
}

void RaftCore::maybeStepDownRemoved() {
    if (role_ != Role::Leader || conf().isVoter(id_)) return;
    // Until the others know the removal is committed, the old configuration (with this node) is in
    // force for them, and this node's longer log may refuse them all: keep leading until a majority of
    // the new configuration knows it AND holds this node's whole log (it appends nothing new now). Then
    // any member of that majority still connected has the newest log and the new configuration in
    // force, and can win without this node (simulation seeds 4277, 84251, 184867).
    const Index removal = confIndex();
    std::size_t know = 0;
    for (NodeId v : conf().voters)
        if (auto it = prs_.find(v);
            it != prs_.end() && it->second.commitKnown >= removal && it->second.match == log_.lastIndex())
            ++know;
    if (2 * know <= conf().voters.size()) return;
    log(LogLevel::Info,
        who() + " is no longer a voter and a majority knows the removal is committed; stepping down");
    becomeFollower(term_, kNoNode);
}

void RaftCore::updateSelfProgress() {
    if (role_ != Role::Leader) return;
    auto it = prs_.find(id_);
    if (it == prs_.end()) return;
    const Index stable = std::min(log_.stableLastIndex(), log_.lastIndex());
    if (it->second.maybeUpdate(stable) && maybeCommit()) {
        afterCommit();
        if (role_ == Role::Leader) bcastAppend();
    }
}

bool RaftCore::appendAsLeader(EntryType type, std::string data, Index* index) {
    Entry e{term_, log_.lastIndex() + 1, type, std::move(data)};
    *index = e.index;
    appendEntries({std::move(e)});
    if (auto it = prs_.find(id_); it != prs_.end()) it->second.next = log_.lastIndex() + 1;
    return true;
}

void RaftCore::appendEntries(std::vector<Entry> ents) {
    if (ents.empty()) return;
    const Index after = ents.front().index;
    if (after <= log_.lastIndex()) {
        truncateConfHistory(after);
        if (handedTo_ >= after) handedTo_ = after - 1;
    }
    log_.append(ents);
    onConfEntries(ents);
    syncProgressWithConf();
}

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
            who() + " aborts leadership transfer: " + str(leadTransferee_) + " left the voters");
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
        log(LogLevel::Info, who() + " proposes to promote learner " + str(l) + " (caught up at " +
                                str(it->second.match) + ")");
        Index idx = 0;
        appendAsLeader(EntryType::ConfChange, encodeConfChange(cc), &idx);
        pendingConfIndex_ = idx;
        bcastAppend();
        return;  // one change at a time
    }
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

// ---- Ready -------------------------------------------------------------------------------------------

bool RaftCore::hasReady() const {
    if (!msgs_.empty()) return true;
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
    const auto& un = log_.unstableEntries();
    const Index from = std::max(handedTo_ + 1, log_.unstableOffset());
    if (!un.empty() && from <= log_.lastIndex()) {
        rd.entries.assign(un.begin() + static_cast<std::ptrdiff_t>(from - log_.unstableOffset()), un.end());
        handedTo_ = log_.lastIndex();
        rd.mustSync = true;
    }
    if (cfg_.asyncStorageWrites) {
        if (rd.hardState || !rd.entries.empty()) {
            PendingWrite w;
            w.token = nextWriteToken_++;
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
            p.probing = pr.state == Progress::State::Probe;
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

    // Unstable buffer.
    const auto& un = log_.unstableEntries();
    if (log_.unstableOffset() < storage_.firstIndex())
        fail("unstable offset below the storage's first index");
    if (log_.unstableOffset() > storage_.lastIndex() + 1 && !readyOutstanding_ && pendingWrites_.empty())
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
            if (pr.state == Progress::State::Probe && !pr.inflights.empty()) fail("inflights in Probe state");
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
