// Private to raftwc_net's RPC transport (rpc_transport.cpp: outbound connections, send queues, requests,
// housekeeping; rpc_inbound.cpp: accepted connections and replies): its per-connection state.
#pragma once

#include <QByteArray>
#include <QTcpSocket>
#include <QTimer>

#include <deque>

#include "net/address.h"
#include "net/rpc_transport.h"

namespace raftwc::net {

namespace detail {
constexpr qsizetype kMaxInboundConnections = 1024;
}  // namespace detail

struct RpcTransport::Peer {
    NodeId id = raft::kNoNode;
    HostPort address;
    QTcpSocket* socket = nullptr;
    quint64 serial = 0;  ///< Identifies the current socket (signals from older sockets are ignored).
    bool connected = false;
    bool inBackoff = false;
    int attempts = 0;  ///< Consecutive failed/lost connections.
    QTimer* connectTimer = nullptr;
    QTimer* backoffTimer = nullptr;
    std::deque<Item> queue;
    qint64 queued = 0;  ///< Payload bytes in `queue`.
    StreamState rx;
    QByteArray rxBuf;
    qint64 lastActivity = 0;
};

struct RpcTransport::Inbound {
    quint64 id = 0;
    QTcpSocket* socket = nullptr;
    StreamState rx;
    QByteArray buf;
    qint64 lastActivity = 0;
    qint64 acceptedAt = 0;
    int unanswered = 0;  ///< App requests received and not yet replied to (keeps the connection open).
};

}  // namespace raftwc::net
