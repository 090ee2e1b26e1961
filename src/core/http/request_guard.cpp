#include "http/request_guard.h"

#include "http/text_util_p.h"

#include <QList>

#include <algorithm>

namespace raftwc::http {

namespace {

constexpr qsizetype kMaxRequestLine = 8 * 1024;
constexpr qsizetype kMaxChunkLine = 4 * 1024;

bool isTchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

// Methods that QHttpServer 6.4's http_parser understands and that make sense here.
bool isKnownMethod(QByteArrayView m) {
    static constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    return std::any_of(std::begin(kMethods), std::end(kMethods),
                       [&](const char* k) { return m == QByteArrayView(k); });
}

QByteArrayView stripCr(QByteArrayView line) {
    return line.endsWith('\r') ? line.first(line.size() - 1) : line;
}

using detail::equalsIgnoreCase;
using detail::trimOws;

HeadPeek rejectHead(int status, const char* code, const QString& message) {
    HeadPeek p;
    p.kind = HeadPeek::Kind::Reject;
    p.status = status;
    p.code = QString::fromLatin1(code);
    p.message = message;
    return p;
}

// Finds the end of the head (the byte after the blank line) searching from `from`; -1 if absent.
qsizetype findHeadEnd(QByteArrayView b, qsizetype from) {
    for (qsizetype i = std::max<qsizetype>(from, 0); i < b.size(); ++i) {
        if (b[i] != '\n') continue;
        if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
        if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
    }
    return -1;
}

// Checks what has arrived of the request line. `complete` says whether the line's '\n' was seen.
HeadPeek checkRequestLine(QByteArrayView line, bool complete, HeadPeek ok) {
    if (line.isEmpty() && complete)
        return rejectHead(400, "bad_request", QStringLiteral("empty request line"));
    // Method: letters up to the first space.
    const qsizetype sp1 = line.indexOf(' ');
    const QByteArrayView method = sp1 < 0 ? line : line.first(sp1);
    for (char c : method) {
        if (c < 'A' || c > 'Z')
            return rejectHead(400, "bad_request", QStringLiteral("malformed HTTP request line"));
    }
    if (method.size() > 16)
        return rejectHead(400, "bad_request", QStringLiteral("malformed HTTP request line"));
    if (line.size() > kMaxRequestLine)
        return rejectHead(414, "uri_too_long",
                          QStringLiteral("request line longer than %1 bytes").arg(kMaxRequestLine));
    if (!complete) {
        if (sp1 >= 0 && !isKnownMethod(method))
            return rejectHead(501, "not_implemented", QStringLiteral("unsupported HTTP method"));
        return ok;
    }
    if (sp1 < 0) return rejectHead(400, "bad_request", QStringLiteral("malformed HTTP request line"));
    if (!isKnownMethod(method))
        return rejectHead(501, "not_implemented", QStringLiteral("unsupported HTTP method"));
    const QByteArrayView rest = line.sliced(sp1 + 1);
    const qsizetype sp2 = rest.indexOf(' ');
    if (sp2 <= 0) return rejectHead(400, "bad_request", QStringLiteral("malformed HTTP request line"));
    const QByteArrayView target = rest.first(sp2);
    const QByteArrayView version = rest.sliced(sp2 + 1);
    if (target[0] != '/')
        return rejectHead(400, "bad_request", QStringLiteral("request target must be an absolute path"));
    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f)
            return rejectHead(400, "bad_request", QStringLiteral("invalid character in request target"));
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (version.size() == 8 && version.startsWith("HTTP/"))
            return rejectHead(505, "http_version_not_supported", QStringLiteral("only HTTP/1.0 and 1.1"));
        return rejectHead(400, "bad_request", QStringLiteral("malformed HTTP version"));
    }
    ok.method = method.toByteArray();
    ok.target = target.toByteArray();
    return ok;
}

}  // namespace

