#include "net/rpc_transport.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <variant>
#include <vector>

#include "net/address.h"
#include "net/log.h"
#include "net/rpc_transport_p.h"

namespace raftwc::net {

int backoffDelayMs(int attempt, int initialMs, int maxMs, std::mt19937_64& rng) {
    const int shift = std::clamp(attempt - 1, 0, 30);
    const qint64 base = std::max<qint64>(std::min<qint64>(qint64{std::max(initialMs, 1)} << shift, maxMs), 1);
    const qint64 half = base / 2;
    std::uniform_int_distribution<qint64> dist(0, half);
    return static_cast<int>(std::max<qint64>(1, base - half + dist(rng)));
}

QLatin1StringView rpcErrorName(RpcError e) {
    switch (e) {
        case RpcError::None:
            return QLatin1StringView("none");
        case RpcError::Timeout:
            return QLatin1StringView("timeout");
        case RpcError::Disconnected:
            return QLatin1StringView("disconnected");
        case RpcError::Backpressure:
            return QLatin1StringView("backpressure");
        case RpcError::UnknownPeer:
            return QLatin1StringView("unknown_peer");
        case RpcError::Shutdown:
            return QLatin1StringView("shutdown");
    }
    return QLatin1StringView("unknown");
}

RpcTransport::RpcTransport(RpcConfig cfg, AuthConfig auth, QObject* parent, std::function<qint64()> clock)
    : QObject(parent),
      cfg_(std::move(cfg)),
      auth_([&] {
          auth.replayWindowBits = cfg_.streamReplayWindowBits;
          return std::move(auth);
      }()),
      clock_(std::move(clock)),
      rng_(cfg_.seed) {
    mono_.start();
    if (!clock_) clock_ = [] { return QDateTime::currentMSecsSinceEpoch(); };
    int interval = std::max(cfg_.connectTimeoutMs / 2, 1);
    if (cfg_.idleTimeoutMs > 0) interval = std::min(interval, cfg_.idleTimeoutMs / 4);
    housekeeping_ = new QTimer(this);
    housekeeping_->setInterval(std::clamp(interval, 50, 5000));
    connect(housekeeping_, &QTimer::timeout, this, &RpcTransport::housekeeping);
    housekeeping_->start();
}

RpcTransport::~RpcTransport() {
    detachAllSockets();
    // Callbacks are dropped uncalled: see the header (call shutdown() first to deliver Shutdown).
    for (auto& [id, pd] : pending_)
        delete pd.timer;
    pending_.clear();
    ready_.clear();
}

void RpcTransport::detachAllSockets() {
    // Disconnect every socket first so no signal reaches a half-destroyed object.
    for (auto& [id, p] : peers_) {
        if (p->socket) {
            QObject::disconnect(p->socket, nullptr, this, nullptr);
            delete p->socket;
            p->socket = nullptr;
        }
        p->connected = false;
    }
    for (auto& [id, in] : inbound_) {
        QObject::disconnect(in->socket, nullptr, this, nullptr);
        delete in->socket;
    }
    inbound_.clear();
    if (server_) {
        QObject::disconnect(server_, nullptr, this, nullptr);
        delete server_;
        server_ = nullptr;
    }
}

void RpcTransport::shutdown() {
    shutDown_ = true;
    detachAllSockets();
    for (auto& [id, p] : peers_) {
        p->queue.clear();
        p->queued = 0;
        p->connectTimer->stop();
        p->backoffTimer->stop();
    }
    std::vector<quint64> ids;
    for (const auto& [id, pd] : pending_)
        ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (quint64 id : ids)
        completeLater(id, RpcResult{RpcError::Shutdown, {}});
    drainReady();
}

bool RpcTransport::listen(QString* error) {
    if (shutDown_) {
        if (error) *error = QStringLiteral("rpc: transport is shut down");
        return false;
    }
    if (server_ && server_->isListening()) return true;
    delete server_;
    server_ = new QTcpServer(this);
    connect(server_, &QTcpServer::newConnection, this, &RpcTransport::onNewConnection);
    if (!server_->listen(cfg_.listenAddress, cfg_.listenPort)) {
        const QString msg = QStringLiteral("rpc: listen on ") + cfg_.listenAddress.toString() +
                            QLatin1Char(':') + QString::number(cfg_.listenPort) +
                            QStringLiteral(" failed: ") + server_->errorString();
        if (error) *error = msg;
        qCWarning(lcNet).noquote() << msg;
        return false;
    }
    qCInfo(lcNet).noquote() << "rpc: listening on"
                            << cfg_.listenAddress.toString() + QLatin1Char(':') +
                                   QString::number(server_->serverPort());
    if (auth_.openMode())
        qCWarning(lcNet) << "rpc: no cluster key configured: running OPEN (frames are not authenticated)";
    return true;
}

quint16 RpcTransport::serverPort() const {
    return server_ ? server_->serverPort() : 0;
}

RpcTransport::Peer* RpcTransport::peer(NodeId id) const {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : it->second.get();
}

RpcTransport::Inbound* RpcTransport::inboundFrom(NodeId id) const {
    Inbound* best = nullptr;
    for (const auto& [cid, in] : inbound_) {
        if (in->rx.sender != id || in->socket->state() != QAbstractSocket::ConnectedState) continue;
        if (!best || in->lastActivity > best->lastActivity ||
            (in->lastActivity == best->lastActivity && cid > best->id))
            best = in.get();
    }
    return best;
}

QString RpcTransport::peerAddress(NodeId id) const {
    const Peer* p = peer(id);
    return p ? p->address.toString() : QString();
}

bool RpcTransport::isConnected(NodeId id) const {
    const Peer* p = peer(id);
    return p && p->connected;
}

qint64 RpcTransport::queuedBytes(NodeId id) const {
    const Peer* p = peer(id);
    return p ? p->queued : 0;
}

TransportStats RpcTransport::stats() const {
    TransportStats s = stats_;
    s.drops = auth_.counters();
    return s;
}

void RpcTransport::setPeerAddress(NodeId id, const QString& hostPort) {
    const std::optional<HostPort> hp = parseHostPort(hostPort);
    if (!hp) {
        qCWarning(lcNet).noquote() << "rpc: ignoring invalid address for peer" << id << ":" << hostPort;
        return;
    }
    Peer* p = peer(id);
    if (!p) {
        auto np = std::make_unique<Peer>();
        np->id = id;
        np->address = *hp;
        np->connectTimer = new QTimer(this);
        np->connectTimer->setSingleShot(true);
        np->backoffTimer = new QTimer(this);
        np->backoffTimer->setSingleShot(true);
        connect(np->connectTimer, &QTimer::timeout, this, [this, id] {
            Peer* q = peer(id);
            if (q && q->socket && !q->connected) {
                qCDebug(lcNet) << "rpc: connect timeout to peer" << id;
                onSocketGone(id, q->serial);
            }
        });
        connect(np->backoffTimer, &QTimer::timeout, this, [this, id] {
            Peer* q = peer(id);
            if (!q) return;
            q->inBackoff = false;
            if (!q->queue.empty()) connectPeer(*q);
        });
        peers_.emplace(id, std::move(np));
        return;
    }
    if (p->address == *hp) return;
    p->address = *hp;
    const bool wasConnected = p->connected;
    const quint64 serial = p->serial;
    if (p->socket) closePeerSocket(*p, false);
    p->attempts = 0;
    p->inBackoff = false;
    p->backoffTimer->stop();
    failRequestsOnConnection(id, serial);
    if (!p->queue.empty()) connectPeer(*p);
    if (wasConnected) emit peerDisconnected(id);
}

void RpcTransport::removePeer(NodeId id) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    std::unique_ptr<Peer> p = std::move(it->second);
    peers_.erase(it);
    const bool wasConnected = p->connected;
    if (p->socket) closePeerSocket(*p, false);
    // deleteLater: removePeer may be called from a slot while one of these timers is emitting.
    for (QTimer* t : {p->connectTimer, p->backoffTimer}) {
        t->stop();
        QObject::disconnect(t, nullptr, this, nullptr);
        t->deleteLater();
    }
    std::vector<quint64> ids;
    for (const auto& [rid, pd] : pending_)
        if (pd.peer == id) ids.push_back(rid);
    std::sort(ids.begin(), ids.end());
    for (quint64 rid : ids)
        completeLater(rid, RpcResult{RpcError::Disconnected, {}});
    if (wasConnected) emit peerDisconnected(id);
}

