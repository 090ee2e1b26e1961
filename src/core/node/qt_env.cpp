#include "node/qt_env.h"

#include <QDateTime>
#include <QMetaObject>
#include <QRandomGenerator>
#include <QThreadPool>
#include <QTimerEvent>

#include "net/multicast_channel.h"

namespace raftwc::node {

QtNodeEnv::QtNodeEnv() {
    clock_.start();
    urgent_.setMaxThreadCount(1);
}

QtNodeEnv::~QtNodeEnv() {
    quiesce();
    for (const auto& [id, f] : timers_)
        killTimer(id);
}

qint64 QtNodeEnv::wallMs() const {
    return QDateTime::currentMSecsSinceEpoch();
}

void QtNodeEnv::post(std::function<void()> f) {
    QMetaObject::invokeMethod(this, std::move(f), Qt::QueuedConnection);
}

std::uint64_t QtNodeEnv::after(int ms, std::function<void()> f) {
    const int id = startTimer(std::max(0, ms), Qt::PreciseTimer);
    if (id == 0) {  // no timer available (never seen): run it from the queue instead of losing it
        post(std::move(f));
        return 0;
    }
    timers_[id] = std::move(f);
    return std::uint64_t(id);
}

void QtNodeEnv::cancel(std::uint64_t timer) {
    if (timer == 0) return;
    if (timers_.erase(int(timer))) killTimer(int(timer));
}

void QtNodeEnv::timerEvent(QTimerEvent* e) {
    auto it = timers_.find(e->timerId());
    killTimer(e->timerId());  // one-shot
    if (it == timers_.end()) return;
    std::function<void()> f = std::move(it->second);
    timers_.erase(it);
    f();
}

void QtNodeEnv::offLoop(std::function<std::function<void()>()> work) {
    // The destructor waits for the pool (quiesce), so this object outlives the work; a continuation still
    // queued when it goes is dropped with it.
    QThreadPool::globalInstance()->start([this, work = std::move(work)] {
        std::function<void()> then = work();
        if (then) QMetaObject::invokeMethod(this, std::move(then), Qt::QueuedConnection);
    });
}

void QtNodeEnv::offLoopUrgent(std::function<std::function<void()>()> work) {
    urgent_.start([this, work = std::move(work)] {
        std::function<void()> then = work();
        if (then) QMetaObject::invokeMethod(this, std::move(then), Qt::QueuedConnection);
    });
}

std::uint64_t QtNodeEnv::random64() {
    return QRandomGenerator::system()->generate64();
}

void QtNodeEnv::quiesce() {
    urgent_.waitForDone();
    QThreadPool::globalInstance()->waitForDone();
}

void RpcPeerLink::setPeerAddress(raft::NodeId peer, const QString& hostPort) {
    t_.setPeerAddress(peer, hostPort);
}
void RpcPeerLink::removePeer(raft::NodeId peer) {
    t_.removePeer(peer);
}
void RpcPeerLink::send(const raft::Message& m) {
    t_.send(m);
}
void RpcPeerLink::request(raft::NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs,
                          std::function<void(const net::RpcResult&)> cb) {
    t_.request(peer, method, payload, timeoutMs, std::move(cb));
}
void RpcPeerLink::reply(const net::InboundRequest& req, quint16 status, const QByteArray& payload) {
    t_.reply(req, status, payload);
}
net::DropCounters RpcPeerLink::dropCounters() const {
    return t_.dropCounters();
}

void ChannelDiscoveryLink::sendHello(const net::Hello& h) {
    c_.sendHello(h);
}
void ChannelDiscoveryLink::sendProbe(const net::Probe& p) {
    c_.sendProbe(p);
}
void ChannelDiscoveryLink::sendAnnounce(const net::Announce& a) {
    c_.sendAnnounce(a);
}
net::DropCounters ChannelDiscoveryLink::dropCounters() const {
    return c_.dropCounters();
}

}  // namespace raftwc::node
