// RaftCore: the consensus state machine behind RawNode (etcd's raft.go). Internal to the library:
// the interface is rawnode.h. Single-threaded, deterministic, no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft_log.h"
#include "raft/rawnode.h"

namespace raftwc::raft {

/// What the leader knows about one member's log (etcd's tracker.Progress).
struct Progress {
    /// Snapshot: the member needs entries this log compacted away; a snapshot was sent and nothing else
    /// is until it is installed (an answer at or past it), reported (RawNode::reportSnapshot) or timed out.
    enum class State : std::uint8_t { Probe, Replicate, Snapshot };
    Index match = 0;  ///< Invariant: match < next.
    Index next = 1;
    State state = State::Probe;
    bool probeSent = false;  ///< Probe: an Append is outstanding; wait for its answer or a heartbeat.
    bool recentActive = false;
    bool learner = false;
    Index pendingSnapshot = 0;  ///< Snapshot: the index of the snapshot sent.
    int snapshotElapsed = 0;    ///< Snapshot: leader ticks since it was sent.
    /// The highest commit index the member reported in an answer (AppendResp/HeartbeatResp).
    Index commitKnown = 0;
    /// Replicate: (last index, payload bytes) of every Append in flight, ascending.
    std::deque<std::pair<Index, std::uint64_t>> inflights;
    std::uint64_t inflightBytes = 0;

    void becomeProbe() {
        state = State::Probe;
        probeSent = false;
        next = match + 1;
        inflights.clear();
        inflightBytes = 0;
        pendingSnapshot = 0;
    }
    void becomeReplicate() {
        state = State::Replicate;
        probeSent = false;
        next = match + 1;
        inflights.clear();
        inflightBytes = 0;
        pendingSnapshot = 0;
    }
    void becomeSnapshot(Index snapshotIndex) {
        state = State::Snapshot;
        probeSent = false;
        pendingSnapshot = snapshotIndex;
        snapshotElapsed = 0;
        next = std::max(match, snapshotIndex) + 1;
        inflights.clear();
        inflightBytes = 0;
    }
    /// The member reports (or shows) the snapshot installed: probe just after it (etcd does the same).
    void snapshotDone() {
        const Index after = pendingSnapshot;
        becomeProbe();
        next = std::max(match, after) + 1;
    }
    /// Frees every in-flight message whose last index is <= i.
    void freeLE(Index i) {
        while (!inflights.empty() && inflights.front().first <= i) {
            inflightBytes -= inflights.front().second;
            inflights.pop_front();
        }
    }
    void freeFirst() {
        if (inflights.empty()) return;
        inflightBytes -= inflights.front().second;
        inflights.pop_front();
    }
    /// An acknowledgement up to i: returns true if it moved match forward.
    bool maybeUpdate(Index i) {
        bool updated = false;
        if (i > match) {
            match = i;
            updated = true;
            probeSent = false;
        }
        if (next < i + 1) next = i + 1;
        return updated;
    }
    /// A rejection of the Append whose previous index was `rejected`; `hint` is where to probe next.
    bool maybeDecrTo(Index rejected, Index hint) {
        if (state == State::Snapshot) return false;  // answers to Appends sent before it: stale
        if (state == State::Replicate) {
            if (rejected <= match) return false;  // stale
            becomeProbe();
            return true;
        }
        if (next == 0 || next - 1 != rejected) return false;  // stale
        next = std::max(std::min(rejected, hint + 1), match + 1);
        probeSent = false;
        return true;
    }
};

class RaftCore {
  public:
    RaftCore(const Config& config, const Storage& storage);

    bool bootstrap(const std::vector<NodeId>& voters);
    void tick();
    void step(const Message& m);
    ProposeResult propose(std::string data);
    ProposeResult proposeConfChange(const ConfChange& cc);
    bool transferLeadership(NodeId to);
    void campaign();
    void reportSnapshot(NodeId to, bool installed);

    bool hasReady() const;
    Ready ready();
    void advance();
    void persisted(std::uint64_t token);

    Status status() const;
    NodeId id() const { return id_; }

    /// Throws std::logic_error describing the first violated invariant (docs/RAFT.md).
    void checkInvariants() const;
    bool invariantsEnabled() const { return cfg_.checkInvariants; }
    /// A node id as log lines show it (Config::idToString, else decimal).
    std::string idStr(NodeId id) const;
    std::string confStr(const ConfState& cs) const;

  private:
    enum class CampaignKind : std::uint8_t { PreElection, Election, Transfer };

    // roles
    void becomeFollower(Term term, NodeId lead);
    void becomePreCandidate();
    void becomeCandidate();
    void becomeLeader();
    void reset(Term term);
    void startCampaign(CampaignKind kind);
    void hup(CampaignKind kind);
    /// May campaign: a voter of the configuration in force (conf()). A server whose removal is not
    /// committed yet is still one, and may have to lead to finish it (dissertation §4.2.2).
    bool promotable() const { return conf().isVoter(id_); }

    // ticks
    void tickElection();
    void tickHeartbeat();
    void resetRandomizedTimeout();
    bool inLease() const;

    // steps
    void stepFollower(const Message& m);
    void stepCandidate(const Message& m);
    void stepLeader(const Message& m);
    void handleVoteRequest(const Message& m);
    void handleAppend(const Message& m);
    void handleSnapshot(const Message& m);
    /// Follower: installs a snapshot past the commit index (false: not needed, perhaps fast-forwarded).
    bool restore(const Snapshot& s);
    void handleHeartbeat(const Message& m);
    void handleAppendResp(const Message& m);
    void handleHeartbeatResp(const Message& m);
    bool validAppend(const Message& m) const;

