#include "node/discovery.h"

#include <algorithm>

#include "node/options.h"
#include "node/peer_book.h"

namespace raftwc::node {

namespace {
constexpr qint64 kLeaderFreshMs = 3000;  ///< An announcement this recent means a leader is out there.
constexpr qint64 kJoinRetryMs = 1000;
}  // namespace

void Discovery::start(bool hasData, qint64 nowMs) {
    phase_ = hasData ? Phase::Member : Phase::Discovering;
    startMs_ = nowMs;
}

const char* Discovery::phaseName(Phase p) {
    switch (p) {
        case Phase::Discovering:
            return "discovering";
        case Phase::Joining:
            return "joining";
        case Phase::Member:
            return "member";
        case Phase::Removed:
            return "removed";
    }
    return "unknown";
}

bool Discovery::announced(Leader l) {
    if (l.id == self_ || l.id == raft::kNoNode) return false;
    if (l.term >= leader_.term) leader_ = std::move(l);
    return phase_ == Phase::Discovering || phase_ == Phase::Joining;
}

void Discovery::appendReceived() {
    if (phase_ == Phase::Discovering) phase_ = Phase::Joining;
}

bool Discovery::mayJoin(qint64 nowMs) const {
    return !joinInFlight_ && nowMs - lastJoinMs_ >= kJoinRetryMs && leader_.id != raft::kNoNode &&
           (phase_ == Phase::Discovering || phase_ == Phase::Joining);
}

void Discovery::joinStarted(qint64 nowMs) {
    joinInFlight_ = true;
    lastJoinMs_ = nowMs;
}

void Discovery::joinFinished(bool accepted) {
    joinInFlight_ = false;
    if (accepted && phase_ == Phase::Discovering) phase_ = Phase::Joining;
}

Discovery::Step Discovery::onTimer(qint64 nowMs, bool inConfig, bool fresh, const PeerBook& peers) {
    Step s;
    // Every node says hello once a period (presence for liveness); while looking for a cluster, on every
    // tick of this timer.
    if (phase_ == Phase::Discovering || phase_ == Phase::Joining ||
        nowMs - lastHelloMs_ >= NodeOptions::kHelloIntervalMs) {
        lastHelloMs_ = nowMs;
        s.hello = true;
    }
    if (phase_ == Phase::Member || phase_ == Phase::Removed) return s;
    s.probe = true;
    if (inConfig) {
        phase_ = Phase::Member;
        s.becameMember = true;
        return s;
    }
    if (leader_.id != raft::kNoNode && nowMs - leader_.heardMs < kLeaderFreshMs) {
        s.join = mayJoin(nowMs);
        return s;
    }
    // Bootstrap: only a fresh node in the discovering phase, after listening long enough, with enough
    // fresh nodes heard, and only the lowest id among them (the others join it).
    if (phase_ != Phase::Discovering || !fresh || nowMs - startMs_ < discoveryMs_) return s;
    if (bootstrapExpect_ <= 0) {  // told never to form a cluster: join one when it is heard
        s.candidates = -1;
        return s;
    }
    std::vector<raft::NodeId> candidates{self_};
    for (raft::NodeId id : peers.freshHellos(nowMs, std::max<qint64>(2000, discoveryMs_)))
        candidates.push_back(id);
    s.candidates = int(candidates.size());
    if (s.candidates < bootstrapExpect_) return s;
    s.bootstrap = *std::min_element(candidates.begin(), candidates.end()) == self_;
    return s;
}

}  // namespace raftwc::node
