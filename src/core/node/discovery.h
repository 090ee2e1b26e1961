// Discovery: the phases of a node around membership — Discovering (listening for a leader's announcements
// and for fresh nodes' hellos), Joining (a leader accepted its join or is feeding it the log: it catches up
// as a learner), Member, Removed — and the decisions each takes on the discovery timer: say hello, probe
// for a leader, ask the announced leader to join, or bootstrap a new cluster (only the lowest id among
// enough fresh nodes, after listening for discoveryMs, with no data and no cluster). A value: no I/O, no
// clock; the node feeds it what it heard and carries its decisions out (docs/PROTOCOL.md, discovery).
#pragma once

#include <QString>
#include <vector>

#include "raft/types.h"

namespace raftwc::node {

class PeerBook;

class Discovery {
  public:
    enum class Phase { Discovering, Joining, Member, Removed };
    struct Leader {
        raft::NodeId id = raft::kNoNode;
        raft::Term term = 0;
        QString rpc;
        QString http;
        QString clusterId;
        qint64 heardMs = -1;
    };
    /// What the node should do now.
    struct Step {
        bool hello = false;
        bool probe = false;
        bool join = false;       ///< ask leader() to add this node (see joinStarted/joinFinished)
        bool bootstrap = false;  ///< start a new cluster with this node as its only voter
        bool becameMember = false;
        /// Fresh nodes heard, this one included (for "waiting for N" lines); -1: this node never
        /// bootstraps (bootstrapExpect 0) and no cluster is heard.
        int candidates = 0;
    };

    Discovery(raft::NodeId self, int bootstrapExpect, int discoveryMs)
        : self_(self), bootstrapExpect_(bootstrapExpect), discoveryMs_(discoveryMs) {}

    /// Start: a node with data is a member already; otherwise it listens from `nowMs`.
    void start(bool hasData, qint64 nowMs);
    Phase phase() const { return phase_; }
    static const char* phaseName(Phase p);

    /// A leader's announcement of this node's cluster (the caller filters other clusters). Returns true if
    /// the node should try to join now.
    bool announced(Leader l);
    const Leader& leader() const { return leader_; }

    /// A leader is sending this node its log (it is being added).
    void appendReceived();
    void joinStarted(qint64 nowMs);
    /// The join request finished; `accepted`: the leader added (or is adding) this node.
    void joinFinished(bool accepted);
    bool mayJoin(qint64 nowMs) const;
    void bootstrapped() { phase_ = Phase::Member; }
    void removed() { phase_ = Phase::Removed; }

    /// The discovery timer. `inConfig`: this node is in its own latest configuration; `fresh`: it has no
    /// data and no cluster id.
    Step onTimer(qint64 nowMs, bool inConfig, bool fresh, const PeerBook& peers);

  private:
    raft::NodeId self_;
    int bootstrapExpect_;
    int discoveryMs_;
    Phase phase_ = Phase::Discovering;
    qint64 startMs_ = 0;
    qint64 lastHelloMs_ = -100000;
    Leader leader_;
    bool joinInFlight_ = false;
    qint64 lastJoinMs_ = -100000;
};

}  // namespace raftwc::node