HeadPeek peekRequestHead(QByteArrayView bytes, const StreamLimits& limits) {
    HeadPeek need;
    need.kind = HeadPeek::Kind::NeedMore;
    const qsizetype end = findHeadEnd(bytes, 0);
    const qsizetype firstNl = bytes.indexOf('\n');
    // Request line (possibly partial).
    const QByteArrayView firstLine = firstNl < 0 ? bytes : stripCr(bytes.first(firstNl));
    HeadPeek line = checkRequestLine(firstLine, firstNl >= 0, need);
    if (line.kind == HeadPeek::Kind::Reject) return line;
    if (end < 0) {
        if (bytes.size() > limits.maxHead)
            return rejectHead(431, "headers_too_large",
                              QStringLiteral("request headers exceed %1 bytes").arg(limits.maxHead));
        return need;
    }
    if (end > limits.maxHead)
        return rejectHead(431, "headers_too_large",
                          QStringLiteral("request headers exceed %1 bytes").arg(limits.maxHead));

    HeadPeek ok = line;
    ok.kind = HeadPeek::Kind::Ok;
    ok.headSize = end;
    bool haveLength = false, haveTe = false;
    qsizetype pos = firstNl + 1;
    while (pos < end) {
        const qsizetype nl = bytes.indexOf('\n', pos);
        const QByteArrayView raw = stripCr(bytes.sliced(pos, nl - pos));
        pos = nl + 1;
        if (raw.isEmpty()) break;  // the blank line
        if (raw[0] == ' ' || raw[0] == '\t')
            return rejectHead(400, "bad_request", QStringLiteral("folded header lines are not allowed"));
        const qsizetype colon = raw.indexOf(':');
        if (colon <= 0) return rejectHead(400, "bad_request", QStringLiteral("malformed header line"));
        const QByteArrayView name = raw.first(colon);
        if (!std::all_of(name.begin(), name.end(), isTchar))
            return rejectHead(400, "bad_request", QStringLiteral("malformed header name"));
        const QByteArrayView value = trimOws(raw.sliced(colon + 1));
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && u != '\t') || u == 0x7f)
                return rejectHead(400, "bad_request", QStringLiteral("control character in header value"));
        }
        if (equalsIgnoreCase(name, "content-length")) {
            if (value.isEmpty() ||
                !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return rejectHead(400, "bad_request", QStringLiteral("invalid Content-Length"));
            qint64 n = 0;
            bool huge = value.size() > 18;
            if (!huge) n = value.toLongLong();
            if (huge || n > limits.maxBody)
                return rejectHead(413, "payload_too_large",
                                  QStringLiteral("request body of %1 bytes exceeds the limit of %2 bytes")
                                      .arg(QString::fromLatin1(value.toByteArray()))
                                      .arg(limits.maxBody));
            if (haveLength && n != ok.contentLength)
                return rejectHead(400, "bad_request", QStringLiteral("conflicting Content-Length headers"));
            haveLength = true;
            ok.contentLength = n;
        } else if (equalsIgnoreCase(name, "transfer-encoding")) {
            if (haveTe || !equalsIgnoreCase(value, "chunked"))
                return rejectHead(501, "not_implemented",
                                  QStringLiteral("only Transfer-Encoding: chunked is supported"));
            haveTe = true;
            ok.chunked = true;
        } else if (equalsIgnoreCase(name, "expect")) {
            if (equalsIgnoreCase(value, "100-continue")) ok.expectContinue = true;
        } else if (equalsIgnoreCase(name, "connection")) {
            const QList<QByteArray> tokens = value.toByteArray().split(',');
            for (const QByteArray& token : tokens) {
                if (equalsIgnoreCase(trimOws(token), "close")) ok.connectionClose = true;
            }
        }
    }
    if (haveLength && haveTe)
        return rejectHead(400, "bad_request", QStringLiteral("both Content-Length and Transfer-Encoding"));
    return ok;
}

RequestStream::Result RequestStream::reject(Result r, int status, const char* code, const QString& message) {
    m_state = State::Rejected;
    r.rejected = true;
    r.status = status;
    r.code = QString::fromLatin1(code);
    r.message = message;
    return r;
}

void RequestStream::finishRequest(Result& r) {
    ++r.requestsCompleted;
    m_state = State::Head;
    m_head.clear();
    m_scanFrom = 0;
    m_firstLineChecked = false;
}

RequestStream::Result RequestStream::skipBody(qint64 n) {
    Result r;
    if (m_state != State::Body || n > m_bodyRemaining || n < 0)
        return reject(r, 500, "internal_error", QStringLiteral("request stream out of sync"));
    m_bodyRemaining -= n;
    m_totalBody += n;
    if (m_bodyRemaining == 0) finishRequest(r);
    return r;
}

