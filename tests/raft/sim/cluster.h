// Deterministic simulation of a cluster of raft::RawNode cores: virtual time, a faulty network, crashes
// with a "synced" MemoryStorage, slow disks, membership changes — and safety checks after every step.
// Everything comes from one seed; no clock, no threads, no global state. See docs/raft-simulation.md.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/rawnode.h"
#include "raft/types.h"
#include "rng.h"

namespace raftwc::raftsim {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::MessageType;
using raft::NodeId;
using raft::Term;

/// printf into a std::string (for traces and failure messages).
std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// The configuration after the ConfChange entries among the first `upTo` entries of `log`.
raft::ConfState confAfter(const std::vector<Entry>& log, std::size_t upTo);

/// Virtual time in microseconds.
using Micros = std::uint64_t;
inline constexpr Micros kMs = 1000;
inline constexpr Micros kSec = 1000 * kMs;

struct NetParams {
    Micros delayMin = 1 * kMs;  ///< One-way delay, uniform in [delayMin, delayMax].
    Micros delayMax = 5 * kMs;
    double drop = 0.0;       ///< Probability that a message is lost.
    double duplicate = 0.0;  ///< Probability that a message is delivered twice (independent delays).
    double reorder = 0.0;    ///< Probability of an extra delay in [0, reorderMax] (overtaken by later ones).
    Micros reorderMax = 50 * kMs;
};

struct DiskParams {
    Micros latencyMin = 0;  ///< Time to persist a Ready that has something to sync; 0 = synchronous.
    Micros latencyMax = 0;
    double stallChance = 0.0;  ///< Probability that one sync stalls for stallLatency instead.
    Micros stallLatency = 0;
    /// A crash during a sync leaves a random prefix of that Ready's entries on disk (and its hard state
    /// too if every entry made it, half of the time). Storage must write entries before the hard state.
    bool tornWrites = false;
};

struct ClusterOptions {
    std::uint64_t seed = 1;
    int voters = 3;  ///< Nodes 1..voters are bootstrapped as the initial voters.
    Micros tick = 50 * kMs;
    int electionTicksMin = 20;
    int electionTicksMax = 40;
    int heartbeatTicks = 2;
    bool preVote = true;
    bool checkQuorum = true;
    bool autoPromoteLearners = true;
    bool checkInvariants = true;  ///< The core's own invariant checks (raft::Config::checkInvariants).
    std::size_t maxMsgBytes = 1u << 20;
    std::uint32_t maxInflightMsgs = 64;  ///< raft::Config flow control (small values split messages).
    std::uint64_t maxInflightBytes = 16u << 20;
    /// Run every node on the real storage::RaftLogStore (segment files, hard-state file, recovery) in a
    /// scratch directory, through CrashFileOps: a crash loses what was never synced, torn and reordered
    /// (docs/raft-simulation.md). Off: raft::MemoryStorage with a torn-prefix model.
    bool realStorage = false;
    /// raft::Config::asyncStorageWrites: nodes keep stepping messages and ticks while their writes are in
    /// flight; every Ready queued meanwhile shares the next sync (group commit), as in the real node.
    bool asyncWrites = false;
    std::string storageRoot;  ///< Parent of the scratch directory (default $TMPDIR or /tmp).
    NetParams net;
    DiskParams disk;
    /// When set, every event is described here (one line each, prefixed with the virtual time).
    std::function<void(std::string_view)> trace;
    /// Stop a removed node as soon as any node applies its removal (an operator shutting it down at
    /// once). Off by default, like the real node (Phase::Removed keeps answering): a configuration is in
    /// force once committed, and a removal may be known committed only to the removed leader, so the
    /// others may still need the removed node's vote under the old configuration (docs/RAFT.md).
    bool stopRemovedNodes = false;
    /// FOR TESTING THE CHECKER ONLY: a disk that ignores fsync. A crash forgets the vote and the last
    /// 1–3 synced entries. Raft cannot be safe on such a disk; the checks must notice.
    bool amnesiacDisk = false;
    /// Compaction (on either storage): once a node has applied this many entries past its snapshot, it
    /// snapshots its state at (applied - snapshotKeep) and drops the log up to there; members that need
    /// dropped entries are caught up by InstallSnapshot. 0: never. The state is a hash of the applied
    /// prefix, checked against the committed history wherever a snapshot is made, sent or installed.
    Index snapshotEvery = 0;
    Index snapshotKeep = 0;
    /// A run that processes more events than this fails ("event budget exhausted"): message storms and
    /// livelocks show up as failures instead of hanging the test.
    std::uint64_t maxEvents = 1'000'000;
};

struct MessageStats {
    std::uint64_t sent = 0;       ///< Handed to the network (after persisting).
    std::uint64_t delivered = 0;  ///< step()ped into a live node.
    std::uint64_t dropped = 0;    ///< Lost: random drop, partition, or target down.
    std::array<std::uint64_t, 16> sentByType{};
    std::uint64_t appendRejects = 0;  ///< AppendResp with reject = true.

