#include "http/http_frontend.h"

#include "http/connection_guard_p.h"
#include "http/multipart.h"

#include <QAbstractHttpServer>
#include <QFile>
#include <QHttpServerRequest>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QUrl>
#include <QUrlQuery>

#include <sys/socket.h>

namespace raftwc::http {

// ---- ApiReply --------------------------------------------------------------------------------------

ApiReply ApiReply::json(int status, const QJsonObject& object) {
    ApiReply r;
    r.status = status;
    r.body = QJsonDocument(object).toJson(QJsonDocument::Compact);
    return r;
}

ApiReply ApiReply::error(int status, const QString& code, const QString& message) {
    return json(status, QJsonObject{{QStringLiteral("error"), code}, {QStringLiteral("message"), message}});
}

ApiReply ApiReply::text(int status, const QByteArray& body, const QByteArray& contentType) {
    ApiReply r;
    r.status = status;
    r.body = body;
    r.contentType = contentType;
    return r;
}

namespace detail {

// ---- the QAbstractHttpServer subclass: every complete request goes to HttpFrontend ------------------

class FrontendServer final : public QAbstractHttpServer {
  public:
    explicit FrontendServer(HttpFrontend* frontend) : QAbstractHttpServer(frontend), m_frontend(frontend) {}

  protected:
    bool handleRequest(const QHttpServerRequest& request, QTcpSocket* socket) override {
        m_frontend->handleRequest(request, socket);
        return true;
    }
    void missingHandler(const QHttpServerRequest& request, QTcpSocket* socket) override {
        m_frontend->handleRequest(request, socket);
    }

