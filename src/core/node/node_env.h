// The node's one I/O seam: everything the node logic (Node, JobCoordinator, ShardWorker) needs from the
// world — time and timers, its event loop and worker threads, randomness, the node-to-node RPC link and the
// discovery channel — as abstract interfaces. Production uses the Qt ones (qt_env.h: QTimer-driven event
// loop, QThreadPool, RpcTransport, MulticastChannel); the node simulation (tests/node/sim) drives the same
// node logic on a deterministic, seeded event queue with a simulated network, disk and crashes, the way
// TigerBeetle's testing cluster runs its real replica.
#pragma once

#include <QByteArray>
#include <QString>
#include <cstdint>
#include <functional>

#include "net/rpc_transport.h"
#include "raft/types.h"

namespace raftwc::net {
struct Probe;
struct Announce;
struct Hello;
}  // namespace raftwc::net

namespace raftwc::node {

/// Time, timers, the node's event loop and its worker threads.
class NodeEnv {
  public:
    virtual ~NodeEnv() = default;
    /// Monotonic milliseconds. Safe to call from worker threads.
    virtual qint64 nowMs() const = 0;
    /// Wall-clock milliseconds since the epoch (timestamps shown to people).
    virtual qint64 wallMs() const = 0;
    /// Runs `f` later on the node's thread; calls posted from one thread run in the order posted. Safe to
    /// call from worker threads.
    virtual void post(std::function<void()> f) = 0;
    /// Runs `f` once on the node's thread after `ms`; returns a timer id for cancel() (never 0).
    virtual std::uint64_t after(int ms, std::function<void()> f) = 0;
    /// Cancels a timer that has not fired yet (unknown ids are ignored).
    virtual void cancel(std::uint64_t timer) = 0;
    /// Runs `work` on a worker thread — it must not touch the node's objects — and then the function it
    /// returns on the node's thread.
    virtual void offLoop(std::function<std::function<void()>()> work) = 0;
    /// The same on a lane of its own for short work that something waits on (hashing an upload's chunks
    /// while members count): it never queues behind long counting work. Default: offLoop.
    virtual void offLoopUrgent(std::function<std::function<void()>()> work) { offLoop(std::move(work)); }
    /// 64 random bits (ids); seeded in the simulation.
    virtual std::uint64_t random64() = 0;
    /// Waits until no worker-thread work of this environment runs (before the node's objects go away).
    virtual void quiesce() {}
};

/// Node-to-node RPC: Raft messages and app requests (net::RpcTransport's contract).
class PeerLink {
  public:
    virtual ~PeerLink() = default;
    virtual void setPeerAddress(raft::NodeId peer, const QString& hostPort) = 0;
    virtual void removePeer(raft::NodeId peer) = 0;
    /// Best effort (Raft retransmits).
    virtual void send(const raft::Message& m) = 0;
    /// `cb` exactly once, never from inside this call: the response, or an error (Timeout after
    /// `timeoutMs`, Disconnected, Backpressure, UnknownPeer, Shutdown).
    virtual void request(raft::NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs,
                         std::function<void(const net::RpcResult&)> cb) = 0;
    /// Answers a request received through the node's receiveRequest().
    virtual void reply(const net::InboundRequest& req, quint16 status, const QByteArray& payload) = 0;
    virtual net::DropCounters dropCounters() const { return {}; }
};

/// The discovery channel (multicast or static peers): presence and leader announcements.
class DiscoveryLink {
  public:
    virtual ~DiscoveryLink() = default;
    virtual void sendHello(const net::Hello& h) = 0;
    virtual void sendProbe(const net::Probe& p) = 0;
    virtual void sendAnnounce(const net::Announce& a) = 0;
    virtual net::DropCounters dropCounters() const { return {}; }
};

/// A periodic timer on a NodeEnv (stopped when destroyed, so its callback may use its owner).
class EnvTimer {
  public:
    EnvTimer() = default;
    EnvTimer(const EnvTimer&) = delete;
    EnvTimer& operator=(const EnvTimer&) = delete;
    ~EnvTimer() { stop(); }
    void start(NodeEnv& env, int intervalMs, std::function<void()> f) {
        stop();
        env_ = &env;
        intervalMs_ = intervalMs;
        f_ = std::move(f);
        arm();
    }
    void stop() {
        if (env_ && id_) env_->cancel(id_);
        id_ = 0;
    }
    bool active() const { return id_ != 0; }

  private:
    void arm() {
        id_ = env_->after(intervalMs_, [this] {
            arm();  // before f_: f_ may stop() this timer
            f_();
        });
    }
    NodeEnv* env_ = nullptr;
    std::uint64_t id_ = 0;
    int intervalMs_ = 0;
    std::function<void()> f_;
};

}  // namespace raftwc::node