    std::uint64_t byType(MessageType t) const { return sentByType[static_cast<std::size_t>(t)]; }
};

/// A client proposal tracked by the simulation (for the "acknowledged ⇒ applied everywhere" check).
struct Proposal {
    NodeId node = raft::kNoNode;
    Term term = 0;
    Index index = 0;
    std::string data;
    bool acked = false;  ///< The proposing node applied (term, index) with this data: answer "committed".
    bool lost = false;   ///< The proposing node applied another entry at index: answer "failed".
};

class Cluster {
  public:
    explicit Cluster(ClusterOptions options);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // ---- time --------------------------------------------------------------------------------------
    Micros now() const { return now_; }
    /// Processes events up to now() + d (inclusive). Stops early (returning false) on a violation.
    bool runFor(Micros d);
    /// Runs until pred() holds (checked after every event) or until `timeout` of virtual time passes.
    bool runUntil(const std::function<bool()>& pred, Micros timeout);

    // ---- nodes -------------------------------------------------------------------------------------
    /// Every node ever created, ascending (including crashed and stopped ones).
    std::vector<NodeId> nodeIds() const;
    bool isUp(NodeId id) const;
    bool isGone(NodeId id) const;  ///< Permanently stopped (removed from the cluster).
    bool isBusy(NodeId id) const;  ///< Persisting a Ready (a crash now loses it).
    /// Crash: volatile state and any Ready not fully persisted are lost; storage keeps what was synced.
    void crash(NodeId id);
    /// Restarts a crashed node from its synced storage (no-op if up or gone).
    void restart(NodeId id);
    /// Stops a node forever.
    void stop(NodeId id);
    /// Creates and starts a new node with empty storage (to be added with AddLearner). Returns its id.
    NodeId createNode();

    // ---- network -----------------------------------------------------------------------------------
    NetParams& net() { return options_.net; }
    DiskParams& disk() { return options_.disk; }
    /// Directed link from → to.
    void setLink(NodeId from, NodeId to, bool up);
    bool linkUp(NodeId from, NodeId to) const;
    /// Cuts every link to and from `id` (both directions) and marks it isolated.
    void isolate(NodeId id);
    /// Like 6.824's connect(): restores the links between `id` and every node that is not isolated.
    void reconnect(NodeId id);
    /// Only nodes in the same group can talk (symmetric partition). Nodes in no group are isolated.
    void partition(const std::vector<std::vector<NodeId>>& groups);
    void healAll();

    // ---- the application side ---------------------------------------------------------------------
    raft::Status status(NodeId id) const;  ///< Default Status (Follower, term 0) if the node is down.
    /// The up node that is Leader with the highest term (kNoNode if none).
    NodeId leader() const;
    /// Proposes on node `id` and records the proposal (returns the core's answer; NotLeader if down).
    raft::ProposeResult propose(NodeId id, std::string data);
    raft::ProposeResult proposeConfChange(NodeId id, const raft::ConfChange& cc);
    bool transferLeadership(NodeId from, NodeId to);
    void campaign(NodeId id);

    const std::vector<Proposal>& proposals() const { return proposals_; }
    /// Entries node `id` has applied in its current life, in order (index i at position i - 1).
    const std::vector<Entry>& applied(NodeId id) const;
    /// The node's log as the simulation sees it: synced storage plus every Ready taken since.
    const std::vector<Entry>& log(NodeId id) const;
    const raft::MemoryStorage& storage(NodeId id) const;
    /// The longest committed prefix any node has reported (consistent across nodes, or a violation).
    const std::vector<Entry>& committed() const { return committed_; }

    const MessageStats& stats() const { return stats_; }
    void resetStats() {
        stats_ = {};
        sentBy_.clear();
    }
    /// Messages sent by one node (all types) since the start or the last resetStats().
    std::uint64_t sentBy(NodeId id) const;
    std::uint64_t crashes() const { return crashes_; }
    std::uint64_t snapshotsMade() const { return snapshotsMade_; }
    std::uint64_t snapshotsInstalled() const { return snapshotsInstalled_; }
    std::uint64_t events() const { return events_; }

    // ---- checks ------------------------------------------------------------------------------------
    /// The first safety violation seen (the simulation stops processing events after one).
    const std::optional<std::string>& violation() const { return violation_; }
    bool ok() const { return !violation_; }
    /// Liveness condition for `nodes`: all up, one of them Leader and known as leader by all, equal
    /// logs fully committed and applied, and every acknowledged proposal applied on each of them.
    bool converged(const std::vector<NodeId>& nodes, std::string* why = nullptr) const;
    /// The leader of `group` if exactly one member is Leader and every member knows it; else kNoNode.
    NodeId agreedLeader(const std::vector<NodeId>& group) const;