  private:
    HttpFrontend* m_frontend;
};

// ---- GuardedTcpServer ------------------------------------------------------------------------------

void GuardedTcpServer::incomingConnection(qintptr socketDescriptor) {
    auto* socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        delete socket;
        return;
    }
    // The guard connects to readyRead now, before QHttpServer does (it only sees the socket through
    // nextPendingConnection after addPendingConnection), so the guard's slot always runs first.
    new ConnectionGuard(socket, m_frontend, StreamLimits{m_frontend->m_maxUpload, m_frontend->m_maxHead},
                        m_frontend->m_idleTimeoutMs);
    ++m_frontend->m_metrics.connectionsAccepted;
    ++m_frontend->m_metrics.connectionsOpen;
    addPendingConnection(socket);
}

// ---- ConnectionGuard -------------------------------------------------------------------------------

ConnectionGuard::ConnectionGuard(QTcpSocket* socket, HttpFrontend* frontend, StreamLimits limits,
                                 int idleTimeoutMs)
    : QObject(socket), m_socket(socket), m_frontend(frontend), m_stream(limits) {
    m_idle.setSingleShot(true);
    m_idle.setInterval(idleTimeoutMs);
    m_linger.setSingleShot(true);
    m_linger.setInterval(2000);
    connect(socket, &QTcpSocket::readyRead, this, &ConnectionGuard::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &ConnectionGuard::onDisconnected);
    connect(socket, &QTcpSocket::bytesWritten, this, [this] {
        if (!m_rejected) m_idle.start();
    });
    connect(&m_idle, &QTimer::timeout, this, &ConnectionGuard::onIdleTimeout);
    connect(&m_linger, &QTimer::timeout, this, [this] {
        m_socket->abort();
        m_socket->deleteLater();
    });
    m_idle.start();
}

ConnectionGuard* ConnectionGuard::of(QTcpSocket* socket) {
    return socket ? socket->findChild<ConnectionGuard*>(QString(), Qt::FindDirectChildrenOnly) : nullptr;
}

quint64 ConnectionGuard::requestStarted() {
    ++m_pending;
    m_idle.start();
    return m_nextSeq++;
}

void ConnectionGuard::submit(quint64 seq, const QByteArray& response, bool close) {
    if (m_rejected || m_closed) return;
    m_ready.insert(seq, {response, close});
    while (!m_ready.isEmpty() && m_ready.firstKey() == m_nextWrite) {
        const auto [bytes, closeAfter] = m_ready.take(m_nextWrite);
        ++m_nextWrite;
        if (m_pending > 0) --m_pending;
        m_socket->write(bytes);
        if (closeAfter) {
            m_ready.clear();
            m_socket->disconnectFromHost();
            return;
        }
    }
    m_idle.start();
}

void ConnectionGuard::onReadyRead() {
    if (m_rejected) {
        // Lingering close after a rejection: discard (never buffer) what the client still sends.
        m_socket->skip(m_socket->bytesAvailable());
        return;
    }
    m_idle.start();
    // QHttpServer 6.4 reads inside a QIODevice transaction that it only commits when a request is
    // complete, so the socket buffer would keep a second copy of the whole body next to the parsed one.
    // Inside a body everything read so far has been parsed already (the transaction only matters for a
    // WebSocket upgrade, which has no body): committing here halves the memory a large upload costs.
    if (m_stream.inBody() && m_socket->isTransactionStarted()) m_socket->commitTransaction();
    // QHttpServer reads everything available in its own readyRead slot (which runs after this one), so
    // what is available now is exactly what arrived since the last call.
    const qint64 available = m_socket->bytesAvailable();
    if (available <= 0) return;
    RequestStream::Result r;
    if (m_stream.skippableBodyBytes() >= available) {
        r = m_stream.skipBody(available);  // plain body bytes: count them without copying
    } else {
        r = m_stream.feed(m_socket->peek(available));
    }
    if (r.rejected) {
        reject(r.status, r.code, r.message);
        return;
    }
    for (int i = 0; i < r.continuesWanted; ++i)
        m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
}

void ConnectionGuard::reject(int status, const QString& code, const QString& message) {
    m_rejected = true;
    m_idle.stop();
    auto& metrics = m_frontend->m_metrics;
    if (status == 413) {
        ++metrics.uploadsTooLarge;
    } else if (status == 431) {
        ++metrics.headersTooLarge;
    } else if (status != 408) {
        ++metrics.malformed;
    }
    ++metrics.responsesByStatus[status];
    // QHttpServer must not see these bytes nor anything after them.
    if (m_frontend->m_server)
        QObject::disconnect(m_socket, &QTcpSocket::readyRead, m_frontend->m_server, nullptr);
    if (m_socket->isTransactionStarted()) m_socket->commitTransaction();
    m_socket->skip(m_socket->bytesAvailable());
    m_socket->write(HttpFrontend::serializeResponse(ApiReply::error(status, code, message), true));
    m_socket->flush();
    if (m_socket->bytesToWrite() == 0) {
        finishReject();
    } else {
        connect(m_socket, &QTcpSocket::bytesWritten, this, [this] {
            if (m_socket->bytesToWrite() == 0) finishReject();
        });
    }
}

void ConnectionGuard::finishReject() {
    if (m_linger.isActive() || m_closed) return;
    // Half-close: the client reads our answer and sees EOF; we keep discarding its remaining upload for
    // a short while so it is not reset before it has read the answer, then drop the connection.
    ::shutdown(static_cast<int>(m_socket->socketDescriptor()), SHUT_WR);
    m_linger.start();
}

void ConnectionGuard::onDisconnected() {
    if (m_closed) return;
    m_closed = true;
    m_idle.stop();
    m_linger.stop();
    --m_frontend->m_metrics.connectionsOpen;
    // QHttpServer 6.4 only deletes a socket whose read transaction is not open (a client that left
    // mid-request leaves one open): close it so the socket is freed, and free it ourselves as well.
    if (m_socket->isTransactionStarted()) m_socket->commitTransaction();
    m_socket->deleteLater();
}

void ConnectionGuard::onIdleTimeout() {
    if (m_pending > 0) {  // the backend is still working on a request: not idle
        m_idle.start();
        return;
    }
    ++m_frontend->m_metrics.idleTimeouts;
    if (!m_stream.idle()) {
        reject(408, QStringLiteral("request_timeout"),
               QStringLiteral("no data received for %1 ms").arg(m_idle.interval()));
        return;
    }
    m_socket->abort();
    m_socket->deleteLater();
}

}  // namespace detail

// ---- HttpFrontend ----------------------------------------------------------------------------------

