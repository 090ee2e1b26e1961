// The node's discovery side: probes, announcements and hellos on the multicast group (or static peers),
// joining a cluster it hears, and bootstrapping a new one only when --bootstrap-expect nodes agree.
#include <QPointer>

#include "net/multicast_channel.h"
#include "net/rpc_transport.h"
#include "node/commands.h"
#include "node/node.h"
#include "storage/raft_log_store.h"

namespace raftwc::node {

void Node::receiveProbe(const net::Probe& p, raft::NodeId sender) {
    if (failed_ || !raft_ || sender != p.id) return;
    heard(p.id, p.rpcAddress, p.httpAddress);
    if (raft_ && raft_->status().role == raft::Role::Leader) sendAnnounce();
}

void Node::receiveAnnounce(const net::Announce& a, raft::NodeId sender) {
    if (failed_ || !raft_ || sender != a.leaderId || a.leaderId == id_) return;
    if (!clusterId_.isEmpty() && !a.clusterId.isEmpty() && a.clusterId != clusterId_) {
        if (nowMs() - lastForeignClusterLogMs_ > 10000) {
            lastForeignClusterLogMs_ = nowMs();
            qWarning().noquote() << QStringLiteral(
                                        "ignoring leader %1 of cluster %2: this node's data belongs to "
                                        "cluster %3 (refusing to join "
                                        "another cluster; use a fresh --data-dir to join it)")
                                        .arg(nodeIdString(a.leaderId), a.clusterId, clusterId_);
        }
        return;
    }
    heard(a.leaderId, a.leaderRpcAddress, a.leaderHttpAddress);
    if (discovery_.announced(
            {a.leaderId, a.term, a.leaderRpcAddress, a.leaderHttpAddress, a.clusterId, nowMs()}))
        tryJoin();
}

void Node::receiveHello(const net::Hello& hl, raft::NodeId sender) {
    if (failed_ || !raft_ || sender != hl.id || hl.id == id_) return;
    heard(hl.id, hl.rpcAddress, hl.httpAddress);
    peers_.hello(hl.id, !hl.hasData && hl.clusterId.isEmpty(), nowMs());
}

// ---- discovery, bootstrap, join ----------------------------------------------------------------

void Node::onDiscoveryTimer() {
    if (failed_ || stopping_) return;
    const bool hasData = store_->lastIndex() > 0;
    const qint64 now = nowMs();
    const Discovery::Step step =
        discovery_.onTimer(now, raft_->status().conf.contains(id_), !hasData && clusterId_.isEmpty(), peers_);
    if (step.hello) disco_->sendHello({id_, rpcAddress_, httpAddress_, hasData, clusterId_});
    if (step.probe) disco_->sendProbe({id_, rpcAddress_, httpAddress_, clusterId_, hasData});
    if (step.becameMember)
        qInfo().noquote() << "joined the cluster" << clusterId_ << "as" << nodeIdString(id_);
    if (step.join) tryJoin();
    if (step.bootstrap) {
        bootstrapCluster(step.candidates);
    } else if (step.candidates < 0 && now - lastWaitLogMs_ > 5000) {
        lastWaitLogMs_ = now;
        qInfo().noquote() << QStringLiteral(
            "no cluster heard; this node does not form one alone: start every node of a new cluster with "
            "--bootstrap-expect N (the cluster's size), or one with --single");
    } else if (step.candidates > 0 && step.candidates < opt_.bootstrapExpect && now - lastWaitLogMs_ > 5000) {
        lastWaitLogMs_ = now;
        qInfo().noquote() << QStringLiteral("waiting for %1 nodes before bootstrapping (heard %2)")
                                 .arg(opt_.bootstrapExpect)
                                 .arg(step.candidates);
    }
}

void Node::tryJoin() {
    if (!discovery_.mayJoin(nowMs())) return;
    discovery_.joinStarted(nowMs());
    const Discovery::Leader leader = discovery_.leader();
    setPeerAddress(leader.id, leader.rpc, leader.http);
    link_->request(leader.id, quint16(RpcMethod::Join), encodeMemberAddress({rpcAddress_, httpAddress_}),
                   5000, [this, leader](const net::RpcResult& r) {
                       const bool accepted = r.ok() && r.response.status == quint16(net::RpcStatus::Ok);
                       const bool wasDiscovering = discovery_.phase() == Discovery::Phase::Discovering;
                       discovery_.joinFinished(accepted);
                       if (!accepted) return;  // retried by the timer
                       if (clusterId_.isEmpty() && !leader.clusterId.isEmpty()) {
                           clusterId_ = leader.clusterId;
                           if (auto st = store_->setIdentity(clusterId_.toStdString(), id_); !st.ok())
                               fatal(QString::fromStdString(st.message()));
                       }
                       if (wasDiscovering)
                           qInfo().noquote()
                               << "join accepted by leader" << nodeIdString(leader.id) << "of cluster"
                               << leader.clusterId << "- catching up as a learner";
                   });
}

void Node::bootstrapCluster(int candidates) {
    clusterId_ = randomUuid(*env_);
    if (auto st = store_->setIdentity(clusterId_.toStdString(), id_); !st.ok()) {
        fatal(QString::fromStdString(st.message()));
        return;
    }
    // Bootstrap as the single voter; the others join through the log.
    if (!raft_->bootstrap({id_})) return;
    discovery_.bootstrapped();
    qInfo().noquote() << QStringLiteral(
                             "no leader found: bootstrapping new cluster %1 (%2 node(s) heard; lowest id)")
                             .arg(clusterId_)
                             .arg(candidates);
    raft_->campaign();  // our addresses go into the log once we lead (maybeRecordOwnAddress)
    scheduleReady();
}

void Node::onAnnounceTimer() {
    if (failed_ || !raft_) return;
    if (raft_->status().role == raft::Role::Leader) sendAnnounce();
    // Throttled statusChanged.
    if (statusEmitPending_ && nowMs() - lastStatusEmitMs_ >= 100) {
        statusEmitPending_ = false;
        lastStatusEmitMs_ = nowMs();
        emit statusChanged();
    }
}

void Node::sendAnnounce() {
    const raft::Status st = raft_->status();
    net::Announce a;
    a.term = st.term;
    a.leaderId = id_;
    a.leaderRpcAddress = rpcAddress_;
    a.leaderHttpAddress = httpAddress_;
    a.commit = st.commit;
    a.clusterId = clusterId_;
    const auto confs = store_->confEntries();
    a.configVersion = confs.empty() ? 0 : confs.back().index;
    a.memberCount = std::uint32_t(st.conf.voters.size() + st.conf.learners.size());
    disco_->sendAnnounce(a);
}

}  // namespace raftwc::node
