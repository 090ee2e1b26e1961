// UploadPipe: one streamed upload between a connection and the backend's UploadSink (multipart unwrapped
// on the way, one answer, the upload's share of the front end's bounds released with it).
#include "http/http_connection_p.h"
#include "http/http_frontend.h"

#include <QRegularExpression>

namespace raftwc::http::detail {

QString sanitizeFileName(QString name) {
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

UploadPipe::UploadPipe(HttpFrontend* frontend, QPointer<HttpConnection> connection, quint64 seq, bool close,
                       UploadMeta meta, std::optional<MultipartStream> multipart,
                       std::shared_ptr<UploadTicket> ticket)
    : m_frontend(frontend),
      m_connection(std::move(connection)),
      m_seq(seq),
      m_close(close),
      m_meta(std::move(meta)),
      m_multipart(std::move(multipart)),
      m_ticket(std::move(ticket)) {
    if (!m_multipart) start();  // a raw body is the file: the backend can start now
}

UploadPipe::~UploadPipe() {
    // Abandoned before the body was complete: whatever the backend says later is not delivered (the
    // connection answered otherwise, or is gone). The sink, destroyed now, abandons its upload.
    if (!m_shared->finished) {
        m_shared->answered = true;
        if (m_ticket) m_ticket->release();
    }
}

bool UploadPipe::start() {
    ++m_frontend->m_metrics.uploadsAccepted;
    const QPointer<HttpFrontend> fe(m_frontend);
    m_sink = m_frontend->m_backend->beginUpload(
        m_meta, [fe, sock = m_connection, seq = m_seq, close = m_close, shared = m_shared,
                 ticket = m_ticket](ApiReply reply) mutable {
            if (ticket) ticket->release();  // this upload's share of the bounds is free again
            ticket.reset();
            if (shared->answered) return;  // the contract says once; be safe anyway
            shared->answered = true;
            // Answered before the whole body was read: the connection cannot go on after it.
            if (fe) fe->deliver(sock, seq, reply, close || !shared->finished);
        });
    if (m_sink) m_sink->setRoomCallback(m_onRoom);  // m_ticket is shared with `done` from now on
    return m_sink != nullptr;
}

void UploadPipe::answer(const ApiReply& reply, bool bodyRead) {
    if (m_shared->answered) return;
    m_shared->answered = true;
    if (m_ticket) m_ticket->release();
    m_sink.reset();  // abandons the upload if it started
    m_frontend->deliver(m_connection, m_seq, reply, !bodyRead || m_close);
}

void UploadPipe::setRoomCallback(std::function<void()> f) {
    m_onRoom = std::move(f);
    if (m_sink) m_sink->setRoomCallback(m_onRoom);
}

qint64 UploadPipe::room() const {
    if (m_shared->answered) return 0;
    // Multipart: headers and fields before the file are only scanned; the file's bytes go to the sink.
    if (!m_sink) return 64 * 1024;
    return m_sink->room();
}

bool UploadPipe::write(QByteArrayView body) {
    if (m_shared->answered) return false;
    if (m_meta.declaredSize < 0 && m_ticket && !m_ticket->grow(body.size())) {
        ++m_frontend->m_metrics.uploadsRefusedBusy;
        answer(ApiReply::error(503, QStringLiteral("busy"),
                               QStringLiteral("the node's upload memory is in use; retry shortly")));
        return false;
    }
    if (!m_multipart) {
        m_fileBytes += body.size();
        m_sink->write(body);
        return !m_shared->answered;
    }
    const auto step = m_multipart->feed(body, [&](QByteArrayView file) {
        if (m_shared->answered) return;
        if (!m_sink) {
            m_meta.name = sanitizeFileName(m_multipart->filename());
            if (!start()) return;
        }
        m_fileBytes += file.size();
        m_sink->write(file);
    });
    if (!step.ok) {
        answer(ApiReply::error(400, QStringLiteral("bad_multipart"), m_multipart->error()));
        return false;
    }
    if (step.fileStarted && !m_sink && !m_shared->answered) {
        m_meta.name = sanitizeFileName(m_multipart->filename());
        if (!start()) return false;
    }
    return !m_shared->answered;
}

void UploadPipe::finish() {
    if (m_shared->answered) return;
    if (m_multipart) {
        QString error;
        if (!m_multipart->finish(&error))
            return answer(ApiReply::error(400, QStringLiteral("bad_multipart"), error), true);
        if (!m_sink) {  // an empty file part
            m_meta.name = sanitizeFileName(m_multipart->filename());
            if (!start()) return;
        }
    }
    m_shared->finished = true;
    m_frontend->m_metrics.uploadBytes += quint64(m_fileBytes);
    m_frontend->m_metrics.largestUpload = std::max<qint64>(m_frontend->m_metrics.largestUpload, m_fileBytes);
    m_sink->finish();
}

}  // namespace raftwc::http::detail