namespace {

QByteArray headerValue(const QHttpServerRequest& request, QByteArrayView name) {
    const auto headers = request.headers();
    for (const auto& [key, value] : headers) {
        if (QByteArrayView(key).compare(name, Qt::CaseInsensitive) == 0) return value;
    }
    return {};
}

bool wantsClose(const QHttpServerRequest& request) {
    const QList<QByteArray> tokens = headerValue(request, "connection").split(',');
    return std::any_of(tokens.begin(), tokens.end(), [](const QByteArray& t) {
        return t.trimmed().compare("close", Qt::CaseInsensitive) == 0;
    });
}

QString sanitizeName(QString name) {
    // Control characters, and bidirectional controls that would let a name show as another
    // ("invoice\u202Etxt.exe"): removed.
    name.remove(
        QRegularExpression(QStringLiteral("[\\x00-\\x1f\\x7f\\x{061c}\\x{200e}\\x{200f}\\x{202a}-\\x{202e}"
                                          "\\x{2066}-\\x{2069}]")));
    const qsizetype cut = std::max(name.lastIndexOf(QLatin1Char('/')), name.lastIndexOf(QLatin1Char('\\')));
    if (cut >= 0) name = name.mid(cut + 1);
    name = name.trimmed();
    if (name.size() > 255) name.truncate(255);
    return name.isEmpty() ? QStringLiteral("upload") : name;
}

const QRegularExpression& jobIdPattern() {
    static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9-]{8,64}$"));
    return re;
}

const QRegularExpression& pathIdPattern() {
    static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9._-]{1,128}$"));
    return re;
}

/// A browser names the site of the page behind a request (Sec-Fetch-Site, Origin); a state-changing
/// request caused by another site's page (cross-site request forgery, even a "simple" text/plain POST that
/// needs no CORS preflight) is refused. Clients that are not browsers (curl, the CLI) send neither header.
bool fromAnotherOrigin(const QHttpServerRequest& request) {
    const QByteArray site = headerValue(request, "sec-fetch-site").trimmed().toLower();
    if (!site.isEmpty() && site != "same-origin" && site != "none") return true;
    const QByteArray origin = headerValue(request, "origin").trimmed();
    if (origin.isEmpty()) return false;
    const QUrl o(QString::fromLatin1(origin));
    if (!o.isValid() || o.host().isEmpty()) return true;  // "null" (sandboxed, file:) or garbage
    const QUrl h(QStringLiteral("http://") + QString::fromLatin1(headerValue(request, "host").trimmed()));
    return h.host().compare(o.host(), Qt::CaseInsensitive) != 0 || h.port(80) != o.port(80);
}

ApiReply crossOriginRefused() {
    return ApiReply::error(403, QStringLiteral("cross_origin"),
                           QStringLiteral("state-changing requests from another site's page are refused"));
}

ApiReply methodNotAllowed(const char* allow) {
    ApiReply r = ApiReply::error(405, QStringLiteral("method_not_allowed"),
                                 QStringLiteral("use %1 for this path").arg(QLatin1String(allow)));
    r.headers.append({QByteArrayLiteral("Allow"), QByteArray(allow)});
    return r;
}

// Parses a non-negative integer query parameter; `fallback` when absent.
bool intParam(const QUrlQuery& q, const QString& key, qint64 fallback, qint64* out) {
    if (!q.hasQueryItem(key)) {
        *out = fallback;
        return true;
    }
    bool ok = false;
    *out = q.queryItemValue(key).toLongLong(&ok);
    return ok && *out >= 0;
}

}  // namespace

HttpFrontend::HttpFrontend(ApiBackend* backend, QObject* parent)
    : QObject(parent), m_backend(backend), m_server(new detail::FrontendServer(this)) {}

HttpFrontend::~HttpFrontend() {
    // Delete the server (and with it every socket and guard) while this object is still whole: guards
    // update our metrics when their sockets disconnect.
    delete m_server;
    m_server = nullptr;
}

bool HttpFrontend::listen(const QHostAddress& address, quint16 port, QString* error) {
    auto* tcp = new detail::GuardedTcpServer(this);
    if (!tcp->listen(address, port)) {
        if (error) *error = tcp->errorString();
        delete tcp;
        return false;
    }
    m_server->bind(tcp);
    m_tcpServers.append(tcp);
    return true;
}

quint16 HttpFrontend::port() const {
    for (const auto& s : m_tcpServers) {
        if (s && s->isListening()) return s->serverPort();
    }
    return 0;
}

QByteArray HttpFrontend::reasonPhrase(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 413:
            return "Payload Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        case 507:
            return "Insufficient Storage";
        default:
            return "Status";
    }
}

