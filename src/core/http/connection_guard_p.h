// Private to raftwc_http: the per-connection watcher and the QTcpServer that installs it.
#pragma once

#include "http/request_guard.h"

#include <QMap>
#include <QPair>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace raftwc::http {
class HttpFrontend;
}

namespace raftwc::http::detail {

/// Watches one connection's incoming bytes before QHttpServer reads them (its readyRead slot is
/// connected first, so it runs first), enforces the limits, and closes idle connections.
/// A child of its socket: dies with it.
class ConnectionGuard : public QObject {
    Q_OBJECT
  public:
    ConnectionGuard(QTcpSocket* socket, HttpFrontend* frontend, StreamLimits limits, int idleTimeoutMs);

    /// A complete request reached the router; returns its sequence number on this connection.
    quint64 requestStarted();
    /// Queues the serialized answer to request `seq`. Answers are written in request order (HTTP/1.1
    /// pipelining), whatever order the backend finishes them in. `close`: close after writing it.
    void submit(quint64 seq, const QByteArray& response, bool close);
    int pendingReplies() const { return m_pending; }

    static ConnectionGuard* of(QTcpSocket* socket);

  private:
    void onReadyRead();
    void onDisconnected();
    void onIdleTimeout();
    void reject(int status, const QString& code, const QString& message);
    void finishReject();

    QTcpSocket* m_socket;
    HttpFrontend* m_frontend;
    RequestStream m_stream;
    QTimer m_idle;
    QTimer m_linger;
    int m_pending = 0;
    quint64 m_nextSeq = 0;                           // sequence number of the next request
    quint64 m_nextWrite = 0;                         // sequence number of the next answer to write
    QMap<quint64, QPair<QByteArray, bool>> m_ready;  // answers waiting for earlier ones
    bool m_rejected = false;
    bool m_closed = false;
};

/// A QTcpServer that creates each socket itself and attaches a ConnectionGuard before QHttpServer
/// sees the connection.
class GuardedTcpServer : public QTcpServer {
    Q_OBJECT
  public:
    explicit GuardedTcpServer(HttpFrontend* frontend) : m_frontend(frontend) {}

  protected:
    void incomingConnection(qintptr socketDescriptor) override;

  private:
    HttpFrontend* m_frontend;
};

}  // namespace raftwc::http::detail
