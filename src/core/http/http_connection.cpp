#include "http/http_connection_p.h"

#include "http/http_frontend.h"

#include <QUrl>

#include <sys/socket.h>

namespace raftwc::http::detail {

namespace {

// Bytes read from the socket ahead of the parser at most; the socket's own buffer is bounded too, so a
// client that sends faster than the backend takes is slowed by TCP, not buffered here.
constexpr qsizetype kSocketReadBuffer = 256 * 1024;
constexpr int kLingerMs = 2000;

QByteArray errorResponse(int status, const QString& code, const QString& message, bool close,
                         QList<QPair<QByteArray, QByteArray>> headers = {}) {
    ApiReply reply = ApiReply::error(status, code, message);
    reply.headers = std::move(headers);
    return HttpFrontend::serializeResponse(reply, close);
}

}  // namespace

// ---- UploadTicket ----------------------------------------------------------------------------------

UploadTicket::UploadTicket(HttpFrontend* frontend, qint64 bytes) : m_frontend(frontend), m_bytes(bytes) {
    ++m_frontend->m_uploadsInFlight;
    m_frontend->m_uploadBytesInFlight += bytes;
}

UploadTicket::~UploadTicket() {
    release();
}

void UploadTicket::release() {
    if (!m_frontend) return;
    --m_frontend->m_uploadsInFlight;
    m_frontend->m_uploadBytesInFlight -= m_bytes;
    m_frontend = nullptr;
    m_bytes = 0;
}

bool UploadTicket::grow(qint64 bytes) {
    if (!m_frontend) return false;
    if (m_frontend->m_uploadBytesInFlight + bytes > m_frontend->m_maxUploadBytesInFlight) return false;
    m_frontend->m_uploadBytesInFlight += bytes;
    m_bytes += bytes;
    return true;
}

// ---- HttpListener ----------------------------------------------------------------------------------

HttpListener::HttpListener(HttpFrontend* frontend) : QTcpServer(frontend), m_frontend(frontend) {}

void HttpListener::incomingConnection(qintptr socketDescriptor) {
    auto* socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        delete socket;
        return;
    }
    auto& metrics = m_frontend->m_metrics;
    ++metrics.connectionsAccepted;
    if (m_frontend->m_maxConnections > 0 &&
        metrics.connectionsOpen >= quint64(m_frontend->m_maxConnections)) {
        // Over the bound: a short answer and close, without reading the request.
        ++metrics.connectionsRefused;
        ++metrics.responsesByStatus[503];
        socket->write(errorResponse(503, QStringLiteral("too_many_connections"),
                                    QStringLiteral("the node has %1 connections open; retry shortly")
                                        .arg(m_frontend->m_maxConnections),
                                    true, {{QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")}}));
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        socket->disconnectFromHost();
        QTimer::singleShot(kLingerMs, socket, [socket] {
            socket->abort();
            socket->deleteLater();
        });
        return;
    }
    ++metrics.connectionsOpen;
    new HttpConnection(socket, m_frontend, m_frontend->connectionSettings());
}

// ---- HttpConnection --------------------------------------------------------------------------------

HttpConnection::HttpConnection(QTcpSocket* socket, HttpFrontend* frontend, ConnectionSettings settings)
    : QObject(socket),
      m_socket(socket),
      m_frontend(frontend),
      m_settings(settings),
      m_reader(settings.stream) {
    m_socket->setReadBufferSize(kSocketReadBuffer);
    m_idle.setSingleShot(true);
    m_idle.setInterval(m_settings.idleTimeoutMs);
    m_headDeadline.setSingleShot(true);
    m_headDeadline.setInterval(m_settings.headTimeoutMs);
    m_rate.setInterval(m_settings.rateWindowMs);
    m_linger.setSingleShot(true);
    m_linger.setInterval(kLingerMs);
    connect(socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &HttpConnection::onDisconnected);
    connect(socket, &QTcpSocket::bytesWritten, this, [this] {
        if (m_finalWritten) {
            if (m_socket->bytesToWrite() == 0) lingerAndClose();
            return;
        }
        m_idle.start();
    });
    connect(&m_idle, &QTimer::timeout, this, &HttpConnection::onIdleTimeout);
    connect(&m_headDeadline, &QTimer::timeout, this, [this] {
        ++m_frontend->m_metrics.requestTimeouts;
        fail(408, QStringLiteral("request_timeout"),
             QStringLiteral("request head not complete within %1 ms").arg(m_settings.headTimeoutMs));
    });
    connect(&m_rate, &QTimer::timeout, this, &HttpConnection::onRateCheck);
    connect(&m_linger, &QTimer::timeout, this, [this] {
        m_socket->abort();
        onDisconnected();
    });
    m_idle.start();
}

void HttpConnection::onReadyRead() {
    if (m_closed) return;
    if (m_stopReading) {
        // After a closing request or a rejection: discard, never buffer, what the client still sends.
        m_socket->skip(m_socket->bytesAvailable());
        return;
    }
    // Read only while the parser keeps up: what stays in the socket's bounded buffer holds TCP back.
    for (;;) {
        const qsizetype room = m_settings.stream.maxHead + kSocketReadBuffer - (m_in.size() - m_pos);
        if (room <= 0 || m_socket->bytesAvailable() <= 0) break;
        const QByteArray bytes = m_socket->read(room);
        if (bytes.isEmpty()) break;
        m_idle.start();
        if (!m_headStarted && !m_reader.inRequest() && m_pos == m_in.size()) {
            m_headStarted = true;
            m_headDeadline.start();
        }
        if (m_reader.inRequest()) m_rateBytes += bytes.size();
        compact();
        m_in.append(bytes);
        if (!process()) break;  // held back (pipelining bound) or closing
    }
}

void HttpConnection::compact() {
    if (m_pos == 0) return;
    if (m_pos == m_in.size()) {
        m_in.clear();
    } else {
        m_in.remove(0, m_pos);
    }
    m_pos = 0;
}

bool HttpConnection::process() {
    while (!m_stopReading && !m_closed) {
        // Back-pressure: a client that pipelines far ahead waits until earlier answers are written.
        if (!m_reader.inRequest() && m_pending >= m_settings.maxPipelined) return false;
        QByteArrayView input = QByteArrayView(m_in).sliced(m_pos);
        if (m_pipe && m_reader.inBodyData()) {
            // Back-pressure from the backend: give the upload only what it takes now.
            const qint64 room = m_pipe->room();
            if (room <= 0) {
                m_paused = true;
                m_rate.stop();  // the slowness is ours, not the client's
                return false;
            }
            if (input.size() > room) input = input.first(qsizetype(room));
        }
        const auto e = m_reader.next(input);
        m_pos += e.consumed;
        switch (e.kind) {
            case RequestReader::Event::Kind::NeedMore:
                if (e.consumed > 0) continue;
                return true;  // everything readable is consumed: more input is welcome
            case RequestReader::Event::Kind::Head:
                onHead(e.head);
                break;
            case RequestReader::Event::Kind::Body:
                onBody(e.body);
                break;
            case RequestReader::Event::Kind::End:
                onEnd();
                break;
            case RequestReader::Event::Kind::Reject: {
                auto& metrics = m_frontend->m_metrics;
                if (e.status == 413)
                    ++metrics.uploadsTooLarge;
                else if (e.status == 431)
                    ++metrics.headersTooLarge;
                else
                    ++metrics.malformed;
                fail(e.status, e.code, e.message);
                return false;
            }
        }
    }
    return false;
}

void HttpConnection::onHead(const HeadPeek& head) {
    m_headDeadline.stop();
    m_headStarted = m_pos < m_in.size();  // bytes of the next request already here
    m_rateBytes = 0;
    m_request = std::make_unique<HttpRequest>();
    m_request->head = head;
    const QUrl url(QString::fromLatin1(head.target));
    m_request->path = url.path();
    m_request->query = QUrlQuery(url);
    m_request->close = head.connectionClose;
    m_isUpload = m_request->path == QLatin1String("/api/count") && head.method == "POST";
    const bool hasBody = head.chunked || head.contentLength > 0;
    if (m_isUpload) {
        if (m_frontend->m_uploadsInFlight >= m_frontend->m_maxConcurrentUploads ||
            m_frontend->m_uploadBytesInFlight + head.contentLength > m_frontend->m_maxUploadBytesInFlight) {
            ++m_frontend->m_metrics.uploadsRefusedBusy;
            fail(503, QStringLiteral("busy"),
                 QStringLiteral("the node is receiving %1 uploads (%2 bytes); retry shortly")
                     .arg(m_frontend->m_uploadsInFlight)
                     .arg(m_frontend->m_uploadBytesInFlight));
            return;
        }
        m_ticket = std::make_shared<UploadTicket>(m_frontend, head.contentLength);
        // The upload is a request from its head on: its answer may come before its body is read.
        const quint64 seq = m_nextSeq++;
        ++m_pending;
        m_uploadSeq = seq;
        bool drain = false;
        m_pipe = m_frontend->openUpload(*m_request, this, seq, std::move(m_ticket), &drain);
        if (!m_pipe) {     // refused and answered at its head
            if (!drain) {  // a large body is not read: the connection closes after the answer
                m_stopReading = true;
                m_request.reset();
                return;
            }
            m_isUpload = false;  // a small body is read and dropped, the connection stays
            m_discardBody = true;
            return;
        }
        m_pipe->setRoomCallback([self = QPointer<HttpConnection>(this)] {
            if (self) QTimer::singleShot(0, self, &HttpConnection::resume);
        });
    } else if (head.contentLength > m_settings.maxSmallBody) {
        ++m_frontend->m_metrics.uploadsTooLarge;
        fail(413, QStringLiteral("payload_too_large"),
             QStringLiteral("a body of %1 bytes is over this route's limit of %2 bytes")
                 .arg(head.contentLength)
                 .arg(m_settings.maxSmallBody));
        return;
    }
    if (hasBody) m_rate.start();
    // "Expect: 100-continue": go ahead, unless an earlier answer is still owed (interim answers are in
    // order too; the client then sends after its own short wait).
    const quint64 thisSeq = m_uploadSeq ? *m_uploadSeq : m_nextSeq;
    if (head.expectContinue && hasBody && m_nextWrite == thisSeq)
        m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
}

void HttpConnection::onBody(QByteArrayView bytes) {
    if (!m_request || m_discardBody) return;
    if (m_isUpload) {
        if (!m_pipe) return;
        if (!m_pipe->write(bytes)) {  // answered early (refused or failed): the rest is not read
            m_pipe.reset();
            m_stopReading = true;
            m_rate.stop();
        }
        return;
    } else if (m_request->body.size() + bytes.size() > m_settings.maxSmallBody) {
        ++m_frontend->m_metrics.uploadsTooLarge;
        fail(413, QStringLiteral("payload_too_large"),
             QStringLiteral("body over this route's limit of %1 bytes").arg(m_settings.maxSmallBody));
        return;
    }
    m_request->body.append(bytes.data(), bytes.size());
}

void HttpConnection::onEnd() {
    m_rate.stop();
    if (m_isUpload || m_discardBody) {
        ++m_frontend->m_metrics.requests;
        m_isUpload = false;
        m_discardBody = false;
        m_uploadSeq.reset();
        if (m_request && m_request->close) m_stopReading = true;
        m_request.reset();
        if (auto pipe = std::move(m_pipe)) pipe->finish();
        return;
    }
    if (!m_request) return;
    std::unique_ptr<HttpRequest> request = std::move(m_request);
    const quint64 seq = m_nextSeq++;
    ++m_pending;
    if (request->close) m_stopReading = true;  // nothing after this request is read
    m_frontend->route(*request, this, seq);
}

void HttpConnection::submit(quint64 seq, const QByteArray& response, bool close) {
    if (m_closed || seq < m_nextWrite || m_ready.contains(seq)) return;  // answered once only
    m_ready.insert(seq, {response, close});
    while (!m_ready.isEmpty() && m_ready.firstKey() == m_nextWrite) {
        const auto [bytes, closeAfter] = m_ready.take(m_nextWrite);
        ++m_nextWrite;
        if (m_pending > 0) --m_pending;
        m_socket->write(bytes);
        if (m_streamSeq && m_nextWrite - 1 == *m_streamSeq) {
            // The stream's head is out: what was written meanwhile follows; the stream goes on until
            // either side closes.
            m_streamOpen = true;
            m_ready.clear();
            if (!m_streamPending.isEmpty()) m_socket->write(std::exchange(m_streamPending, {}));
            m_idle.stop();
            return;
        }
        if (closeAfter) {
            m_ready.clear();
            m_stopReading = true;
            m_finalWritten = true;
            m_idle.stop();
            m_rate.stop();
            m_headDeadline.stop();
            m_socket->flush();
            if (m_socket->bytesToWrite() == 0) lingerAndClose();
            return;
        }
    }
    m_idle.start();
    // Answers written: requests held back by the pipelining bound may go on.
    if (!m_stopReading)
        QTimer::singleShot(0, this, [this] {
            if (process()) onReadyRead();
        });
}

class StreamToClient : public StreamWriter {
  public:
    explicit StreamToClient(HttpConnection* c) : m_connection(c) {}
    bool write(const QByteArray& bytes) override { return m_connection && m_connection->streamWrite(bytes); }

  private:
    QPointer<HttpConnection> m_connection;
};

std::shared_ptr<StreamWriter> HttpConnection::prepareStream(quint64 seq) {
    m_streamSeq = seq;
    m_streamOpen = false;
    m_streamPending.clear();
    return std::make_shared<StreamToClient>(this);
}

void HttpConnection::cancelStream() {
    m_streamSeq.reset();
    m_streamPending.clear();
}

void HttpConnection::startStream(const QByteArray& head, std::shared_ptr<void> handle) {
    if (!m_streamSeq) return;
    m_streamHandle = std::move(handle);
    m_stopReading = true;
    submit(*m_streamSeq, head, false);
}

bool HttpConnection::streamWrite(const QByteArray& bytes) {
    if (m_closed || !m_streamSeq || m_finalWritten) return false;
    if (!m_streamOpen) {
        if (m_streamPending.size() + bytes.size() > kMaxStreamBacklog) return false;
        m_streamPending += bytes;
        return true;
    }
    if (m_socket->bytesToWrite() + bytes.size() > kMaxStreamBacklog) {
        // A client that does not read: drop it (later, not from inside the writer's caller); it resumes
        // from its last event id.
        m_finalWritten = true;
        QTimer::singleShot(0, this, [this] {
            m_socket->abort();
            onDisconnected();
        });
        return false;
    }
    m_socket->write(bytes);
    return true;
}

void HttpConnection::fail(int status, const QString& code, const QString& message) {
    // The failing request's answer comes after the answers still owed to earlier ones, then the
    // connection closes; nothing more is read.
    ++m_frontend->m_metrics.responsesByStatus[status];
    m_request.reset();
    m_ticket.reset();
    // An upload whose body is being read already holds its place in the answer order: the refusal takes
    // that place (unless the upload was answered already).
    const bool uploadUnanswered = m_uploadSeq && m_pipe && !m_pipe->answered();
    m_pipe.reset();  // an upload not finished is abandoned
    m_rate.stop();
    m_headDeadline.stop();
    quint64 seq = 0;
    if (uploadUnanswered) {
        seq = *m_uploadSeq;
    } else {
        seq = m_nextSeq++;
        ++m_pending;
    }
    m_uploadSeq.reset();
    QList<QPair<QByteArray, QByteArray>> headers;
    if (status == 503) headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
    m_stopReading = true;
    m_in.clear();
    m_pos = 0;
    m_socket->skip(m_socket->bytesAvailable());
    submit(seq, errorResponse(status, code, message, true, headers), true);
}

void HttpConnection::lingerAndClose() {
    if (m_linger.isActive() || m_closed) return;
    // Half-close: the client reads our answer and sees EOF; its remaining bytes are discarded for a short
    // while so it is not reset before it has read the answer, then the connection is dropped.
    ::shutdown(static_cast<int>(m_socket->socketDescriptor()), SHUT_WR);
    m_linger.start();
}

void HttpConnection::onIdleTimeout() {
    if (m_finalWritten || m_closed || m_streamOpen) return;
    // The backend is still working on a request, or the upload waits for room: not idle. (An upload whose
    // body is being read holds a place in the answer order but is the client's to continue.)
    const int owed = m_pending - (m_uploadSeq ? 1 : 0);
    if (owed > 0 || m_paused) {
        m_idle.start();
        return;
    }
    ++m_frontend->m_metrics.idleTimeouts;
    if (m_reader.inRequest() || m_pos < m_in.size()) {
        ++m_frontend->m_metrics.requestTimeouts;
        fail(408, QStringLiteral("request_timeout"),
             QStringLiteral("no data received for %1 ms").arg(m_settings.idleTimeoutMs));
        return;
    }
    m_socket->abort();
    onDisconnected();
}

void HttpConnection::resume() {
    if (!m_paused || m_closed) return;
    m_paused = false;
    if (m_reader.inRequest()) {
        m_rateBytes = 0;
        m_rate.start();
    }
    if (process()) onReadyRead();
}

void HttpConnection::onRateCheck() {
    if (!m_reader.inRequest() || m_settings.minBodyRate <= 0) return;
    const qint64 needed = m_settings.minBodyRate * m_settings.rateWindowMs / 1000;
    if (m_rateBytes < needed) {
        ++m_frontend->m_metrics.requestTimeouts;
        fail(408, QStringLiteral("request_timeout"),
             QStringLiteral("request body slower than %1 bytes/s (%2 bytes in %3 ms)")
                 .arg(m_settings.minBodyRate)
                 .arg(m_rateBytes)
                 .arg(m_settings.rateWindowMs));
        return;
    }
    m_rateBytes = 0;
}

void HttpConnection::onDisconnected() {
    if (m_closed) return;
    m_closed = true;
    m_idle.stop();
    m_linger.stop();
    m_rate.stop();
    m_headDeadline.stop();
    m_request.reset();
    m_ticket.reset();
    m_pipe.reset();  // a client that left mid-upload: the upload is abandoned
    m_in.clear();
    m_streamPending.clear();
    m_streamHandle.reset();  // the backend's subscription ends
    --m_frontend->m_metrics.connectionsOpen;
    m_socket->deleteLater();  // and this connection with it
}

}  // namespace raftwc::http::detail
