#include "node/peer_book.h"

namespace raftwc::node {

bool PeerBook::setAddress(raft::NodeId id, const QString& rpc, const QString& http) {
    if (id == self_ || id == raft::kNoNode) return false;
    Peer& p = peers_[id];
    bool changed = false;
    if (!rpc.isEmpty() && p.rpc != rpc) {
        p.rpc = rpc;
        changed = true;
    }
    if (!http.isEmpty()) p.http = http;
    return changed;
}

void PeerBook::heard(raft::NodeId id, qint64 nowMs) {
    if (id == self_ || id == raft::kNoNode) return;
    peers_[id].lastHeardMs = nowMs;
}

void PeerBook::hello(raft::NodeId id, bool fresh, qint64 nowMs) {
    if (id == self_ || id == raft::kNoNode) return;
    Peer& p = peers_[id];
    p.freshHello = fresh;
    p.helloMs = nowMs;
}

const PeerBook::Peer* PeerBook::find(raft::NodeId id) const {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

qint64 PeerBook::sinceHeardMs(raft::NodeId id, qint64 nowMs) const {
    const Peer* p = find(id);
    return p && p->lastHeardMs >= 0 ? nowMs - p->lastHeardMs : -1;
}

bool PeerBook::alive(raft::NodeId id, qint64 nowMs) const {
    const qint64 since = sinceHeardMs(id, nowMs);
    return since >= 0 && since < aliveMs_;
}

std::vector<raft::NodeId> PeerBook::freshHellos(qint64 nowMs, qint64 windowMs) const {
    std::vector<raft::NodeId> out;
    for (const auto& [id, p] : peers_)
        if (p.freshHello && p.helloMs >= 0 && nowMs - p.helloMs < windowMs) out.push_back(id);
    return out;
}

}  // namespace raftwc::node
