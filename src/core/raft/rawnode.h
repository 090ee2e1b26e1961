// RawNode: the whole consensus core behind one synchronous, single-threaded, deterministic interface
// (the shape of etcd's raft RawNode/Ready). No sockets, no clock, no global randomness: time is tick(),
// the network is step() and Ready::messages, the disk is Storage (read) and Ready (write).
//
// The driving loop, and the ordering rule it must keep:
//
//     node.tick();  node.step(msg);  node.propose(data);  ...      // inputs, any order
//     if (node.hasReady()) {
//         Ready rd = node.ready();
//         1. persist rd.snapshot if set (it replaces the whole log), then rd.entries (truncating any
//            stored suffix from rd.entries.front().index on) and rd.hardState, durably (fsync) — BEFORE
//            step 2; a crash leaves the old log or the new snapshot, never a mix;
//            load rd.snapshot's state into the state machine;
//         2. send rd.messages;
//         3. apply rd.committedEntries in order (they are always already persisted locally);
//         4. node.advance();
//     }
//
// Ready::entries are appended to storage before messages go out, so a vote or an acknowledgement is
// never sent for state that a crash could lose.
//
// With Config::asyncStorageWrites (etcd's async storage writes) the caller never waits for the disk:
//
//     Ready rd = node.ready();
//     send rd.messages now; apply rd.committedEntries (persisted locally already); node.advance();
//     if (rd.needsPersist())  queue, IN ORDER, a write job: persist rd.hardState and rd.entries (fsync);
//                              when done: send rd.messagesAfterPersist, then node.persisted(rd.persistToken)
//
// and may call ready() again at once (while earlier writes are in flight). A Ready with a snapshot: load its
// state into the state machine once the write job has made it durable (entries after it are handed out to
// apply only then). Consecutive queued jobs may share
// one fsync; they must complete, and be reported, in the order of their Readys. What waits for the write:
// acknowledgements and vote answers (they describe the write), and every message while a change of term or
// vote is not yet durable (a node must not speak for a term that a crash could make it forget).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/storage.h"
#include "raft/types.h"

namespace raftwc::raft {

enum class LogLevel : std::uint8_t { Debug, Info, Warning, Error };
using Logger = std::function<void(LogLevel, std::string_view)>;

/// What happened in an election, as a value (Config::onEvent), for dashboards and event streams. Term,
/// role and leader changes are visible in status(); these are the steps between them.
struct ElectionEvent {
    enum class Kind : std::uint8_t {
        Campaign,   ///< this node started a campaign for `term` (a pre-vote does not change its term)
        Vote,       ///< this node answered `peer`'s request for `term`: `granted`, `reason`
        VoteReply,  ///< this candidate heard `peer`'s answer for `term`: `granted`
        Elected,    ///< this candidate won `term` (pre-vote won: the real campaign follows); `votes`
        Lost,       ///< this candidate lost `term`'s campaign; `votes` granted it
    };
    Kind kind = Kind::Campaign;
    bool preVote = false;
    NodeId peer = kNoNode;
    Term term = 0;
    bool granted = false;
    std::string reason;         ///< Vote: why (e.g. "already voted for X")
    std::vector<NodeId> votes;  ///< Elected/Lost: the voters that granted
};
using ElectionEventSink = std::function<void(const ElectionEvent&)>;

struct Config {
    NodeId id = kNoNode;
    /// Election timeout in ticks, drawn afresh and uniformly from [min, max] for every election period.
    /// With the node's 50 ms tick, 20–40 ticks = 1000–2000 ms.
    int electionTicksMin = 20;
    int electionTicksMax = 40;
    /// Leader heartbeat interval in ticks; must be well under electionTicksMin.
    int heartbeatTicks = 2;
    /// Upper bound of entry payload bytes in one Append message (at least one entry is always sent).
    std::size_t maxMsgBytes = 1u << 20;
    /// Flow control per follower in Replicate state: bounded messages and bytes in flight.
    std::uint32_t maxInflightMsgs = 64;
    std::uint64_t maxInflightBytes = 16u << 20;
    bool preVote = true;
    bool checkQuorum = true;
    /// The leader promotes a learner to voter once it has caught up (match >= leader's commit index),
    /// one change at a time.
    bool autoPromoteLearners = true;
    /// Seed of the core's private PRNG (election timeouts). Same seed, same inputs → same outputs.
    std::uint64_t seed = 1;
    /// Check the invariants (docs/RAFT.md) after every input; throws std::logic_error on a violation.
    /// On in debug builds and in every test.
#ifdef NDEBUG
    bool checkInvariants = false;
#else
    bool checkInvariants = true;
#endif
    /// ADDED: the last index the application had already applied before this RawNode was created
    /// (its state machine survived). Ready::committedEntries start after it. 0 = replay every committed
    /// entry from the log (the default; an in-memory state machine rebuilds itself that way).
    Index applied = 0;
    Logger logger;  ///< Optional; receives term changes, votes, elections, membership changes.
    /// Optional; receives every campaign, vote answer, vote reply and outcome as a value.
    ElectionEventSink onEvent;
    /// See the driving loop above: ready() may be taken while earlier Readys are still being persisted;
    /// the application reports each write with persisted().
    bool asyncStorageWrites = false;
    /// Leader: a member sent a snapshot that neither answers nor is reported (reportSnapshot) within this
    /// many ticks is probed again (the message or its answer was lost). 0: 10 × electionTicksMax.
    int snapshotTimeoutTicks = 0;
    /// Optional: how log lines name nodes (default: decimal). The node passes its 16-digit hex form so
    /// the core's lines match the rest of the node's logs.
    std::function<std::string(NodeId)> idToString;
};

/// Everything the application must do, produced by RawNode::ready(). See the ordering rule above.
struct Ready {
    std::optional<Snapshot> snapshot;     ///< Received from the leader: install (replaces the log) first.
    std::optional<HardState> hardState;   ///< Persist (fsync) if set.
    std::vector<Entry> entries;           ///< Append to storage (truncating a conflicting suffix first).
    std::vector<Message> messages;        ///< Send after persisting (async: send now).
    std::vector<Entry> committedEntries;  ///< Apply in order, after persisting.
    bool mustSync = false;                ///< True if hardState.term/vote, entries or the snapshot changed.
    /// Async only: send once this Ready's write (and every earlier one) is durable.
    std::vector<Message> messagesAfterPersist;
    /// Async only: pass to persisted() once this Ready's write is durable (0: nothing to report).
    std::uint64_t persistToken = 0;

