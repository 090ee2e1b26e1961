#include "http/request_reader.h"

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

// The methods the node answers (others: 501).
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
    ok.version = version.toByteArray();
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
    bool haveLength = false, haveTe = false, keepAlive = false;
    qsizetype pos = firstNl + 1;
    while (pos < end) {
        const qsizetype nl = bytes.indexOf('\n', pos);
        const QByteArrayView raw = stripCr(bytes.sliced(pos, nl - pos));
        pos = nl + 1;
        if (raw.isEmpty()) break;  // the blank line
        if (ok.headers.size() >= limits.maxHeaders)
            return rejectHead(431, "headers_too_large",
                              QStringLiteral("more than %1 header fields").arg(limits.maxHeaders));
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
        ok.headers.append({name.toByteArray(), value.toByteArray()});
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
                if (equalsIgnoreCase(trimOws(token), "keep-alive")) keepAlive = true;
            }
        }
    }
    if (haveLength && haveTe)
        return rejectHead(400, "bad_request", QStringLiteral("both Content-Length and Transfer-Encoding"));
    if (ok.version == "HTTP/1.0" && !keepAlive) ok.connectionClose = true;
    return ok;
}

QByteArray HeadPeek::header(QByteArrayView name) const {
    for (const auto& [key, value] : headers) {
        if (equalsIgnoreCase(key, name)) return value;
    }
    return {};
}

RequestReader::Event RequestReader::reject(int status, const char* code, const QString& message) {
    m_state = State::Rejected;
    Event e;
    e.kind = Event::Kind::Reject;
    e.status = status;
    e.code = QString::fromLatin1(code);
    e.message = message;
    return e;
}

RequestReader::Event RequestReader::next(QByteArrayView in) {
    Event e;
    switch (m_state) {
        case State::Rejected:
            return reject(400, "bad_request", QStringLiteral("connection already rejected"));
        case State::Head: {
            if (in.isEmpty()) return e;
            // The caller calls again with the same bytes plus more: scan only what is new, so a head
            // trickled in one byte at a time costs linear, not quadratic, time.
            const qsizetype from = std::min(m_headScanned, in.size());
            const bool complete = findHeadEnd(in, from - 2) >= 0;
            m_headLines += in.sliced(from).count('\n');
            m_headScanned = in.size();
            if (!complete) {
                // Refuse a head that is already over a limit before it is complete.
                if (m_headLines > m_limits.maxHeaders + 1)
                    return reject(431, "headers_too_large",
                                  QStringLiteral("more than %1 header fields").arg(m_limits.maxHeaders));
                if (in.size() > m_limits.maxHead)
                    return reject(431, "headers_too_large",
                                  QStringLiteral("request headers exceed %1 bytes").arg(m_limits.maxHead));
                if (m_firstLineChecked) return e;
                const qsizetype nl = in.indexOf('\n');
                const HeadPeek p = peekRequestHead(nl < 0 ? in : in.first(nl + 1), m_limits);
                if (p.kind == HeadPeek::Kind::Reject)
                    return reject(p.status, p.code.toLatin1().constData(), p.message);
                m_firstLineChecked = nl >= 0;
                return e;
            }
            const HeadPeek p = peekRequestHead(in, m_limits);
            if (p.kind != HeadPeek::Kind::Ok)
                return reject(p.status ? p.status : 400,
                              p.code.isEmpty() ? "bad_request" : p.code.toLatin1().constData(),
                              p.message.isEmpty() ? QStringLiteral("malformed request head") : p.message);
            m_headScanned = 0;
            m_headLines = 0;
            m_firstLineChecked = false;
            e.kind = Event::Kind::Head;
            e.consumed = p.headSize;
            e.head = p;
            m_bodyBytes = 0;
            m_trailerBytes = 0;
            if (p.chunked) {
                m_state = State::ChunkSize;
            } else if (p.contentLength > 0) {
                m_state = State::Body;
                m_bodyRemaining = p.contentLength;
            } else {
                m_state = State::End;
            }
            return e;
        }
        case State::Body:
        case State::ChunkData: {
            const qint64 take = std::min<qint64>(m_bodyRemaining, in.size());
            if (take == 0) return e;
            m_bodyRemaining -= take;
            m_bodyBytes += take;
            e.kind = Event::Kind::Body;
            e.consumed = qsizetype(take);
            e.body = in.first(qsizetype(take));
            if (m_bodyRemaining == 0) m_state = m_state == State::Body ? State::End : State::ChunkDataEnd;
            return e;
        }
        case State::ChunkDataEnd: {
            if (in.isEmpty()) return e;
            if (in[0] == '\n') {
                e.consumed = 1;
            } else if (in[0] == '\r') {
                if (in.size() < 2) return e;
                if (in[1] != '\n')
                    return reject(400, "bad_request", QStringLiteral("missing CRLF after chunk data"));
                e.consumed = 2;
            } else {
                return reject(400, "bad_request", QStringLiteral("missing CRLF after chunk data"));
            }
            m_state = State::ChunkSize;
            return e;  // NeedMore with consumed > 0: the caller calls again
        }
        case State::ChunkSize:
        case State::Trailer: {
            const qsizetype nl = in.indexOf('\n');
            const qsizetype cap =
                m_state == State::ChunkSize ? kMaxChunkLine : m_limits.maxHead - m_trailerBytes;
            if (nl < 0) {
                if (in.size() > cap)
                    return reject(400, "bad_request", QStringLiteral("chunk header or trailer too long"));
                return e;
            }
            if (nl + 1 > cap)
                return reject(400, "bad_request", QStringLiteral("chunk header or trailer too long"));
            e.consumed = nl + 1;
            QByteArrayView line = stripCr(in.first(nl));
            if (m_state == State::Trailer) {
                m_trailerBytes += nl + 1;
                if (line.isEmpty()) m_state = State::End;
                return e;
            }
            const qsizetype semi = line.indexOf(';');
            if (semi >= 0) line = line.first(semi);
            line = trimOws(line);
            const bool hex =
                !line.isEmpty() && line.size() <= 15 && std::all_of(line.begin(), line.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                });
            if (!hex) return reject(400, "bad_request", QStringLiteral("malformed chunk size"));
            const qint64 size = line.toLongLong(nullptr, 16);
            if (size == 0) {
                m_state = State::Trailer;
                return e;
            }
            if (m_bodyBytes + size > m_limits.maxBody)
                return reject(413, "payload_too_large",
                              QStringLiteral("chunked request body exceeds the limit of %1 bytes")
                                  .arg(m_limits.maxBody));
            m_bodyRemaining = size;
            m_state = State::ChunkData;
            return e;
        }
        case State::End:
            e.kind = Event::Kind::End;
            m_state = State::Head;
            return e;
    }
    return e;
}

}  // namespace raftwc::http