QByteArray HttpFrontend::serializeResponse(const ApiReply& reply, bool connectionClose) {
    QByteArray out;
    out.reserve(reply.body.size() + 256);
    out += "HTTP/1.1 " + QByteArray::number(reply.status) + ' ' + reasonPhrase(reply.status) + "\r\n";
    out += "Content-Type: " + reply.contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(reply.body.size()) + "\r\n";
    bool haveCache = false;
    for (const auto& [key, value] : reply.headers) {
        // Header injection guard: no CR/LF in names or values.
        if (key.contains('\r') || key.contains('\n') || value.contains('\r') || value.contains('\n'))
            continue;
        if (key.compare("cache-control", Qt::CaseInsensitive) == 0) haveCache = true;
        out += key + ": " + value + "\r\n";
    }
    if (!haveCache) out += "Cache-Control: no-store\r\n";
    out += "X-Content-Type-Options: nosniff\r\n";
    // The page loads only its own script, style and images, and no other site may frame it.
    out +=
        "Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'\r\n";
    out += "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n";
    if (connectionClose) out += "Connection: close\r\n";
    out += "\r\n";
    out += reply.body;
    return out;
}

void HttpFrontend::deliver(const QPointer<QTcpSocket>& socket, quint64 seq, const ApiReply& reply, bool close,
                           bool headOnly) {
    if (!socket || socket->state() != QAbstractSocket::ConnectedState) {
        ++m_metrics.repliesDropped;
        return;
    }
    ++m_metrics.responsesByStatus[reply.status];
    QByteArray out = serializeResponse(reply, close);
    if (headOnly) out.chop(reply.body.size());  // HEAD: same headers (and Content-Length), no body
    if (auto* guard = detail::ConnectionGuard::of(socket)) {
        guard->submit(seq, out, close);
    } else {
        socket->write(out);
        if (close) socket->disconnectFromHost();
    }
}

ApiReply HttpFrontend::handleStatic(const QString& path) const {
    static const QRegularExpression safe(QStringLiteral("^/[A-Za-z0-9_-][A-Za-z0-9._-]*$"));
    const QString name = path == QLatin1String("/") ? QStringLiteral("/index.html") : path;
    if (!safe.match(name).hasMatch())
        return ApiReply::error(404, QStringLiteral("not_found"),
                               QStringLiteral("no such path: %1").arg(path));
    QFile file(QStringLiteral(":/web") + name);
    if (!file.open(QIODevice::ReadOnly))
        return ApiReply::error(404, QStringLiteral("not_found"),
                               QStringLiteral("no such path: %1").arg(path));
    QByteArray type = "application/octet-stream";
    if (name.endsWith(QLatin1String(".html")))
        type = "text/html; charset=utf-8";
    else if (name.endsWith(QLatin1String(".js")))
        type = "text/javascript; charset=utf-8";
    else if (name.endsWith(QLatin1String(".css")))
        type = "text/css; charset=utf-8";
    else if (name.endsWith(QLatin1String(".svg")))
        type = "image/svg+xml";
    else if (name.endsWith(QLatin1String(".png")))
        type = "image/png";
    else if (name.endsWith(QLatin1String(".ico")))
        type = "image/x-icon";
    else if (name.endsWith(QLatin1String(".json")))
        type = "application/json";
    ApiReply r = ApiReply::text(200, file.readAll(), type);
    r.headers.append({QByteArrayLiteral("Cache-Control"), QByteArrayLiteral("no-cache")});
    return r;
}

