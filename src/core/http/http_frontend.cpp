#include "http/http_frontend.h"

#include "http/http_connection_p.h"
#include "http/multipart.h"

#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QUrl>
#include <QUrlQuery>

namespace raftwc::http {

// ---- HttpFrontend ----------------------------------------------------------------------------------

namespace {

using detail::HttpRequest;

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
bool fromAnotherOrigin(const HttpRequest& request) {
    const QByteArray site = request.header("sec-fetch-site").trimmed().toLower();
    if (!site.isEmpty() && site != "same-origin" && site != "none") return true;
    const QByteArray origin = request.header("origin").trimmed();
    if (origin.isEmpty()) return false;
    const QUrl o(QString::fromLatin1(origin));
    if (!o.isValid() || o.host().isEmpty()) return true;  // "null" (sandboxed, file:) or garbage
    const QUrl h(QStringLiteral("http://") + QString::fromLatin1(request.header("host").trimmed()));
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

HttpFrontend::HttpFrontend(ApiBackend* backend, QObject* parent) : QObject(parent), m_backend(backend) {
    m_clock.start();
}

HttpFrontend::~HttpFrontend() {
    // Delete the listeners (and with them every socket and connection) while this object is still
    // whole: connections update our metrics and bounds when they end.
    for (const auto& l : std::as_const(m_listeners))
        delete l.data();
}

bool HttpFrontend::listen(const QHostAddress& address, quint16 port, QString* error) {
    auto* tcp = new detail::HttpListener(this);
    if (!tcp->listen(address, port)) {
        if (error) *error = tcp->errorString();
        delete tcp;
        return false;
    }
    m_listeners.append(tcp);
    return true;
}

quint16 HttpFrontend::port() const {
    for (const auto& s : m_listeners) {
        if (s && s->isListening()) return s->serverPort();
    }
    return 0;
}

detail::ConnectionSettings HttpFrontend::connectionSettings() const {
    detail::ConnectionSettings c;
    c.stream = StreamLimits{m_maxUpload, m_maxHead, 100};
    c.idleTimeoutMs = m_idleTimeoutMs;
    c.headTimeoutMs = m_headTimeoutMs;
    c.minBodyRate = m_minBodyRate;
    c.rateWindowMs = m_rateWindowMs;
    return c;
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

void HttpFrontend::deliver(const QPointer<detail::HttpConnection>& connection, quint64 seq,
                           const ApiReply& reply, bool close, bool headOnly, qint64 startedNs) {
    if (startedNs >= 0) m_requestSeconds.observe(double(m_clock.nsecsElapsed() - startedNs) / 1e9);
    if (!connection || !connection->isOpen()) {
        ++m_metrics.repliesDropped;
        return;
    }
    ++m_metrics.responsesByStatus[reply.status];
    QByteArray out = serializeResponse(reply, close);
    if (headOnly) out.chop(reply.body.size());  // HEAD: same headers (and Content-Length), no body
    connection->submit(seq, out, close);
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

void HttpFrontend::route(const HttpRequest& request, detail::HttpConnection* connection, quint64 seq) {
    ++m_metrics.requests;
    const QPointer<detail::HttpConnection> sock(connection);
    const bool close = request.close;
    const QString& path = request.path;
    const bool isGet = request.is("GET") || request.is("HEAD");
    const bool headOnly = request.is("HEAD");
    const qint64 started = m_clock.nsecsElapsed();
    auto answer = [&](const ApiReply& reply) { deliver(sock, seq, reply, close, headOnly, started); };

    if (path == QLatin1String("/api/count"))  // POST is streamed (openUpload) and never routed here
        return answer(methodNotAllowed("POST"));
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
        return answer(ApiReply::json(
            200, QJsonObject{{QStringLiteral("maxUpload"), m_maxUpload},
                             {QStringLiteral("maxHeaderBytes"), qint64(m_maxHead)},
                             {QStringLiteral("maxHeaderFields"), 100},
                             {QStringLiteral("idleTimeoutMs"), m_idleTimeoutMs},
                             {QStringLiteral("headTimeoutMs"), m_headTimeoutMs},
                             {QStringLiteral("minBodyRate"), m_minBodyRate},
                             {QStringLiteral("maxConnections"), m_maxConnections},
                             {QStringLiteral("maxConcurrentUploads"), m_maxConcurrentUploads},
                             {QStringLiteral("maxUploadBytesInFlight"), m_maxUploadBytesInFlight}}));
    }
    if (path == QLatin1String("/api/events")) {
        if (!isGet) return answer(methodNotAllowed("GET"));
        EventsQuery q;
        const QUrlQuery& query = request.query;
        QByteArray after = query.queryItemValue(QStringLiteral("after")).toLatin1();
        if (after.isEmpty()) after = request.header("last-event-id").trimmed();
        if (!after.isEmpty()) {
            bool ok = false;
            q.after = after.toULongLong(&ok);
            if (!ok)
                return answer(
                    ApiReply::error(400, QStringLiteral("bad_request"),
                                    QStringLiteral("after must be an event id (a non-negative integer)")));
            q.hasAfter = true;
        }
        const QString format = query.queryItemValue(QStringLiteral("format"));
        if (!format.isEmpty() && format != QLatin1String("json") && format != QLatin1String("sse"))
            return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                          QStringLiteral("format must be json or sse")));
        const QByteArray accept = request.header("accept");
        q.json =
            format == QLatin1String("json") || (format.isEmpty() && accept.contains("application/json") &&
                                                !accept.contains("text/event-stream"));
        qint64 wait = 0;
        if (!intParam(query, QStringLiteral("wait"), 0, &wait) || wait > 25000)
            return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                          QStringLiteral("wait must be an integer in 0..25000 (ms)")));
        q.waitMs = int(wait);
        if (q.json || headOnly) {
            m_backend->events(q, [this, sock, seq, close, headOnly](const ApiReply& reply) {
                deliver(sock, seq, reply, close, headOnly);
            });
            return;
        }
        auto writer = connection->prepareStream(seq);
        std::shared_ptr<void> handle = m_backend->openEvents(q, writer);
        if (!handle) {
            connection->cancelStream();
            return answer(
                ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no event stream here")));
        }
        ++m_metrics.responsesByStatus[200];
        ++m_metrics.eventStreams;
        QByteArray head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";
        connection->startStream(head, std::move(handle));
        return;
    }
    if (path == QLatin1String("/api/jobs")) {
        if (!isGet) return answer(methodNotAllowed("GET"));
        qint64 limit = 0;
        if (!intParam(request.query, QStringLiteral("limit"), 100, &limit) || limit < 1 || limit > 1000)
            return answer(ApiReply::error(400, QStringLiteral("bad_request"),
                                          QStringLiteral("limit must be an integer in 1..1000")));
        const QString after = request.query.queryItemValue(QStringLiteral("after"));
        if (!after.isEmpty() && !pathIdPattern().match(after).hasMatch())
            return answer(
                ApiReply::error(400, QStringLiteral("bad_request"), QStringLiteral("bad job id in after")));
        return answer(m_backend->jobs(qsizetype(limit), after));
    }
    // Deletions and membership administration are asynchronous: they go through the leader and the log
    // (admin token).
    auto later = [this, sock, seq, close, started](const ApiReply& reply) {
        deliver(sock, seq, reply, close, false, started);
    };
    if (path.startsWith(QLatin1String("/api/files/"))) {
        const QString sha = path.mid(11);
        if (!request.is("DELETE")) return answer(methodNotAllowed("DELETE"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->deleteFile(sha, request.header("authorization"), later);
        return;
    }
    if (path.startsWith(QLatin1String("/api/jobs/"))) {
        const QStringList parts = path.mid(10).split(QLatin1Char('/'));
        const bool validId = !parts.isEmpty() && pathIdPattern().match(parts[0]).hasMatch();
        if (validId && parts.size() == 1 && request.is("DELETE")) {
            if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
            m_backend->deleteJob(parts[0], request.header("authorization"), later);
            return;
        }
        if (validId && parts.size() == 1)
            return answer(isGet ? m_backend->job(parts[0]) : methodNotAllowed("GET, DELETE"));
        if (validId && parts.size() == 2 && parts[1] == QLatin1String("words")) {
            if (!isGet) return answer(methodNotAllowed("GET"));
            const QUrlQuery& q = request.query;
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
    const QByteArray authorization = request.header("authorization");
    if (path.startsWith(QLatin1String("/api/members/"))) {
        const QString id = path.mid(13);
        if (!pathIdPattern().match(id).hasMatch())
            return answer(ApiReply::error(404, QStringLiteral("not_found"),
                                          QStringLiteral("no such path: %1").arg(path)));
        if (!request.is("DELETE")) return answer(methodNotAllowed("DELETE"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->removeMember(id, authorization, later);
        return;
    }
    if (path == QLatin1String("/api/admin/compact")) {
        if (!request.is("POST")) return answer(methodNotAllowed("POST"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->compact(authorization, later);
        return;
    }
    if (path == QLatin1String("/api/leader/transfer")) {
        if (!request.is("POST")) return answer(methodNotAllowed("POST"));
        if (fromAnotherOrigin(request)) return answer(crossOriginRefused());
        m_backend->transferLeadership(request.query.queryItemValue(QStringLiteral("to")), authorization,
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

std::unique_ptr<detail::UploadPipe> HttpFrontend::openUpload(const HttpRequest& request,
                                                             detail::HttpConnection* connection, quint64 seq,
                                                             std::shared_ptr<detail::UploadTicket> ticket,
                                                             bool* drain) {
    const QPointer<detail::HttpConnection> sock(connection);
    // A refusal at the head: a small body is read and dropped (the connection stays usable), a large one
    // is not read at all (the connection closes after the answer).
    *drain = !request.head.chunked && request.head.contentLength <= 64 * 1024;
    auto refuse = [&](const ApiReply& reply) -> std::unique_ptr<detail::UploadPipe> {
        deliver(sock, seq, reply, request.close || !*drain);
        return nullptr;
    };
    if (fromAnotherOrigin(request)) return refuse(crossOriginRefused());
    const QUrlQuery& query = request.query;
    UploadMeta meta;
    meta.mode = query.hasQueryItem(QStringLiteral("mode")) ? query.queryItemValue(QStringLiteral("mode"))
                                                           : QStringLiteral("normalized");
    if (meta.mode != QLatin1String("normalized") && meta.mode != QLatin1String("raw"))
        return refuse(ApiReply::error(400, QStringLiteral("bad_request"),
                                      QStringLiteral("mode must be normalized or raw")));
    meta.jobId = QString::fromLatin1(request.header("x-job-id"));
    if (!meta.jobId.isEmpty() && !jobIdPattern().match(meta.jobId).hasMatch())
        return refuse(ApiReply::error(400, QStringLiteral("bad_request"),
                                      QStringLiteral("X-Job-Id must match [A-Za-z0-9-]{8,64}")));
    std::optional<MultipartStream> multipart;
    const QByteArray contentType = request.header("content-type");
    if (isMultipartFormData(contentType)) {
        const QByteArray boundary = multipartBoundary(contentType);
        if (boundary.isEmpty())
            return refuse(ApiReply::error(400, QStringLiteral("bad_multipart"),
                                          QStringLiteral("multipart Content-Type without a valid boundary")));
        multipart.emplace(boundary);
    } else {
        const QByteArray header = request.header("x-filename");
        meta.name = !header.isEmpty() ? QString::fromUtf8(QByteArray::fromPercentEncoding(header))
                                      : query.queryItemValue(QStringLiteral("name"), QUrl::FullyDecoded);
        meta.name = detail::sanitizeFileName(meta.name);
        if (!request.head.chunked) meta.declaredSize = request.head.contentLength;
    }
    auto pipe = std::make_unique<detail::UploadPipe>(this, sock, seq, request.close, std::move(meta),
                                                     std::move(multipart), std::move(ticket));
    if (pipe->answered()) {  // the backend refused it at once (answered, closing)
        *drain = false;
        return nullptr;
    }
    return pipe;
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
    metric("raftwc_http_request_timeouts_total", "counter",
           "408 answers: head not complete in time, body slower than the minimum rate, or stalled.",
           qint64(m.requestTimeouts));
    metric("raftwc_http_connections_refused_total", "counter", "Connections refused (503) at the bound.",
           qint64(m.connectionsRefused));
    metric("raftwc_http_connections_limit", "gauge", "Open connections at most.", m_maxConnections);
    metric("raftwc_http_uploads_refused_busy_total", "counter",
           "Uploads refused (503) at the concurrent-upload or in-flight-bytes bound.",
           qint64(m.uploadsRefusedBusy));
    metric("raftwc_http_uploads_in_flight", "gauge", "Uploads being received or counted.", m_uploadsInFlight);
    metric("raftwc_http_uploads_in_flight_limit", "gauge", "Concurrent uploads at most.",
           m_maxConcurrentUploads);
    metric("raftwc_http_upload_bytes_in_flight", "gauge", "Declared bytes of the uploads in flight.",
           m_uploadBytesInFlight);
    metric("raftwc_http_upload_bytes_in_flight_limit", "gauge", "Upload bytes in flight at most.",
           m_maxUploadBytesInFlight);
    metric("raftwc_http_replies_dropped_total", "counter", "Answers dropped because the client had left.",
           qint64(m.repliesDropped));
    metric("raftwc_http_event_streams_total", "counter", "Event streams (GET /api/events) opened.",
           qint64(m.eventStreams));
    m_requestSeconds.appendPrometheus(
        t, "raftwc_http_request_duration_seconds",
        "Routed requests (not uploads, streams or long polls), read to answered.");
    return t;
}

}  // namespace raftwc::http