void RpcTransport::connectPeer(Peer& p) {
    if (p.socket || p.inBackoff) return;
    const NodeId id = p.id;
    const quint64 serial = nextSerial_++;
    p.serial = serial;
    p.connected = false;
    p.rx = StreamState{};
    p.rxBuf.clear();
    p.socket = new QTcpSocket(this);
    QTcpSocket* s = p.socket;
    connect(s, &QTcpSocket::connected, this, [this, id, serial] { onConnected(id, serial); });
    connect(s, &QTcpSocket::disconnected, this, [this, id, serial] { onSocketGone(id, serial); });
    connect(s, &QTcpSocket::errorOccurred, this, [this, id, serial] { onSocketGone(id, serial); });
    connect(s, &QTcpSocket::readyRead, this, [this, id, serial] { onOutboundReadyRead(id, serial); });
    connect(s, &QTcpSocket::bytesWritten, this, [this, id, serial] {
        Peer* q = peer(id);
        if (q && q->serial == serial && q->socket) flush(*q);
    });
    p.connectTimer->start(cfg_.connectTimeoutMs);
    s->connectToHost(p.address.host, p.address.port);
}

void RpcTransport::onConnected(NodeId id, quint64 serial) {
    Peer* p = peer(id);
    if (!p || p->serial != serial || !p->socket) return;
    p->connected = true;
    p->attempts = 0;
    p->connectTimer->stop();
    p->lastActivity = mono_.elapsed();
    p->socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    ++stats_.connectsSucceeded;
    flush(*p);
    emit peerConnected(id);
}