void HttpFrontend::handleRequest(const QHttpServerRequest& request, QTcpSocket* socket) {
    ++m_metrics.requests;
    auto* guard = detail::ConnectionGuard::of(socket);
    const quint64 seq = guard ? guard->requestStarted() : 0;
    const QPointer<QTcpSocket> sock(socket);
    const bool close = wantsClose(request);
    const QString path = request.url().path();
    const auto method = request.method();
    const bool isGet =
        method == QHttpServerRequest::Method::Get || method == QHttpServerRequest::Method::Head;
    const bool headOnly = method == QHttpServerRequest::Method::Head;
    auto answer = [&](const ApiReply& reply) { deliver(sock, seq, reply, close, headOnly); };

    if (path == QLatin1String("/api/count")) {
        if (method != QHttpServerRequest::Method::Post) return answer(methodNotAllowed("POST"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        return handleCount(request, socket, seq, close);
    }
    if (path == QLatin1String("/api/cluster"))
        return answer(isGet ? m_backend->cluster() : methodNotAllowed("GET"));
    if (path == QLatin1String("/healthz"))
        return answer(isGet ? m_backend->health() : methodNotAllowed("GET"));
    if (path == QLatin1String("/readyz")) return answer(isGet ? m_backend->ready() : methodNotAllowed("GET"));
    if (path == QLatin1String("/livez"))  // the process serves HTTP: a liveness probe never restarts a
                                          // node for being in a degraded cluster
        return answer(
            isGet ? ApiReply::json(200, QJsonObject{{QStringLiteral("status"), QStringLiteral("alive")}})
                  : methodNotAllowed("GET"));
    if (path == QLatin1String("/metrics")) {
        if (!isGet) return answer(methodNotAllowed("GET"));
        QByteArray text = m_backend->metrics();
        if (!text.isEmpty() && !text.endsWith('\n')) text += '\n';
        text += prometheusText();
        return answer(
            ApiReply::text(200, text, QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8")));
    }
    if (path == QLatin1String("/api/limits")) {  // answered by the front end itself
        if (!isGet) return answer(methodNotAllowed("GET"));
        return answer(ApiReply::json(200, QJsonObject{{QStringLiteral("maxUpload"), m_maxUpload},
                                                      {QStringLiteral("maxHeaderBytes"), qint64(m_maxHead)},
                                                      {QStringLiteral("idleTimeoutMs"), m_idleTimeoutMs}}));
    }
    if (path == QLatin1String("/api/jobs"))
        return answer(isGet ? m_backend->jobs() : methodNotAllowed("GET"));
    if (path.startsWith(QLatin1String("/api/jobs/"))) {
        const QStringList parts = path.mid(10).split(QLatin1Char('/'));
        const bool validId = !parts.isEmpty() && pathIdPattern().match(parts[0]).hasMatch();
        if (validId && parts.size() == 1)
            return answer(isGet ? m_backend->job(parts[0]) : methodNotAllowed("GET"));
        if (validId && parts.size() == 2 && parts[1] == QLatin1String("words")) {
            if (!isGet) return answer(methodNotAllowed("GET"));
            const QUrlQuery q = request.query();
            qint64 limit = 0, offset = 0;
            if (!intParam(q, QStringLiteral("limit"), 100, &limit) || limit < 1 || limit > 10000)
                return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                              QStringLiteral("limit must be an integer in 1..10000")));
            if (!intParam(q, QStringLiteral("offset"), 0, &offset))
                return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                              QStringLiteral("offset must be a non-negative integer")));
            const QString mode =
                q.hasQueryItem(QStringLiteral("mode")) ? q.queryItemValue(QStringLiteral("mode")) : QString();
            if (!mode.isEmpty() && mode != QLatin1String("normalized") && mode != QLatin1String("raw"))
                return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                              QStringLiteral("mode must be normalized or raw")));
            return answer(m_backend->jobWords(parts[0], limit, offset, mode));
        }
        return answer(
            ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no such path: %1").arg(path)));
    }
    // Membership administration (asynchronous: the change goes through the leader and the log).
    auto later = [this, sock, seq, close](const ApiReply& reply) { deliver(sock, seq, reply, close, false); };
    const QByteArray authorization = request.value(QByteArrayLiteral("Authorization"));
    if (path.startsWith(QLatin1String("/api/members/"))) {
        const QString id = path.mid(13);
        if (!pathIdPattern().match(id).hasMatch())
            return answer(ApiReply::error(404, QStringLiteral("not_found"),
                                          QStringLiteral("no such path: %1").arg(path)));
        if (method != QHttpServerRequest::Method::Delete) return answer(methodNotAllowed("DELETE"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->removeMember(id, authorization, later);
        return;
    }
    if (path == QLatin1String("/api/leader/transfer")) {
        if (method != QHttpServerRequest::Method::Post) return answer(methodNotAllowed("POST"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->transferLeadership(request.query().queryItemValue(QStringLiteral("to")), authorization,
                                      later);
        return;
    }
    if (path.startsWith(QLatin1String("/api/")))
        return answer(
            ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no such path: %1").arg(path)));
    // The web page and its assets.
    const ApiReply file = handleStatic(path);
    if (file.status == 200 && !isGet) return answer(methodNotAllowed("GET"));
    return answer(file);
}

void HttpFrontend::handleCount(const QHttpServerRequest& request, QTcpSocket* socket, quint64 seq,
                               bool close) {
    const QPointer<QTcpSocket> sock(socket);
    const QUrlQuery query = request.query();
    Upload upload;
    upload.data = request.body();  // implicitly shared: copied before deferring, no byte copy
    upload.mode = query.hasQueryItem(QStringLiteral("mode")) ? query.queryItemValue(QStringLiteral("mode"))
                                                             : QStringLiteral("normalized");
    if (upload.mode != QLatin1String("normalized") && upload.mode != QLatin1String("raw"))
        return deliver(sock, seq,
                       ApiReply::error(400, QStringLiteral("bad_request"),
                                       QStringLiteral("mode must be normalized or raw")),
                       close);
    upload.jobId = QString::fromLatin1(headerValue(request, "x-job-id"));
    if (!upload.jobId.isEmpty() && !jobIdPattern().match(upload.jobId).hasMatch())
        return deliver(sock, seq,
                       ApiReply::error(400, QStringLiteral("bad_request"),
                                       QStringLiteral("X-Job-Id must match [A-Za-z0-9-]{8,64}")),
                       close);
    const QByteArray contentType = headerValue(request, "content-type");
    if (isMultipartFormData(contentType)) {
        const MultipartFile part = parseMultipartFile(contentType, upload.data);
        if (!part.ok)
            return deliver(sock, seq, ApiReply::error(400, QStringLiteral("bad_multipart"), part.error),
                           close);
        upload.offset = part.offset;
        upload.length = part.length;
        upload.name = part.filename;
    } else {
        upload.offset = 0;
        upload.length = upload.data.size();
        const QByteArray header = headerValue(request, "x-filename");
        upload.name = !header.isEmpty() ? QString::fromUtf8(QByteArray::fromPercentEncoding(header))
                                        : query.queryItemValue(QStringLiteral("name"), QUrl::FullyDecoded);
    }
    upload.name = sanitizeName(upload.name);
    ++m_metrics.uploadsAccepted;
    m_metrics.uploadBytes += quint64(upload.length);
    m_metrics.largestUpload = std::max<qint64>(m_metrics.largestUpload, upload.length);

    const QPointer<HttpFrontend> self(this);
    auto answered = std::make_shared<bool>(false);
    m_backend->count(std::move(upload), [self, sock, seq, close, answered](ApiReply reply) {
        if (*answered) return;  // the contract says once; be safe anyway
        *answered = true;
        if (self) self->deliver(sock, seq, reply, close);
    });
}

QByteArray HttpFrontend::prometheusText() const {
    QByteArray t;
    auto metric = [&t](const char* name, const char* type, const char* help, qint64 value) {
        t += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n' + name + ' ' +
             QByteArray::number(value) + '\n';
    };
    const HttpMetrics& m = m_metrics;
    metric("raftwc_http_connections_total", "counter", "TCP connections accepted.",
           qint64(m.connectionsAccepted));
    metric("raftwc_http_connections_open", "gauge", "TCP connections currently open.",
           qint64(m.connectionsOpen));
    metric("raftwc_http_requests_total", "counter", "Complete HTTP requests routed.", qint64(m.requests));
    t += "# HELP raftwc_http_responses_total HTTP responses written, by status code.\n"
         "# TYPE raftwc_http_responses_total counter\n";
    for (auto it = m.responsesByStatus.cbegin(); it != m.responsesByStatus.cend(); ++it)
        t += "raftwc_http_responses_total{code=\"" + QByteArray::number(it.key()) + "\"} " +
             QByteArray::number(it.value()) + '\n';
    metric("raftwc_http_uploads_total", "counter", "Uploads handed to the backend.",
           qint64(m.uploadsAccepted));
    metric("raftwc_http_upload_bytes_total", "counter", "File bytes handed to the backend.",
           qint64(m.uploadBytes));
    metric("raftwc_http_upload_largest_bytes", "gauge", "Largest upload accepted.", m.largestUpload);
    metric("raftwc_http_upload_limit_bytes", "gauge", "Largest request body accepted.", m_maxUpload);
    t += "# HELP raftwc_http_rejected_total Requests rejected before reaching the backend, by reason.\n"
         "# TYPE raftwc_http_rejected_total counter\n";
    t += "raftwc_http_rejected_total{reason=\"too_large\"} " + QByteArray::number(m.uploadsTooLarge) + '\n';
    t += "raftwc_http_rejected_total{reason=\"headers_too_large\"} " + QByteArray::number(m.headersTooLarge) +
         '\n';
    t += "raftwc_http_rejected_total{reason=\"malformed\"} " + QByteArray::number(m.malformed) + '\n';
    metric("raftwc_http_idle_timeouts_total", "counter", "Connections closed for idleness.",
           qint64(m.idleTimeouts));
    metric("raftwc_http_replies_dropped_total", "counter", "Answers dropped because the client had left.",
           qint64(m.repliesDropped));
    return t;
}

}  // namespace raftwc::http
