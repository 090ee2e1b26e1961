// The RPC transport's inbound side: accepting connections, reading authenticated frames from them,
// handing Raft messages and app requests to the node, and sending replies on the connection they came on.
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>

#include "net/log.h"
#include "net/rpc_transport.h"
#include "net/rpc_transport_p.h"

namespace raftwc::net {

using detail::kMaxInboundConnections;

void RpcTransport::onNewConnection() {
    while (server_ && server_->hasPendingConnections()) {
        QTcpSocket* s = server_->nextPendingConnection();
        if (!s) break;
        if (static_cast<qsizetype>(inbound_.size()) >= kMaxInboundConnections) {
            qCWarning(lcNet) << "rpc: too many inbound connections, refusing one";
            s->abort();
            s->deleteLater();
            continue;
        }
        const quint64 cid = nextConnId_++;
        auto in = std::make_unique<Inbound>();
        in->id = cid;
        in->socket = s;
        in->lastActivity = mono_.elapsed();
        in->acceptedAt = in->lastActivity;
        s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        connect(s, &QTcpSocket::readyRead, this, [this, cid] { onInboundReadyRead(cid); });
        connect(s, &QTcpSocket::disconnected, this, [this, cid] { closeInbound(cid); });
        connect(s, &QTcpSocket::errorOccurred, this, [this, cid] { closeInbound(cid); });
        inbound_.emplace(cid, std::move(in));
        // Data may already be buffered.
        if (s->bytesAvailable() > 0) onInboundReadyRead(cid);
    }
}

void RpcTransport::onInboundReadyRead(quint64 cid) {
    auto it = inbound_.find(cid);
    if (it == inbound_.end()) return;
    Inbound& in = *it->second;
    in.buf.append(in.socket->readAll());
    in.lastActivity = mono_.elapsed();
    std::vector<std::variant<raft::Message, InboundRequest>> received;  // in arrival order
    const bool ok = extractFrames(in.buf, in.rx, [&](Frame&& f) {
        switch (f.header.kind) {
            case FrameKind::Raft: {
                std::optional<raft::Message> m = decodeRaftMessage(f.payload);
                if (!m) {
                    auth_.countDrop(DropReason::BadPayload);
                    logDrop(DropReason::BadPayload, QStringLiteral("inbound"));
                    return false;
                }
                if (m->from != f.header.sender) {
                    auth_.countDrop(DropReason::SenderMismatch);
                    logDrop(DropReason::SenderMismatch, QStringLiteral("inbound"));
                    return false;
                }
                received.emplace_back(std::move(*m));
                return true;
            }
            case FrameKind::AppRequest: {
                std::optional<AppEnvelope> env = decodeAppEnvelope(f.payload);
                if (!env) {
                    auth_.countDrop(DropReason::BadPayload);
                    logDrop(DropReason::BadPayload, QStringLiteral("inbound"));
                    return false;
                }
                ++in.unanswered;
                received.emplace_back(InboundRequest{f.header.sender, cid, std::move(*env)});
                return true;
            }
            default:
                auth_.countDrop(DropReason::BadKind);
                logDrop(DropReason::BadKind, QStringLiteral("inbound"));
                return false;
        }
    });
    if (!ok) closeInbound(cid);
    // Emit after the buffer work: slots may close connections or remove peers.
    QPointer<RpcTransport> self(this);
    for (const auto& item : received) {
        if (const auto* m = std::get_if<raft::Message>(&item)) {
            ++stats_.raftReceived;
            emit raftMessageReceived(*m);
        } else {
            ++stats_.requestsReceived;
            emit appRequestReceived(std::get<InboundRequest>(item));
        }
        if (!self) return;
    }
}

void RpcTransport::closeInbound(quint64 cid) {
    auto it = inbound_.find(cid);
    if (it == inbound_.end()) return;
    QTcpSocket* s = it->second->socket;
    inbound_.erase(it);
    QObject::disconnect(s, nullptr, this, nullptr);
    s->abort();
    s->deleteLater();
}

bool RpcTransport::reply(const InboundRequest& req, quint16 status, const QByteArray& payload) {
    auto it = inbound_.find(req.connectionId);
    if (it == inbound_.end()) return false;
    Inbound& in = *it->second;
    if (in.rx.sender != req.from || in.socket->bytesToWrite() > cfg_.maxQueueBytes) return false;
    AppEnvelope env;
    env.requestId = req.envelope.requestId;
    env.method = req.envelope.method;
    env.status = status;
    env.payload = payload;
    in.socket->write(auth_.seal(FrameKind::AppResponse, encodeAppEnvelope(env), clock_()));
    if (in.unanswered > 0) --in.unanswered;
    in.lastActivity = mono_.elapsed();
    return true;
}

}  // namespace raftwc::net
