// RpcTransport: authenticated, length-framed TCP links between nodes, carrying raft::Message and the
// app RPC envelope (requests/responses).
//
// Connections: one *outbound* connection per peer, opened on demand when something is queued for it
// and reused; the peer's inbound side is identified by the authenticated sender id of its frames.
// Raft messages and app requests go out on our outbound connection to the peer; app responses go back
// on the connection the request arrived on. Received frames from any connection are emitted as signals.
// A raft message for a peer WITHOUT a known address (typically: this process just restarted and the
// peer's address is not in the log; discovery only repeats it about once a second) goes back on the
// newest authenticated connection that peer opened to us, so we can answer a peer that talks to us
// before we learn its address (the receiver accepts Raft frames on its outbound connections too).
// Without an address or such a connection it is dropped and counted (raftDroppedNoPeer).
//
// Send queues (per peer) are bounded by `RpcConfig::maxQueueBytes` of queued payload:
//  - a raft message that does not fit evicts the OLDEST queued raft messages (Raft tolerates loss and
//    retransmits); if it still does not fit (the rest are app requests) the new message is dropped;
//  - an app request that does not fit fails at once with RpcError::Backpressure (never evicted).
// Frames are sealed (sequence number, timestamp) when they move from the queue into the socket, which
// holds at most ~kSocketHighWater bytes more. Queued items survive reconnects.
//
// Reconnect: after a failed or lost connection the peer waits an exponential backoff
// (backoffInitialMs doubling up to backoffMaxMs, "equal jitter" from a seeded PRNG) and then
// reconnects if anything is queued. Connect and idle timeouts close stuck/unused connections.
#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QObject>
#include <QString>

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>

#include "net/frame.h"
#include "net/messages.h"
#include "raft/types.h"

class QTcpServer;
class QTcpSocket;
class QTimer;

namespace raftwc::net {

struct RpcConfig {
    QHostAddress listenAddress{QHostAddress::AnyIPv4};
    quint16 listenPort = 0;       ///< 0 → any free port (see serverPort()).
    int connectTimeoutMs = 3000;  ///< Also: an inbound connection must authenticate within this time.
    int idleTimeoutMs = 60'000;   ///< Close connections without traffic for this long (0 = never).
    int backoffInitialMs = 100;
    int backoffMaxMs = 5000;
    std::uint64_t seed = 1;                         ///< Seeds the backoff jitter.
    qint64 maxQueueBytes = 16 * 1024 * 1024;        ///< Per-peer bound of queued payload bytes.
    std::size_t streamReplayWindowBits = 1u << 16;  ///< Replay window per sender across connections.
};

enum class RpcError : std::uint8_t {
    None = 0,
    Timeout,       ///< No response within the timeout.
    Disconnected,  ///< The connection carrying the request closed before the response.
    Backpressure,  ///< The peer's send queue is full.
    UnknownPeer,   ///< No address for the peer.
    Shutdown,      ///< The transport was destroyed.
};
QLatin1StringView rpcErrorName(RpcError e);

/// Reconnect delay after `attempt` (>= 1) consecutive failures: base = min(max, initial * 2^(attempt-1)),
/// "equal jitter": base/2 + uniform[0, base/2]. Deterministic for a given PRNG state.
int backoffDelayMs(int attempt, int initialMs, int maxMs, std::mt19937_64& rng);

/// Outcome of request(): `error == None` and `response` set, or an error.
struct RpcResult {
    RpcError error = RpcError::None;
    AppEnvelope response;  ///< Valid when ok(); response.status is the handler's status.
    bool ok() const { return error == RpcError::None; }
};

/// An app request received from a peer; pass it back to reply().
struct InboundRequest {
    NodeId from = raft::kNoNode;  ///< Authenticated sender.
    quint64 connectionId = 0;     ///< The connection to answer on.
    AppEnvelope envelope;
};

struct TransportStats {
    quint64 raftSent = 0;  ///< Raft messages written to a socket.
    quint64 raftReceived = 0;
    quint64 raftDroppedQueueFull = 0;  ///< Evicted or refused by the queue bound.
    quint64 raftDroppedNoPeer = 0;     ///< No address for `to` and no connection from it.
    quint64 raftSentReverse = 0;       ///< Of raftSent: written on a connection `to` opened to us.
    quint64 requestsSent = 0;
    quint64 requestsFailed = 0;  ///< Callbacks invoked with an error.
    quint64 requestsReceived = 0;
    quint64 connectsSucceeded = 0;
    quint64 connectsFailed = 0;
    DropCounters drops;
};

class RpcTransport : public QObject {
    Q_OBJECT
  public:
    using Callback = std::function<void(const RpcResult&)>;

    /// `clock` returns wall-clock ms since the epoch (frame timestamps, freshness checks).
    RpcTransport(RpcConfig cfg, AuthConfig auth, QObject* parent = nullptr,
                 std::function<qint64()> clock = {});
    /// Closes everything WITHOUT invoking pending callbacks (their captured state may already be gone
    /// when an owner destroys its children). Call shutdown() first to have them fail with Shutdown.
    ~RpcTransport() override;

