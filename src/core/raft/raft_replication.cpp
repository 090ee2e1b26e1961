// RaftCore, the leader's side of replication: Appends and heartbeats with flow control, the commit rule,
// a removed leader stepping down, the leader's own entries.
#include <algorithm>
#include <stdexcept>

#include "raft/raft.h"
#include "raft/raft_internal.h"

namespace raftwc::raft {

using detail::ccTypeName;
using detail::kNoLimit;
using detail::str;

// ---- replication -------------------------------------------------------------------------------------

bool RaftCore::maybeSendAppend(NodeId to, bool sendIfEmpty) {
    if (to == id_) return false;
    auto it = prs_.find(to);
    if (it == prs_.end()) return false;
    Progress& pr = it->second;
    std::size_t budget = cfg_.maxMsgBytes;
    if (pr.state == Progress::State::Snapshot) return false;
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
    if (!prevTerm || pr.next < log_.firstIndex()) return maybeSendSnapshot(to, pr);
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

}  // namespace raftwc::raft