    /// Describes a message in one line (for traces and failure reports).
    static std::string describe(const Message& m);

    Rng& rng() { return rng_; }

  private:
    struct Node;
    enum class EvKind : std::uint8_t { Tick, Deliver, PersistDone };
    struct Event {
        Micros at = 0;
        std::uint64_t seq = 0;
        EvKind kind = EvKind::Tick;
        NodeId node = raft::kNoNode;
        std::uint64_t incarnation = 0;
        Message msg;
    };

    Node* find(NodeId id) const;
    Node& node(NodeId id) const;
    void start(Node& n);
    void schedule(Event ev);
    bool step();  ///< Processes the next event; false if none or after a violation.
    void handle(Event& ev);
    void process(Node& n);
    void onReady(Node& n, const raft::Ready& rd);
    void finishReady(Node& n, raft::Ready& rd);
    void schedulePersistDone(Node& n, Micros latency);
    /// Sends a Ready's messages, applies its committed entries, advances; false if the run failed.
    bool sendApplyAdvance(Node& n, raft::Ready& rd);
    /// Writes one Ready to the node's disk (and its synced mirror); false on a failure (reported).
    bool persistReady(Node& n, const raft::Ready& rd);
    /// Async writes: hands a Ready off (send, apply, advance) and queues its write.
    void handOff(Node& n, raft::Ready& rd);
    /// Async writes: starts the next group of queued writes (one sync for all) if none is in flight.
    void startWrites(Node& n);
    /// Async writes: the group in flight is durable.
    void finishWrites(Node& n);
    void send(Node& n, std::vector<Message>& msgs);
    void apply(Node& n, const std::vector<Entry>& ents);
    /// A snapshot made or received must be the committed history's state at its index (false: violation).
    bool checkSnapshot(const Node& n, const raft::Snapshot& s, const char* what);
    /// The state machine loads a received snapshot (Ready::snapshot).
    void loadSnapshot(Node& n, const raft::Snapshot& s);
    /// Compaction policy: snapshot and drop the log prefix (ClusterOptions::snapshotEvery).
    void maybeCompact(Node& n);
    void drainInbox(Node& n);
    void resetLogView(Node& n);
    void appendLogView(Node& n, const std::vector<Entry>& ents);
    void noteCommit(Node& n, Term term, Index commit);
    void noteLeader(NodeId id, Term term, const char* how);
    Micros diskLatency();
    void fail(std::string what);
    void traceLine(const std::string& s) const;
    raft::Config makeConfig(const Node& n) const;

    ClusterOptions options_;
    Rng rng_;
    Micros now_ = 0;
    std::uint64_t seq_ = 0;
    std::vector<Event> queue_;  ///< Min-heap on (at, seq).
    std::map<NodeId, std::unique_ptr<Node>> nodes_;
    NodeId nextId_ = 1;
    std::set<std::pair<NodeId, NodeId>> blocked_;  ///< Directed links that are down.
    std::set<NodeId> isolated_;
    std::vector<Proposal> proposals_;
    std::map<std::pair<Term, Index>, std::size_t> proposalAt_;  ///< (term, index) → proposals_ slot.
    MessageStats stats_;
    std::map<NodeId, std::uint64_t> sentBy_;
    std::uint64_t crashes_ = 0;
    std::uint64_t events_ = 0;
    std::uint64_t snapshotsMade_ = 0;
    std::uint64_t snapshotsInstalled_ = 0;

    // Ghost state for the safety checks.
    std::map<Term, NodeId> leaderOfTerm_;
    std::map<std::pair<Term, Index>, std::uint64_t> prefixHashAt_;  ///< Log matching.
    std::vector<Entry> committed_;
    std::vector<std::uint64_t> committedHash_;
    std::map<Term, Index> maxCommitSeenAtTerm_;  ///< Leader completeness.
    std::optional<std::string> violation_;
    std::vector<NodeId> pendingStops_;
    // Checks that span a node's lives and the disks.
    std::map<NodeId, std::map<Term, NodeId>> votedFor_;  ///< Every vote granted, per node and term.
    std::map<NodeId, Term> maxTermSent_;                 ///< Highest term a node sent (after persisting).
    std::vector<std::pair<Index, raft::ConfState>> committedConfs_;  ///< Configurations in committed_.
    std::string root_;  ///< realStorage: scratch directory, removed with the cluster.
    void checkDurableOnMajority(Index from, Index to);
    void noteSent(Node& n, const Message& m);
};

}  // namespace raftwc::raftsim
