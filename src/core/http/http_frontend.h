// HttpFrontend: the HTTP/1.1 server on port 3000 — web page, JSON API, upload limits, timeouts, bounds.
//
// A QTcpServer whose connections (http_connection_p.h) read requests with the project's own reader
// (request_reader.h): the limits are checked on exactly the requests that are routed (oversized uploads
// get 413 before their body is read, oversized heads 431, malformed requests 400), pipelined requests are
// answered in order, slow clients get 408, and connections, concurrent uploads and upload bytes in flight
// are bounded (503 + Retry-After). Everything behind /api is answered by an ApiBackend (api.h); this
// library knows nothing of Raft.
#pragma once

#include "common/histogram.h"
#include "http/api.h"

#include <QElapsedTimer>
#include <QHostAddress>
#include <QMap>
#include <QObject>
#include <QPointer>

#include <memory>

namespace raftwc::http {

namespace detail {
struct HttpRequest;
class HttpConnection;
class HttpListener;
class UploadTicket;
class UploadPipe;
struct ConnectionSettings;
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
    quint64 uploadsTooLarge = 0;     ///< 413 answers (Content-Length or chunked body over the limit)
    quint64 headersTooLarge = 0;     ///< 431 answers
    quint64 malformed = 0;           ///< 400/414/501/505 answers from the guard (bad HTTP)
    quint64 idleTimeouts = 0;        ///< connections closed for idleness (408 if mid-request)
    quint64 requestTimeouts = 0;     ///< 408 answers: head not complete in time, body too slow, stalled
    quint64 connectionsRefused = 0;  ///< 503 answers at accept: the connection bound was reached
    quint64 uploadsRefusedBusy = 0;  ///< 503 answers: concurrent uploads or upload bytes bound reached
    quint64 repliesDropped = 0;      ///< backend answers whose client had already left
    quint64 eventStreams = 0;        ///< GET /api/events streams opened
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
    /// A connection with no traffic and no request in progress for this long is closed (default 60 s);
    /// mid-request, no traffic for this long is answered 408.
    void setIdleTimeoutMs(int ms) { m_idleTimeoutMs = ms; }
    int idleTimeoutMs() const { return m_idleTimeoutMs; }
    /// A request's head must be complete this long after its first byte (default 30 s), else 408.
    void setHeadTimeoutMs(int ms) { m_headTimeoutMs = ms; }
    /// A request body must arrive at this many bytes/s at least, averaged over each `windowMs` (default
    /// 1024 B/s over 10 s; 0 turns it off), else 408.
    void setMinBodyRate(qint64 bytesPerSecond, int windowMs = 10000) {
        m_minBodyRate = bytesPerSecond;
        m_rateWindowMs = windowMs;
    }
    /// Open connections at most (default 1024); more are answered 503 and closed.
    void setMaxConnections(int n) { m_maxConnections = n; }
    /// Uploads being received or counted at once at most (default 16), and their declared bytes at most
    /// (default 2 GiB); more are answered 503 with Retry-After.
    void setMaxConcurrentUploads(int n) { m_maxConcurrentUploads = n; }
    void setMaxUploadBytesInFlight(qint64 bytes) { m_maxUploadBytesInFlight = bytes; }
    int uploadsInFlight() const { return m_uploadsInFlight; }
    qint64 uploadBytesInFlight() const { return m_uploadBytesInFlight; }

    HttpMetrics metrics() const { return m_metrics; }
    /// The front end's own metrics in Prometheus text format (appended to the backend's on /metrics).
    QByteArray prometheusText() const;

    /// The HTTP reason phrase for a status code ("Payload Too Large").
    static QByteArray reasonPhrase(int status);
    /// A complete HTTP/1.1 response (status line, headers, body).
    static QByteArray serializeResponse(const ApiReply& reply, bool connectionClose);

  private:
    friend class detail::HttpConnection;
    friend class detail::HttpListener;
    friend class detail::UploadTicket;
    friend class detail::UploadPipe;

    detail::ConnectionSettings connectionSettings() const;
    /// A complete request from `connection` (its `seq`-th), other than an upload.
    void route(const detail::HttpRequest& request, detail::HttpConnection* connection, quint64 seq);
    /// The head of a POST /api/count from `connection` (its `seq`-th request): the pipe its body streams
    /// into, or nullptr once it has been refused (answered). Then `*drain`: its body is small and is to be
    /// read and dropped (the connection stays); else the connection closes after the answer.
    std::unique_ptr<detail::UploadPipe> openUpload(const detail::HttpRequest& request,
                                                   detail::HttpConnection* connection, quint64 seq,
                                                   std::shared_ptr<detail::UploadTicket> ticket, bool* drain);
    ApiReply handleStatic(const QString& path) const;
    /// `startedNs` (m_clock) ≥ 0: the request's time to answer goes into m_requestSeconds.
    void deliver(const QPointer<detail::HttpConnection>& connection, quint64 seq, const ApiReply& reply,
                 bool close, bool headOnly = false, qint64 startedNs = -1);

    ApiBackend* m_backend;
    QList<QPointer<detail::HttpListener>> m_listeners;
    qint64 m_maxUpload = qint64(1) << 30;
    qsizetype m_maxHead = 64 * 1024;
    int m_idleTimeoutMs = 60000;
    int m_headTimeoutMs = 30000;
    qint64 m_minBodyRate = 1024;
    int m_rateWindowMs = 10000;
    int m_maxConnections = 1024;
    int m_maxConcurrentUploads = 16;
    qint64 m_maxUploadBytesInFlight = qint64(2) << 30;
    int m_uploadsInFlight = 0;
    qint64 m_uploadBytesInFlight = 0;
    HttpMetrics m_metrics;
    QElapsedTimer m_clock;
    Histogram m_requestSeconds = Histogram::seconds(30);  ///< routed requests (not uploads, not streams)
};

}  // namespace raftwc::http