    /// Async: this Ready needs an (ordered) write job: something to persist or messages that wait for it.
    bool needsPersist() const {
        return snapshot || hardState || !entries.empty() || !messagesAfterPersist.empty();
    }
};

struct ProposeResult {
    enum class Code : std::uint8_t {
        Ok,                ///< Appended at (term, index); committed iff an entry with this index AND term
                           ///< later comes out in Ready::committedEntries.
        NotLeader,         ///< leaderHint: the leader this node knows of (kNoNode if none).
        Dropped,           ///< Leader, but cannot accept now (leadership transfer in progress).
        ConfChangePending  ///< Conf change refused: one is uncommitted, or no entry of this term is
                           ///< committed yet, or the change is invalid for the current configuration.
    };
    Code code = Code::NotLeader;
    Term term = 0;
    Index index = 0;
    NodeId leaderHint = kNoNode;
    bool ok() const { return code == Code::Ok; }
};

class RaftCore;  // the implementation (raft.h), not part of the interface

class RawNode {
  public:
    /// Restores from `storage` (hard state, configuration, log). The storage object must outlive the
    /// RawNode, and must reflect every Ready persisted so far.
    RawNode(const Config& config, const Storage& storage);
    ~RawNode();
    RawNode(const RawNode&) = delete;
    RawNode& operator=(const RawNode&) = delete;

    /// Only on a node with empty storage: starts a brand-new cluster whose voters are `voters`
    /// (usually just this node). Produces entries 1..n of term 1 (AddVoter each) committed by fiat,
    /// in the next Ready. Every node listed must bootstrap with the same list. Returns false if the
    /// storage is not empty.
    bool bootstrap(const std::vector<NodeId>& voters);

    void tick();
    /// Any message from the network. Messages not addressed to this node, from a stale term, or
    /// otherwise irrelevant are ignored (never an error, never a crash).
    void step(const Message& m);
    ProposeResult propose(std::string data);
    ProposeResult proposeConfChange(const ConfChange& cc);
    /// Asks the leader to hand leadership to `to` (a voter). Returns false if not leader or `to` invalid.
    bool transferLeadership(NodeId to);
    /// Starts an election now (tests and tooling; normal elections come from tick()).
    void campaign();
    /// Leader: the transport's word on a Snapshot message to `to` (its bulk travels out of band):
    /// installed, or failed (the member is probed again after a heartbeat). Ignored if none is pending.
    void reportSnapshot(NodeId to, bool installed);

    bool hasReady() const;
    Ready ready();
    /// Call once the last Ready has been fully processed (persisted, sent, applied); async: once it has
    /// been handed off (messages sent, committed entries applied, write queued).
    void advance();
    /// Async only: the write of the Ready with this token is durable (tokens in the order handed out).
    void persisted(std::uint64_t token);

    Status status() const;
    NodeId id() const;

  private:
    std::unique_ptr<RaftCore> core_;
};

}  // namespace raftwc::raft