    /// Stops listening, closes every connection, drops all queues and invokes every pending request
    /// callback with RpcError::Shutdown synchronously (from inside this call). Afterwards send()
    /// returns false and request() fails with Shutdown. Idempotent.
    void shutdown();

    /// Starts listening. False with `error` set on failure. Logs "open mode" without a key.
    bool listen(QString* error = nullptr);
    quint16 serverPort() const;
    NodeId selfId() const { return auth_.config().self; }

    /// Address book: where to connect to reach `peer` ("host:port"). Changing an address closes an
    /// existing outbound connection to the old one (queued items are kept).
    void setPeerAddress(NodeId peer, const QString& hostPort);
    /// Forgets the peer: closes its connection, drops its queue, fails its pending requests
    /// (Disconnected).
    void removePeer(NodeId peer);
    QString peerAddress(NodeId peer) const;

    /// Queues `m` for `m.to`. Without an address for `m.to`, writes it on the newest authenticated
    /// inbound connection from `m.to` if there is one. False if it was dropped (no address and no such
    /// connection, or the queue bound); see the header comment for the eviction policy.
    bool send(const raft::Message& m);

    /// Sends an app request; `cb` is invoked exactly once, always asynchronously (never from inside
    /// this call): with the response, or an error (Timeout after `timeoutMs`, Disconnected,
    /// Backpressure, UnknownPeer, Shutdown). Returns the request id.
    quint64 request(NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs, Callback cb);

    /// Answers `req` on the connection it came from. False if that connection is gone or its write
    /// buffer is over maxQueueBytes (the response is then lost; the requester times out).
    bool reply(const InboundRequest& req, quint16 status, const QByteArray& payload);

    bool isConnected(NodeId peer) const;
    /// Payload bytes queued for `peer` (not yet handed to the socket).
    qint64 queuedBytes(NodeId peer) const;
    int pendingRequests() const { return static_cast<int>(pending_.size()); }
    TransportStats stats() const;
    const DropCounters& dropCounters() const { return auth_.counters(); }

    /// Bytes the socket may hold before the queue stops feeding it.
    static constexpr qint64 kSocketHighWater = 256 * 1024;

  signals:
    void raftMessageReceived(const raftwc::raft::Message& message);
    void appRequestReceived(const raftwc::net::InboundRequest& request);
    /// Our outbound connection to `peer` is established / lost.
    void peerConnected(raftwc::raft::NodeId peer);
    void peerDisconnected(raftwc::raft::NodeId peer);

  private:
    struct Item {
        FrameKind kind = FrameKind::Raft;
        QByteArray payload;
        quint64 requestId = 0;  ///< App requests only.
    };
    struct Peer;
    struct Inbound;
    struct Pending {
        NodeId peer = raft::kNoNode;
        Callback cb;
        QTimer* timer = nullptr;
        quint64 connectionSerial = 0;  ///< Outbound connection it was written on (0 = still queued).
    };

    Peer* peer(NodeId id) const;
    /// The most recently active authenticated inbound connection from `id`, or nullptr.
    Inbound* inboundFrom(NodeId id) const;
    void connectPeer(Peer& p);
    void onConnected(NodeId id, quint64 serial);
    void onSocketGone(NodeId id, quint64 serial);
    void closePeerSocket(Peer& p, bool scheduleReconnect);
    void flush(Peer& p);
    void onOutboundReadyRead(NodeId id, quint64 serial);
    void onNewConnection();
    void onInboundReadyRead(quint64 connId);
    void closeInbound(quint64 connId);
    void detachAllSockets();
    /// Removes the pending request now and queues its callback (run by drainReady from the event loop).
    void completeLater(quint64 requestId, RpcResult result);
    void drainReady();
    void failRequestsOnConnection(NodeId id, quint64 serial);
    void housekeeping();
    void logDrop(DropReason r, const QString& where);
    /// Extracts whole frames from `buf`; returns false on a fatal framing/auth error.
    bool extractFrames(QByteArray& buf, StreamState& st, const std::function<bool(Frame&&)>& onFrame);

    RpcConfig cfg_;
    FrameAuth auth_;
    std::function<qint64()> clock_;
    QTcpServer* server_ = nullptr;
    QTimer* housekeeping_ = nullptr;
    std::unordered_map<NodeId, std::unique_ptr<Peer>> peers_;
    std::unordered_map<quint64, std::unique_ptr<Inbound>> inbound_;
    std::unordered_map<quint64, Pending> pending_;
    std::deque<std::pair<Callback, RpcResult>> ready_;
    bool shutDown_ = false;
    quint64 nextRequestId_ = 1;
    quint64 nextConnId_ = 1;
    quint64 nextSerial_ = 1;
    std::mt19937_64 rng_;
    QElapsedTimer mono_;  ///< Monotonic time for idle tracking and log rate limits.
    DropLogLimiter logLimiter_;
    qint64 lastNoPeerLogMs_ = -1;  ///< Rate limit of the "no address" debug line (mono_ time).
    quint64 noPeerSuppressed_ = 0;
    TransportStats stats_;
};

}  // namespace raftwc::net

Q_DECLARE_METATYPE(raftwc::raft::Message)
Q_DECLARE_METATYPE(raftwc::net::InboundRequest)