RequestStream::Result RequestStream::feed(QByteArrayView bytes) {
    Result r;
    qsizetype i = 0;
    const qsizetype n = bytes.size();
    if (m_state == State::Rejected)
        return reject(r, 400, "bad_request", QStringLiteral("connection already rejected"));
    while (i < n) {
        switch (m_state) {
            case State::Rejected:
                return r;
            case State::Head: {
                const qsizetype oldSize = m_head.size();
                const qsizetype room = m_limits.maxHead + 1 - oldSize;
                const qsizetype take = std::min(n - i, std::max<qsizetype>(room, 0));
                m_head.append(bytes.sliced(i, take));
                const qsizetype end = findHeadEnd(m_head, m_scanFrom - 2);
                if (end < 0) {
                    i += take;
                    m_scanFrom = m_head.size();
                    if (!m_firstLineChecked || m_head.size() > m_limits.maxHead) {
                        const HeadPeek p = peekRequestHead(m_head, m_limits);
                        if (p.kind == HeadPeek::Kind::Reject)
                            return reject(r, p.status, p.code.toLatin1().constData(), p.message);
                        if (m_head.contains('\n')) m_firstLineChecked = true;
                    }
                    break;
                }
                const HeadPeek p = peekRequestHead(QByteArrayView(m_head).first(end), m_limits);
                if (p.kind != HeadPeek::Kind::Ok)
                    return reject(r, p.status ? p.status : 400,
                                  p.code.isEmpty() ? "bad_request" : p.code.toLatin1().constData(),
                                  p.message.isEmpty() ? QStringLiteral("malformed request head") : p.message);
                i += end - oldSize;  // bytes after the head belong to the body or the next request
                m_head.clear();
                m_scanFrom = 0;
                m_firstLineChecked = false;
                if (p.chunked) {
                    m_state = State::ChunkSize;
                    m_chunkedTotal = 0;
                    if (p.expectContinue) ++r.continuesWanted;
                } else if (p.contentLength > 0) {
                    m_state = State::Body;
                    m_bodyRemaining = p.contentLength;
                    if (p.expectContinue) ++r.continuesWanted;
                } else {
                    finishRequest(r);
                }
                break;
            }
            case State::Body: {
                const qint64 take = std::min<qint64>(m_bodyRemaining, n - i);
                m_bodyRemaining -= take;
                m_totalBody += take;
                i += take;
                if (m_bodyRemaining == 0) finishRequest(r);
                break;
            }
            case State::ChunkSize:
            case State::Trailer: {
                const qsizetype nl = bytes.indexOf('\n', i);
                const qsizetype take = (nl < 0 ? n : nl + 1) - i;
                m_head.append(bytes.sliced(i, take));
                i += take;
                const qsizetype cap = m_state == State::ChunkSize ? kMaxChunkLine : m_limits.maxHead;
                if (m_head.size() > cap)
                    return reject(r, 400, "bad_request", QStringLiteral("chunk header or trailer too long"));
                if (nl < 0) break;
                QByteArrayView line = stripCr(QByteArrayView(m_head).first(m_head.size() - 1));
                if (m_state == State::Trailer) {
                    const bool blank = line.isEmpty();
                    m_head.clear();
                    if (blank) finishRequest(r);
                    break;
                }
                const qsizetype semi = line.indexOf(';');
                if (semi >= 0) line = line.first(semi);
                line = trimOws(line);
                const bool hex =
                    !line.isEmpty() && line.size() <= 15 && std::all_of(line.begin(), line.end(), [](char c) {
                        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                    });
                if (!hex) return reject(r, 400, "bad_request", QStringLiteral("malformed chunk size"));
                const qint64 size = line.toLongLong(nullptr, 16);
                m_head.clear();
                if (size == 0) {
                    m_state = State::Trailer;
                    break;
                }
                m_chunkedTotal += size;
                if (m_chunkedTotal > m_limits.maxBody)
                    return reject(r, 413, "payload_too_large",
                                  QStringLiteral("chunked request body exceeds the limit of %1 bytes")
                                      .arg(m_limits.maxBody));
                m_chunkRemaining = size;
                m_state = State::ChunkData;
                break;
            }
            case State::ChunkData: {
                const qint64 take = std::min<qint64>(m_chunkRemaining, n - i);
                m_chunkRemaining -= take;
                m_totalBody += take;
                i += take;
                if (m_chunkRemaining == 0) {
                    m_state = State::ChunkDataEnd;
                    m_chunkEndSeen = 0;
                }
                break;
            }
            case State::ChunkDataEnd: {
                const char c = bytes[i];
                if (c == '\r' && m_chunkEndSeen == 0) {
                    m_chunkEndSeen = 1;
                    ++i;
                } else if (c == '\n') {
                    ++i;
                    m_state = State::ChunkSize;
                } else {
                    return reject(r, 400, "bad_request", QStringLiteral("missing CRLF after chunk data"));
                }
                break;
            }
        }
    }
    return r;
}

}  // namespace raftwc::http