void RpcTransport::closePeerSocket(Peer& p, bool scheduleReconnect) {
    if (p.socket) {
        QObject::disconnect(p.socket, nullptr, this, nullptr);
        p.socket->abort();
        p.socket->deleteLater();
        p.socket = nullptr;
    }
    p.connected = false;
    p.rx = StreamState{};
    p.rxBuf.clear();
    p.connectTimer->stop();
    if (scheduleReconnect) {
        ++p.attempts;
        p.inBackoff = true;
        p.backoffTimer->start(backoffDelayMs(p.attempts, cfg_.backoffInitialMs, cfg_.backoffMaxMs, rng_));
    }
}

void RpcTransport::onSocketGone(NodeId id, quint64 serial) {
    Peer* p = peer(id);
    if (!p || p->serial != serial || !p->socket) return;
    const bool wasConnected = p->connected;
    if (!wasConnected) ++stats_.connectsFailed;
    qCDebug(lcNet) << "rpc: connection to peer" << id << (wasConnected ? "lost:" : "failed:")
                   << p->socket->errorString();
    closePeerSocket(*p, true);
    failRequestsOnConnection(id, serial);
    if (wasConnected) emit peerDisconnected(id);
}

void RpcTransport::failRequestsOnConnection(NodeId id, quint64 serial) {
    if (serial == 0) return;
    std::vector<quint64> ids;
    for (const auto& [rid, pd] : pending_)
        if (pd.peer == id && pd.connectionSerial == serial) ids.push_back(rid);
    std::sort(ids.begin(), ids.end());
    for (quint64 rid : ids)
        completeLater(rid, RpcResult{RpcError::Disconnected, {}});
}

void RpcTransport::flush(Peer& p) {
    if (!p.connected || !p.socket) return;
    while (!p.queue.empty() && p.socket->bytesToWrite() < kSocketHighWater) {
        Item item = std::move(p.queue.front());
        p.queue.pop_front();
        p.queued -= item.payload.size();
        if (item.kind == FrameKind::AppRequest) {
            auto it = pending_.find(item.requestId);
            if (it == pending_.end()) continue;  // already timed out
            it->second.connectionSerial = p.serial;
        } else {
            ++stats_.raftSent;
        }
        p.socket->write(auth_.seal(item.kind, item.payload, clock_()));
        p.lastActivity = mono_.elapsed();
    }
}

