// The HTTP/1.x request reader of port 3000: pure, socket-free functions of the bytes received.
//
// It decides early and on exactly the bytes the application gets: an oversized Content-Length is refused
// (413) before any body byte is read, a chunked body as soon as it grows past the limit, an oversized head
// or too many header fields (431) and malformed requests (400) at once. QHttpServer 6.4 could not be used
// for this (measured, docs/ARCHITECTURE.md): it buffers whole bodies, silently drops every header of a
// request with more than 100 header lines (so a limit checked on the raw bytes and the request it parsed
// disagreed), and answers pipelined requests out of order.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>

namespace raftwc::http {

struct StreamLimits {
    qint64 maxBody = qint64(1) << 30;  ///< largest accepted request body (decoded for chunked), bytes
    qsizetype maxHead = 64 * 1024;     ///< largest request line + headers, bytes
    int maxHeaders = 100;              ///< most header fields in one head
};

/// Result of inspecting the head (request line + headers) of one request.
struct HeadPeek {
    enum class Kind { NeedMore, Ok, Reject };
    Kind kind = Kind::NeedMore;
    int status = 0;          ///< for Reject: 400, 413, 431, 501
    QString code;            ///< for Reject: machine-readable error code ("payload_too_large", ...)
    QString message;         ///< for Reject: human-readable explanation
    qsizetype headSize = 0;  ///< for Ok: bytes of the head including the blank line
    QByteArray method;
    QByteArray target;
    QByteArray version;                            ///< "HTTP/1.1" or "HTTP/1.0"
    QList<QPair<QByteArray, QByteArray>> headers;  ///< for Ok: fields as sent (value trimmed)
    qint64 contentLength = 0;  ///< for Ok: declared body length (0 when absent or chunked)
    bool chunked = false;
    bool expectContinue = false;
    bool connectionClose = false;  ///< "Connection: close", or HTTP/1.0 without keep-alive

    /// The first field named `name` (case-insensitive), or empty.
    QByteArray header(QByteArrayView name) const;
};

/// Inspects the first bytes of a request. NeedMore while the head is incomplete and still plausible;
/// Reject as soon as the bytes seen are enough to know the request is bad; Ok once the whole head is
/// there and acceptable. Never reads past the head.
HeadPeek peekRequestHead(QByteArrayView bytes, const StreamLimits& limits);

/// Reads the requests of one keep-alive connection out of the bytes received, as they arrive in
/// arbitrary pieces: heads, Content-Length bodies, chunked bodies, request after request (pipelining).
/// Pull style, and a value type with no I/O: the caller keeps the unconsumed bytes and calls next() on
/// them; each call consumes a prefix and reports one event. Body bytes are reported as views into the
/// caller's bytes, so a body is never copied here and the caller decides where it goes (and may stop
/// calling next() to apply back-pressure). The framing decided here is the only one on the connection:
/// what the limits are checked against is exactly what the application receives.
class RequestReader {
  public:
    struct Event {
        enum class Kind {
            NeedMore,  ///< nothing more can be read from these bytes; consumed may still be > 0
            Head,      ///< a complete, acceptable request head (in `head`)
            Body,      ///< body bytes of the current request (in `body`, a view into the input)
            End,       ///< the current request is complete (after its head and whole body)
            Reject,    ///< the stream is broken or over a limit: answer `status` and close
        };
        Kind kind = Kind::NeedMore;
        qsizetype consumed = 0;  ///< bytes of the input this step used
        HeadPeek head;           ///< Head
        QByteArrayView body;     ///< Body
        int status = 0;          ///< Reject: 400, 408, 413, 414, 431, 501, 505
        QString code;            ///< Reject: machine-readable code
        QString message;         ///< Reject: explanation
    };

    explicit RequestReader(StreamLimits limits = {}) : m_limits(limits) {}

    /// Reads the next event from `input` (the bytes received and not yet consumed). After a Reject every
    /// call rejects again.
    Event next(QByteArrayView input);

    bool rejected() const { return m_state == State::Rejected; }
    /// True between the head and the end of a request.
    bool inRequest() const { return m_state != State::Head && m_state != State::Rejected; }
    /// True where the next bytes are body data (not a chunk-size line, a CRLF or a trailer).
    bool inBodyData() const { return m_state == State::Body || m_state == State::ChunkData; }
    /// Body bytes of the current request so far (decoded, for chunked).
    qint64 bodyBytes() const { return m_bodyBytes; }
    const StreamLimits& limits() const { return m_limits; }

  private:
    enum class State { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailer, End, Rejected };
    Event reject(int status, const char* code, const QString& message);

    StreamLimits m_limits;
    State m_state = State::Head;
    qint64 m_bodyRemaining = 0;  // Content-Length body, or the current chunk
    qint64 m_bodyBytes = 0;
    qsizetype m_trailerBytes = 0;
    qsizetype m_headScanned = 0;  // bytes of the pending head already scanned
    qsizetype m_headLines = 0;    // '\n' seen in them
    bool m_firstLineChecked = false;
};

}  // namespace raftwc::http
