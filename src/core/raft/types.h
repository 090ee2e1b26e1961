// Plain value types of the consensus core. No Qt, no I/O: standard C++ only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftwc::raft {

using NodeId = std::uint64_t;  ///< 0 means "nobody" (kNoNode).
using Term = std::uint64_t;
using Index = std::uint64_t;  ///< Log indexes start at 1; 0 means "before the first entry".

inline constexpr NodeId kNoNode = 0;

/// What an entry carries. Stored on disk as the record type, so values are part of the format.
enum class EntryType : std::uint8_t {
    Normal = 1,      ///< Application payload, opaque to the core.
    NoOp = 2,        ///< Appended by every new leader at the start of its term (empty payload).
    ConfChange = 3,  ///< Payload is an encoded ConfChange (encodeConfChange).
};

struct Entry {
    Term term = 0;
    Index index = 0;
    EntryType type = EntryType::Normal;
    std::string data;  ///< Bytes (std::string used as a byte container).

    bool operator==(const Entry&) const = default;
};

/// What must be on disk before any message that depends on it is sent (Raft Figure 2's persistent
/// state, plus the commit index as etcd keeps it; commit may lag after a crash, that is safe).
struct HardState {
    Term term = 0;
    NodeId vote = kNoNode;
    Index commit = 0;

    bool operator==(const HardState&) const = default;
    bool empty() const { return term == 0 && vote == kNoNode && commit == 0; }
};

/// The membership: voters count for elections and commitment, learners only receive the log.
/// Both lists are sorted and disjoint.
struct ConfState {
    std::vector<NodeId> voters;
    std::vector<NodeId> learners;

    bool operator==(const ConfState&) const = default;
    bool isVoter(NodeId id) const;
    bool isLearner(NodeId id) const;
    bool contains(NodeId id) const { return isVoter(id) || isLearner(id); }
};

/// One single-server membership change (Raft dissertation §4.1). A configuration takes effect on a
/// server as soon as its entry is in that server's log (not when committed); a truncated ConfChange
/// entry reverts to the previous configuration.
enum class ConfChangeType : std::uint8_t {
    AddLearner = 1,      ///< Add a non-voting member that receives the log.
    PromoteLearner = 2,  ///< Make an existing learner a voter.
    RemoveNode = 3,      ///< Remove a voter or learner.
    AddVoter = 4,        ///< Only used by bootstrap(): add a voter directly.
};

struct ConfChange {
    ConfChangeType type = ConfChangeType::AddLearner;
    NodeId node = kNoNode;
    std::string context;  ///< Opaque to the core; the node adapter stores the member's addresses here.

    bool operator==(const ConfChange&) const = default;
};

/// Versioned, self-delimiting encoding of a ConfChange (the payload of a ConfChange entry).
std::string encodeConfChange(const ConfChange& cc);
/// std::nullopt on malformed input (never throws, never crashes).
std::optional<ConfChange> decodeConfChange(std::string_view bytes);

/// Applies one change to a configuration. Returns false (and leaves `cs` unchanged) if the change is
/// not valid against `cs` (e.g. promoting a non-learner, adding an existing member).
bool applyConfChange(ConfState& cs, const ConfChange& cc);

/// What a snapshot covers: the state after applying every entry up to `index` (of term `term`), and the
/// configuration in force there (docs/RAFT.md, "Snapshots and compaction").
struct SnapshotMeta {
    Index index = 0;
    Term term = 0;
    ConfState conf;

    bool operator==(const SnapshotMeta&) const = default;
};

/// A snapshot as the core sees it: metadata plus the application's bytes, opaque to the core (the node puts
/// a small description of its state here and moves the bulk it references out of band).
struct Snapshot {
    SnapshotMeta meta;
    std::string data;

    bool operator==(const Snapshot&) const = default;
    bool empty() const { return meta.index == 0; }
};

enum class MessageType : std::uint8_t {
    PreVote =
        1,  ///< Pre-vote request (term = the term the sender would campaign in; its own term unchanged).
    PreVoteResp = 2,
    Vote = 3,  ///< RequestVote: logTerm/index = candidate's last log term/index.
    VoteResp = 4,
    Append = 5,      ///< AppendEntries: logTerm/index = previous entry; entries; commit.
    AppendResp = 6,  ///< index = last index matched (accept) or the rejected prev index (reject).
    Heartbeat = 7,   ///< commit = min(leader commit, follower's match).
    HeartbeatResp = 8,
    TimeoutNow = 9,  ///< Leadership transfer: the receiver campaigns at once (skipping pre-vote).
    Snapshot = 10,  ///< InstallSnapshot: `snapshot` replaces a follower's log that the leader compacted away.
};

std::string_view toString(MessageType t);

/// A message between cores. Field use per type is documented above MessageType; unused fields are 0.
struct Message {
    MessageType type = MessageType::Heartbeat;
    NodeId from = kNoNode;
    NodeId to = kNoNode;
    Term term = 0;
    Term logTerm = 0;
    Index index = 0;
    std::vector<Entry> entries;
    Index commit = 0;
    /// Vote/PreVote: the term of the candidate's entry at `commit`. A voter whose log holds the same
    /// (commit, commitTerm) learns that its prefix up to there is committed (Log Matching), whoever sent it:
    /// a member that crashed before hearing a commit, and so still thinks itself a learner, can learn that
    /// its promotion is in force and campaign with the newest log (F10).
    Term commitTerm = 0;
    bool reject = false;
    /// AppendResp reject: the follower's hint for fast backtracking — the largest index <= the probed
    /// index whose term is <= logTerm of the probe (etcd's findConflictByTerm); rejectHintTerm its term.
    Index rejectHint = 0;
    Term rejectHintTerm = 0;
    /// Vote/PreVote sent because of a leadership transfer (bypasses the leader-lease check).
    bool transfer = false;
    /// Snapshot only: what to install (the answer is an AppendResp whose index is the follower's last index).
    raft::Snapshot snapshot;

    bool operator==(const Message&) const = default;
};

enum class Role : std::uint8_t { Follower, PreCandidate, Candidate, Leader };
std::string_view toString(Role r);

/// Replication state the leader tracks for one peer (values; a snapshot for status and tests).
struct ProgressStatus {
    NodeId id = kNoNode;
    Index match = 0;  ///< Invariant: match < next.
    Index next = 1;
    bool voter = false;
    bool probing = true;        ///< Probe state (one message in flight) vs. Replicate (pipelined).
    Index pendingSnapshot = 0;  ///< Snapshot state: the index of the snapshot sent (0: not sending one).
    bool recentActive = false;  ///< Heard from within the current election timeout (check-quorum).
    std::uint64_t inflightBytes = 0;
    std::uint32_t inflightMsgs = 0;
};

/// A snapshot of the core's state as a value, for the dashboard, /api/cluster and tests.
struct Status {
    NodeId id = kNoNode;
    Role role = Role::Follower;
    Term term = 0;
    NodeId vote = kNoNode;
    NodeId leader = kNoNode;
    Index commit = 0;
    Index applied = 0;
    Index lastIndex = 0;
    Term lastTerm = 0;
    Index snapshotIndex = 0;  ///< The log starts after this index (0: never compacted).
    ConfState conf;
    std::vector<ProgressStatus> progress;  ///< Leader only; empty otherwise. Sorted by id.
    NodeId leadTransferee = kNoNode;       ///< Leader only: transfer in progress to this node.
    std::uint64_t electionsStarted = 0;    ///< Times this node became (pre-)candidate.
};

}  // namespace raftwc::raft