bool RpcTransport::send(const raft::Message& m) {
    if (shutDown_) return false;
    Peer* p = peer(m.to);
    if (!p) {
        // No address for `to` (e.g. we restarted and have not heard it announce itself yet): answer on
        // an authenticated connection it opened to us, if any, instead of dropping the message.
        if (Inbound* in = inboundFrom(m.to)) {
            const QByteArray payload = encodeRaftMessage(m);
            if (payload.size() <= kMaxStreamPayload && in->socket->bytesToWrite() <= cfg_.maxQueueBytes) {
                in->socket->write(auth_.seal(FrameKind::Raft, payload, clock_()));
                in->lastActivity = mono_.elapsed();
                ++stats_.raftSent;
                ++stats_.raftSentReverse;
                return true;
            }
        }
        ++stats_.raftDroppedNoPeer;
        ++noPeerSuppressed_;
        const qint64 now = mono_.elapsed();
        if (lastNoPeerLogMs_ < 0 || now - lastNoPeerLogMs_ >= 1000) {
            qCDebug(lcNet).noquote() << QStringLiteral(
                                            "rpc: %1 raft message(s) for peer %2 dropped: no address and "
                                            "no connection from it")
                                            .arg(noPeerSuppressed_)
                                            .arg(m.to);
            lastNoPeerLogMs_ = now;
            noPeerSuppressed_ = 0;
        }
        return false;
    }
    QByteArray payload = encodeRaftMessage(m);
    const qint64 size = payload.size();
    if (size > cfg_.maxQueueBytes || size > kMaxStreamPayload) {
        ++stats_.raftDroppedQueueFull;
        return false;
    }
    while (p->queued + size > cfg_.maxQueueBytes) {
        auto it = std::find_if(p->queue.begin(), p->queue.end(),
                               [](const Item& i) { return i.kind == FrameKind::Raft; });
        if (it == p->queue.end()) {
            ++stats_.raftDroppedQueueFull;
            return false;
        }
        p->queued -= it->payload.size();
        p->queue.erase(it);
        ++stats_.raftDroppedQueueFull;
    }
    p->queue.push_back(Item{FrameKind::Raft, std::move(payload), 0});
    p->queued += size;
    if (p->connected)
        flush(*p);
    else
        connectPeer(*p);
    return true;
}

quint64 RpcTransport::request(NodeId peerId, quint16 method, const QByteArray& payload, int timeoutMs,
                              Callback cb) {
    const quint64 id = nextRequestId_++;
    ++stats_.requestsSent;
    Pending pd;
    pd.peer = peerId;
    pd.cb = std::move(cb);
    pending_.emplace(id, std::move(pd));
    if (shutDown_) {
        completeLater(id, RpcResult{RpcError::Shutdown, {}});
        return id;
    }
    Peer* p = peer(peerId);
    if (!p) {
        completeLater(id, RpcResult{RpcError::UnknownPeer, {}});
        return id;
    }
    AppEnvelope env;
    env.requestId = id;
    env.method = method;
    env.payload = payload;
    QByteArray bytes = encodeAppEnvelope(env);
    const qint64 size = bytes.size();
    if (p->queued + size > cfg_.maxQueueBytes || size > kMaxStreamPayload) {
        completeLater(id, RpcResult{RpcError::Backpressure, {}});
        return id;
    }
    auto* timer = new QTimer(this);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, this, [this, id, peerId] {
        if (Peer* q = peer(peerId)) {
            auto it = std::find_if(q->queue.begin(), q->queue.end(), [id](const Item& i) {
                return i.kind == FrameKind::AppRequest && i.requestId == id;
            });
            if (it != q->queue.end()) {
                q->queued -= it->payload.size();
                q->queue.erase(it);
            }
        }
        completeLater(id, RpcResult{RpcError::Timeout, {}});
    });
    pending_[id].timer = timer;
    timer->start(std::max(timeoutMs, 0));
    p->queue.push_back(Item{FrameKind::AppRequest, std::move(bytes), id});
    p->queued += size;
    if (p->connected)
        flush(*p);
    else
        connectPeer(*p);
    return id;
}

void RpcTransport::completeLater(quint64 requestId, RpcResult result) {
    auto it = pending_.find(requestId);
    if (it == pending_.end()) return;
    Pending pd = std::move(it->second);
    pending_.erase(it);
    if (pd.timer) {
        pd.timer->stop();
        pd.timer->deleteLater();
    }
    if (!result.ok()) ++stats_.requestsFailed;
    const bool wasEmpty = ready_.empty();
    ready_.emplace_back(std::move(pd.cb), std::move(result));
    if (wasEmpty) QMetaObject::invokeMethod(this, &RpcTransport::drainReady, Qt::QueuedConnection);
}

void RpcTransport::drainReady() {
    QPointer<RpcTransport> self(this);
    while (!ready_.empty()) {
        auto [cb, result] = std::move(ready_.front());
        ready_.pop_front();
        if (cb) cb(result);
        if (!self) return;
    }
}

bool RpcTransport::extractFrames(QByteArray& buf, StreamState& st,
                                 const std::function<bool(Frame&&)>& onFrame) {
    qsizetype pos = 0;
    bool ok = true;
    const qint64 now = clock_();
    while (ok) {
        const QByteArrayView rest = QByteArrayView(buf).sliced(pos);
        DropReason why = DropReason::Truncated;
        const qsizetype size = FrameAuth::streamFrameSize(rest, &why);
        if (size < 0) {
            auth_.countDrop(why);
            logDrop(why, QStringLiteral("stream"));
            ok = false;
            break;
        }
        if (size == 0 || rest.size() < size) break;
        OpenResult r = auth_.openStreamFrame(rest.first(size), now, st);
        pos += size;
        if (!r.ok()) {
            logDrop(r.reason, QStringLiteral("stream"));
            ok = false;
            break;
        }
        if (!onFrame(std::move(*r.frame))) ok = false;
    }
    buf.remove(0, pos);
    return ok;
}

