// The production side of the node's I/O seam (node_env.h): the Qt event loop and QThreadPool as the
// NodeEnv, net::RpcTransport as the PeerLink, net::MulticastChannel as the DiscoveryLink.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <unordered_map>

#include "node/node_env.h"

namespace raftwc::net {
class MulticastChannel;
}

namespace raftwc::node {

/// The thread that creates it is the node's thread. Timers are precise QObject timers; worker-thread work
/// runs on QThreadPool::globalInstance().
class QtNodeEnv final : public QObject, public NodeEnv {
  public:
    QtNodeEnv();
    /// Waits for its worker-thread work (quiesce) and drops timers that did not fire.
    ~QtNodeEnv() override;

    qint64 nowMs() const override { return clock_.elapsed(); }
    qint64 wallMs() const override;
    void post(std::function<void()> f) override;
    std::uint64_t after(int ms, std::function<void()> f) override;
    void cancel(std::uint64_t timer) override;
    void offLoop(std::function<std::function<void()>()> work) override;
    void offLoopUrgent(std::function<std::function<void()>()> work) override;
    std::uint64_t random64() override;
    void quiesce() override;

  protected:
    void timerEvent(QTimerEvent* e) override;

  private:
    QElapsedTimer clock_;
    QThreadPool urgent_;                                     ///< one thread: offLoopUrgent's lane
    std::unordered_map<int, std::function<void()>> timers_;  ///< Qt timer id → callback
};

/// net::RpcTransport as the node's PeerLink (the transport stays the node's QObject child).
class RpcPeerLink final : public PeerLink {
  public:
    explicit RpcPeerLink(net::RpcTransport& t) : t_(t) {}
    void setPeerAddress(raft::NodeId peer, const QString& hostPort) override;
    void removePeer(raft::NodeId peer) override;
    void send(const raft::Message& m) override;
    void request(raft::NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs,
                 std::function<void(const net::RpcResult&)> cb) override;
    void reply(const net::InboundRequest& req, quint16 status, const QByteArray& payload) override;
    net::DropCounters dropCounters() const override;

  private:
    net::RpcTransport& t_;
};

/// net::MulticastChannel as the node's DiscoveryLink.
class ChannelDiscoveryLink final : public DiscoveryLink {
  public:
    explicit ChannelDiscoveryLink(net::MulticastChannel& c) : c_(c) {}
    void sendHello(const net::Hello& h) override;
    void sendProbe(const net::Probe& p) override;
    void sendAnnounce(const net::Announce& a) override;
    net::DropCounters dropCounters() const override;

  private:
    net::MulticastChannel& c_;
};

}  // namespace raftwc::node