    // elections
    enum class VoteResult : std::uint8_t { Pending, Won, Lost };
    VoteResult poll(NodeId from, bool granted);

    // replication
    void send(Message m);
    bool maybeSendAppend(NodeId to, bool sendIfEmpty);
    bool maybeSendSnapshot(NodeId to, Progress& pr);
    /// Leader, every tick: a snapshot that neither answered nor was reported in time is probed again.
    void tickSnapshots();
    void sendHeartbeat(NodeId to);
    void sendTimeoutNow(NodeId to);
    void bcastAppend();
    void bcastHeartbeat();
    bool maybeCommit();
    void afterCommit();
    /// A leader outside the configuration in force steps down once a majority of that configuration
    /// has reported a commit index that covers it (then they know it is in force without this node).
    void maybeStepDownRemoved();
    void appendEntries(std::vector<Entry> ents);  ///< log append + configuration tracking
    bool appendAsLeader(EntryType type, std::string data, Index* index);
    void updateSelfProgress();
    void maybePromoteLearners();
    void abortLeaderTransfer();
    bool confChangePending() const;
    bool ownTermCommitted() const { return log_.termOrZero(log_.committed()) == term_; }

    // configuration
    /// The configuration in force (docs/RAFT.md, "Membership changes"): a ConfChange entry takes effect
    /// once it is committed. A leader appends a ConfChange only after the previous one committed, so in
    /// any log every ConfChange entry but the last is committed: while the last one is not known to be
    /// committed, the one before it is in force. Votes, commitment, check-quorum and replication all
    /// count this configuration.
    const ConfState& conf() const {
        const std::size_t n = confHistory_.size();
        return n > 1 && confHistory_.back().first > log_.committed() ? confHistory_[n - 2].second
                                                                     : confHistory_.back().second;
    }
    /// Index of the ConfChange entry that conf() comes from (the base configuration's index if none).
    Index confIndex() const {
        const std::size_t n = confHistory_.size();
        return n > 1 && confHistory_.back().first > log_.committed() ? confHistory_[n - 2].first
                                                                     : confHistory_.back().first;
    }
    /// Logs a configuration that came into force since the last call; syncs the leader's progress.
    void noteConfInForce();
    /// Advances the commit index from a vote request's (commit, commitTerm) when our log agrees there.
    void learnCommit(const Message& m);
    /// The configuration in force at log index i (from the last ConfChange entry at or before i).
    const ConfState& confAt(Index i) const;
    void onConfEntries(const std::vector<Entry>& ents);
    void truncateConfHistory(Index from);
    void syncProgressWithConf();

    // misc
    std::uint64_t nextRandom();
    void log(LogLevel level, const std::string& text) const;
    void emitEvent(ElectionEvent e) const {
        if (cfg_.onEvent) cfg_.onEvent(e);
    }
    std::vector<NodeId> grantedVotes() const;
    std::string who() const;
    HardState hardState() const { return {term_, vote_, log_.committed()}; }

    Config cfg_;
    NodeId id_;
    RaftLog log_;
    const Storage& storage_;
    std::uint64_t rng_;

    Term term_ = 0;
    NodeId vote_ = kNoNode;
    NodeId lead_ = kNoNode;
    Role role_ = Role::Follower;

    int electionElapsed_ = 0;
    int heartbeatElapsed_ = 0;
    int randomizedTimeout_ = 0;

    std::map<NodeId, bool> votes_;
    std::map<NodeId, Progress> prs_;  ///< Leader only: one per member (voters and learners).
    NodeId leadTransferee_ = kNoNode;
    Index pendingConfIndex_ = 0;  ///< Leader: index of the last ConfChange entry it knows of.
    std::uint64_t electionsStarted_ = 0;

    /// (index at which it took effect, configuration). front() is the base configuration (index
    /// firstIndex()-1); every later element comes from a ConfChange entry in the log.
    std::vector<std::pair<Index, ConfState>> confHistory_;
    Index confInForceIndex_ = 0;  ///< confIndex() when noteConfInForce() last ran.

    std::vector<Message> msgs_;
    HardState prevHardState_;
    Index handedTo_ = 0;      ///< Last unstable index handed out in a Ready (persisted by advance()).
    Index snapHandedTo_ = 0;  ///< Index of the last received snapshot handed out in a Ready.
    Index applyingTo_ = 0;    ///< Committed entries handed out up to here (applied on advance()).
    bool readyOutstanding_ = false;
    /// Async storage writes handed out and not yet reported durable, oldest first.
    struct PendingWrite {
        std::uint64_t token = 0;
        Index index = 0;  ///< Last entry handed in that Ready (0: none) and its term then.
        Term term = 0;
        bool termOrVote = false;  ///< It changes the term or the vote.
        Index snapshot = 0;       ///< Index of the snapshot it installs (0: none).
    };
    std::deque<PendingWrite> pendingWrites_;
    std::uint64_t nextWriteToken_ = 1;
    /// The highest index whose entries may be handed out to apply (async: persisted locally).
    Index applicableTo() const;

    // For invariant checks across inputs.
    mutable Term lastCheckedTerm_ = 0;
    mutable Index lastCheckedCommit_ = 0;
};

}  // namespace raftwc::raft
