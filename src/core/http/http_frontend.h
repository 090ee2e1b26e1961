// HttpFrontend: the HTTP/1.1 server on port 3000 — web page, JSON API, upload limits, idle timeouts.
//
// Built on QAbstractHttpServer (Qt 6.4) bound to our own QTcpServer whose connections are watched by a
// ConnectionGuard *before* QHttpServer reads them (see request_guard.h): oversized uploads get 413 before
// their body is buffered, oversized heads 431, malformed requests 400, idle connections are closed.
// Everything behind /api is answered by an ApiBackend (api.h); this library knows nothing of Raft.
#pragma once

#include "http/api.h"

#include <QHostAddress>
#include <QMap>
#include <QObject>
#include <QPointer>

class QHttpServerRequest;
class QTcpSocket;

namespace raftwc::http {

namespace detail {
class FrontendServer;
class GuardedTcpServer;
class ConnectionGuard;
}  // namespace detail

/// Counters of the front end, a value snapshot. Also exported on /metrics as raftwc_http_*.
struct HttpMetrics {
    quint64 connectionsAccepted = 0;
    quint64 connectionsOpen = 0;
    quint64 requests = 0;                  ///< complete requests routed
    QMap<int, quint64> responsesByStatus;  ///< every answer written, including guard rejections
    quint64 uploadsAccepted = 0;           ///< uploads handed to the backend
    quint64 uploadBytes = 0;               ///< file bytes handed to the backend
    qint64 largestUpload = 0;
    quint64 uploadsTooLarge = 0;  ///< 413 answers (Content-Length or chunked body over the limit)
    quint64 headersTooLarge = 0;  ///< 431 answers
    quint64 malformed = 0;        ///< 400/414/501/505 answers from the guard (bad HTTP)
    quint64 idleTimeouts = 0;     ///< connections closed for idleness (408 if mid-request)
    quint64 repliesDropped = 0;   ///< backend answers whose client had already left
};

class HttpFrontend : public QObject {
    Q_OBJECT
  public:
    /// `backend` is not owned and must outlive this object.
    explicit HttpFrontend(ApiBackend* backend, QObject* parent = nullptr);
    ~HttpFrontend() override;

    /// Starts listening. May be called more than once (several addresses). On failure returns false and
    /// sets *error (if given).
    bool listen(const QHostAddress& address, quint16 port, QString* error = nullptr);
    /// The port of the first listening socket (useful with port 0), or 0.
    quint16 port() const;

    /// Largest accepted request body in bytes (default 1 GiB). Applies to new connections.
    void setMaxUpload(qint64 bytes) { m_maxUpload = bytes; }
    qint64 maxUpload() const { return m_maxUpload; }
    /// Largest request head (request line + headers), default 64 KiB. Larger → 431.
    void setMaxHeaderBytes(qsizetype bytes) { m_maxHead = bytes; }
    /// A connection with no traffic and no request in progress for this long is closed (default 60 s).
    void setIdleTimeoutMs(int ms) { m_idleTimeoutMs = ms; }
    int idleTimeoutMs() const { return m_idleTimeoutMs; }

    HttpMetrics metrics() const { return m_metrics; }
    /// The front end's own metrics in Prometheus text format (appended to the backend's on /metrics).
    QByteArray prometheusText() const;

    /// The HTTP reason phrase for a status code ("Payload Too Large").
    static QByteArray reasonPhrase(int status);
    /// A complete HTTP/1.1 response (status line, headers, body).
    static QByteArray serializeResponse(const ApiReply& reply, bool connectionClose);

  private:
    friend class detail::FrontendServer;
    friend class detail::ConnectionGuard;
    friend class detail::GuardedTcpServer;

    void handleRequest(const QHttpServerRequest& request, QTcpSocket* socket);
    void handleCount(const QHttpServerRequest& request, QTcpSocket* socket, quint64 seq, bool close);
    ApiReply handleStatic(const QString& path) const;
    void deliver(const QPointer<QTcpSocket>& socket, quint64 seq, const ApiReply& reply, bool close,
                 bool headOnly = false);

    ApiBackend* m_backend;
    detail::FrontendServer* m_server = nullptr;
    QList<QPointer<detail::GuardedTcpServer>> m_tcpServers;
    qint64 m_maxUpload = qint64(1) << 30;
    qsizetype m_maxHead = 64 * 1024;
    int m_idleTimeoutMs = 60000;
    HttpMetrics m_metrics;
};

}  // namespace raftwc::http
