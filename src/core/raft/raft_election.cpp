// Elections: pre-vote and vote campaigns, counting votes, granting or refusing a vote (one per term, only
// to a candidate whose log is at least as up to date), and the candidate's reaction to messages.
#include "raft/raft.h"

#include "raft/raft_internal.h"

#include <algorithm>

namespace raftwc::raft {

using detail::str;

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
    emitEvent(
        {ElectionEvent::Kind::Campaign, kind == CampaignKind::PreElection, kNoNode, voteTerm, false, {}, {}});
    if (poll(id_, true) == VoteResult::Won) {
        emitEvent({ElectionEvent::Kind::Elected,
                   kind == CampaignKind::PreElection,
                   kNoNode,
                   voteTerm,
                   true,
                   {},
                   grantedVotes()});
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

std::vector<NodeId> RaftCore::grantedVotes() const {
    std::vector<NodeId> out;
    for (const auto& [v, granted] : votes_)
        if (granted) out.push_back(v);
    return out;
}

void RaftCore::campaign() {
    hup(cfg_.preVote ? CampaignKind::PreElection : CampaignKind::Election);
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
        emitEvent({ElectionEvent::Kind::Vote, pre, m.from, m.term, true, "granted", {}});
    } else {
        r.term = term_;
        r.reject = true;
        const std::string why =
            !upToDate ? "its log is behind (last term " + str(m.logTerm) + ", index " + str(m.index) +
                            "; ours " + str(log_.lastTerm()) + ", " + str(log_.lastIndex()) + ")"
            : vote_ != kNoNode && vote_ != m.from ? "already voted for " + idStr(vote_)
                                                  : "leader " + idStr(lead_) + " is known in this term";
        log(LogLevel::Info, who() + " refuses " + (pre ? "pre-vote" : "vote") + " to " + idStr(m.from) +
                                " for term " + str(m.term) + ": " + why);
        emitEvent({ElectionEvent::Kind::Vote, pre, m.from, m.term, false, why, {}});
    }
    r.from = id_;  // not send(): the granted pre-vote answer carries the requested term
    msgs_.push_back(std::move(r));
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
        case MessageType::Snapshot:
            becomeFollower(m.term, m.from);
            handleSnapshot(m);
            break;
        case MessageType::PreVoteResp:
        case MessageType::VoteResp: {
            const bool mine = (role_ == Role::PreCandidate && m.type == MessageType::PreVoteResp &&
                               (m.reject || m.term == term_ + 1)) ||
                              (role_ == Role::Candidate && m.type == MessageType::VoteResp);
            if (!mine) break;
            const bool pre = role_ == Role::PreCandidate;
            const Term campaignTerm = pre ? term_ + 1 : term_;
            emitEvent({ElectionEvent::Kind::VoteReply, pre, m.from, campaignTerm, !m.reject, {}, {}});
            switch (poll(m.from, !m.reject)) {
                case VoteResult::Won:
                    emitEvent(
                        {ElectionEvent::Kind::Elected, pre, kNoNode, campaignTerm, true, {}, grantedVotes()});
                    if (role_ == Role::PreCandidate)
                        startCampaign(CampaignKind::Election);
                    else
                        becomeLeader();
                    break;
                case VoteResult::Lost:
                    emitEvent(
                        {ElectionEvent::Kind::Lost, pre, kNoNode, campaignTerm, false, {}, grantedVotes()});
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

}  // namespace raftwc::raft
