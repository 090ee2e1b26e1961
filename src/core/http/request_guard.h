// Pure, socket-free inspection of the bytes of an HTTP/1.x request stream.
//
// QHttpServer 6.4 buffers whole bodies before any handler runs and has no size limit. The front end
// therefore watches the raw bytes of every connection *before* QHttpServer reads them and feeds them to
// RequestStream, which decides early: reject an oversized Content-Length (413) before any body byte is
// buffered, reject chunked bodies that grow past the limit, oversized heads (431) and malformed
// requests (400). Everything here is a pure function of the bytes: unit-testable without sockets.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace raftwc::http {

struct StreamLimits {
    qint64 maxBody = qint64(1) << 30;  ///< largest accepted request body (decoded for chunked), bytes
    qsizetype maxHead = 64 * 1024;     ///< largest request line + headers, bytes
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
    qint64 contentLength = 0;  ///< for Ok: declared body length (0 when absent or chunked)
    bool chunked = false;
    bool expectContinue = false;
    bool connectionClose = false;
};

/// Inspects the first bytes of a request. NeedMore while the head is incomplete and still plausible;
/// Reject as soon as the bytes seen are enough to know the request is bad; Ok once the whole head is
/// there and acceptable. Never reads past the head.
HeadPeek peekRequestHead(QByteArrayView bytes, const StreamLimits& limits);

/// Follows a whole keep-alive connection: heads, Content-Length bodies, chunked bodies, request after
/// request, as the bytes arrive in arbitrary pieces. A value type; no I/O.
class RequestStream {
  public:
    struct Result {
        bool rejected = false;
        int status = 0;
        QString code;
        QString message;
        int requestsCompleted = 0;  ///< complete requests seen in this feed
        int continuesWanted = 0;    ///< heads with "Expect: 100-continue" accepted in this feed
    };

    explicit RequestStream(StreamLimits limits = {}) : m_limits(limits) {}

    /// Feeds the next bytes received. After a rejection every further feed is rejected again.
    Result feed(QByteArrayView bytes);

    /// Body bytes that can be skipped without looking at them (inside a Content-Length body), so the
    /// caller need not copy them: skipBody(n) for n <= this is the same as feed(n bytes).
    qint64 skippableBodyBytes() const { return m_state == State::Body ? m_bodyRemaining : 0; }
    Result skipBody(qint64 n);

    bool rejected() const { return m_state == State::Rejected; }
    /// True inside a request body (the head is complete, the body is not).
    bool inBody() const { return m_state != State::Head && m_state != State::Rejected; }
    /// True between requests (nothing of a next request received yet).
    bool idle() const { return m_state == State::Head && m_head.isEmpty(); }
    qint64 totalBodyBytes() const { return m_totalBody; }

  private:
    enum class State { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailer, Rejected };
    Result reject(Result r, int status, const char* code, const QString& message);
    void finishRequest(Result& r);

    StreamLimits m_limits;
    State m_state = State::Head;
    QByteArray m_head;         // head bytes collected so far (State::Head) or current line (chunked)
    qsizetype m_scanFrom = 0;  // where to resume looking for the end of the head
    bool m_firstLineChecked = false;
    qint64 m_bodyRemaining = 0;
    qint64 m_chunkRemaining = 0;
    qint64 m_chunkedTotal = 0;
    qint64 m_totalBody = 0;
    int m_chunkEndSeen = 0;
};

}  // namespace raftwc::http
