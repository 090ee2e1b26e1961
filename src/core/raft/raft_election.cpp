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

}  // namespace raftwc::raft