void RpcTransport::onOutboundReadyRead(NodeId id, quint64 serial) {
    Peer* p = peer(id);
    if (!p || p->serial != serial || !p->socket) return;
    p->rxBuf.append(p->socket->readAll());
    p->lastActivity = mono_.elapsed();
    std::vector<raft::Message> received;  // raft messages the peer sent back on our connection
    const bool ok = extractFrames(p->rxBuf, p->rx, [this, id, &received](Frame&& f) {
        if (f.header.sender != id) {
            auth_.countDrop(DropReason::SenderMismatch);
            logDrop(DropReason::SenderMismatch, QStringLiteral("outbound"));
            return false;
        }
        if (f.header.kind == FrameKind::Raft) {
            std::optional<raft::Message> m = decodeRaftMessage(f.payload);
            if (!m || m->from != id) {
                const DropReason r = m ? DropReason::SenderMismatch : DropReason::BadPayload;
                auth_.countDrop(r);
                logDrop(r, QStringLiteral("outbound"));
                return false;
            }
            received.push_back(std::move(*m));
            return true;
        }
        if (f.header.kind != FrameKind::AppResponse) {
            auth_.countDrop(DropReason::BadKind);
            logDrop(DropReason::BadKind, QStringLiteral("outbound"));
            return false;
        }
        std::optional<AppEnvelope> env = decodeAppEnvelope(f.payload);
        if (!env) {
            auth_.countDrop(DropReason::BadPayload);
            logDrop(DropReason::BadPayload, QStringLiteral("outbound"));
            return false;
        }
        auto it = pending_.find(env->requestId);
        if (it != pending_.end() && it->second.peer == id) {
            const quint64 rid = env->requestId;
            completeLater(rid, RpcResult{RpcError::None, std::move(*env)});
        }
        return true;
    });
    if (!ok) onSocketGone(id, serial);
    // Emit after the buffer work: slots may close connections or remove peers.
    QPointer<RpcTransport> self(this);
    for (const raft::Message& m : received) {
        ++stats_.raftReceived;
        emit raftMessageReceived(m);
        if (!self) return;
    }
}

void RpcTransport::housekeeping() {
    const qint64 now = mono_.elapsed();
    const qint64 idle = cfg_.idleTimeoutMs;
    std::vector<NodeId> idlePeers;
    for (const auto& entry : peers_) {
        const NodeId id = entry.first;
        const Peer& p = *entry.second;
        if (idle <= 0 || !p.connected || !p.queue.empty() || now - p.lastActivity < idle) continue;
        const bool busy = std::any_of(pending_.begin(), pending_.end(), [&](const auto& kv) {
            return kv.second.peer == id && kv.second.connectionSerial == p.serial;
        });
        if (!busy) idlePeers.push_back(id);
    }
    for (NodeId id : idlePeers) {
        Peer* p = peer(id);
        if (!p) continue;
        qCDebug(lcNet) << "rpc: closing idle connection to peer" << id;
        closePeerSocket(*p, false);
        emit peerDisconnected(id);
    }
    std::vector<quint64> idleIn;
    for (const auto& [cid, in] : inbound_) {
        const bool unauthenticated =
            in->rx.sender == raft::kNoNode && now - in->acceptedAt >= cfg_.connectTimeoutMs;
        // A connection waiting for our reply stays open (up to 10 idle periods, in case no reply comes).
        const qint64 limit = in->unanswered > 0 ? 10 * idle : idle;
        if (unauthenticated || (idle > 0 && now - in->lastActivity >= limit)) idleIn.push_back(cid);
    }
    for (quint64 cid : idleIn)
        closeInbound(cid);
}

void RpcTransport::logDrop(DropReason r, const QString& where) {
    std::uint64_t suppressed = 0;
    if (logLimiter_.shouldLog(r, mono_.elapsed(), &suppressed))
        qCWarning(lcNet).noquote()
            << "rpc: dropped" << where << "frame, reason" << dropReasonName(r)
            << QStringLiteral("(%1 more suppressed since the last line);").arg(suppressed)
            << "closing the connection";
}

}  // namespace raftwc::net
