// PeerBook: what this node knows of the other nodes — their RPC and HTTP addresses, when it last heard from
// each (any Raft message, RPC or hello), and which fresh nodes said hello (bootstrap candidates) — and the
// one definition of "alive" (NodeOptions::aliveMs). A value: no I/O, no clock (times are passed in).
#pragma once

#include <QString>
#include <map>
#include <vector>

#include "raft/types.h"

namespace raftwc::node {

class PeerBook {
  public:
    struct Peer {
        QString rpc;
        QString http;
        qint64 lastHeardMs = -1;  ///< -1: never
        bool freshHello = false;  ///< Its last hello said: no data, no cluster (a bootstrap candidate).
        qint64 helloMs = -1;
    };

    PeerBook(raft::NodeId self, qint64 aliveMs) : self_(self), aliveMs_(aliveMs) {}

    /// Records non-empty addresses; returns true if the RPC address changed (the transport must learn it).
    bool setAddress(raft::NodeId id, const QString& rpc, const QString& http);
    void heard(raft::NodeId id, qint64 nowMs);
    void hello(raft::NodeId id, bool fresh, qint64 nowMs);
    void forget(raft::NodeId id) { peers_.erase(id); }

    const Peer* find(raft::NodeId id) const;
    /// Heard from within aliveMs(). This node is not in the book (the caller knows whether it is alive).
    bool alive(raft::NodeId id, qint64 nowMs) const;
    /// Milliseconds since last heard, -1 if never.
    qint64 sinceHeardMs(raft::NodeId id, qint64 nowMs) const;
    /// Nodes whose last hello, within `windowMs`, said they are fresh (ascending ids).
    std::vector<raft::NodeId> freshHellos(qint64 nowMs, qint64 windowMs) const;
    qint64 aliveMs() const { return aliveMs_; }

  private:
    raft::NodeId self_;
    qint64 aliveMs_;
    std::map<raft::NodeId, Peer> peers_;
};

}  // namespace raftwc::node
