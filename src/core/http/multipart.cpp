#include "http/multipart.h"

#include "http/text_util_p.h"

#include <QList>
#include <QUrl>

namespace raftwc::http {

namespace {

using detail::startsWithIgnoreCase;
QByteArrayView trim(QByteArrayView v) {
    return detail::trimOws(v);
}

// Splits "a; b=c; d=\"x;y\"" into parameters, honouring quoted strings. Returns (name, raw value) pairs.
QList<QPair<QByteArray, QByteArray>> splitParams(QByteArrayView header, bool* ok) {
    QList<QPair<QByteArray, QByteArray>> out;
    *ok = true;
    qsizetype i = header.indexOf(';');
    if (i < 0) return out;
    ++i;
    const qsizetype n = header.size();
    while (i < n) {
        while (i < n && (header[i] == ' ' || header[i] == '\t' || header[i] == ';'))
            ++i;
        if (i >= n) break;
        const qsizetype eq = header.indexOf('=', i);
        const qsizetype semi = header.indexOf(';', i);
        if (eq < 0 || (semi >= 0 && semi < eq)) {  // a flag parameter without value: skip it
            i = semi < 0 ? n : semi + 1;
            continue;
        }
        QByteArray name = trim(header.sliced(i, eq - i)).toByteArray().toLower();
        i = eq + 1;
        while (i < n && (header[i] == ' ' || header[i] == '\t'))
            ++i;
        QByteArray value;
        if (i < n && header[i] == '"') {
            ++i;
            bool closed = false;
            while (i < n) {
                const char c = header[i];
                if (c == '\\' && i + 1 < n) {
                    value.append(header[i + 1]);
                    i += 2;
                } else if (c == '"') {
                    closed = true;
                    ++i;
                    break;
                } else {
                    value.append(c);
                    ++i;
                }
            }
            if (!closed) {
                *ok = false;
                return out;
            }
            while (i < n && header[i] != ';')
                ++i;
        } else {
            const qsizetype end = semi < 0 ? n : semi;
            value = trim(header.sliced(i, end - i)).toByteArray();
            i = end;
        }
        out.append({name, value});
    }
    return out;
}

QString stripPath(QString name) {
    const qsizetype cut = std::max(name.lastIndexOf(QLatin1Char('/')), name.lastIndexOf(QLatin1Char('\\')));
    if (cut >= 0) name = name.mid(cut + 1);
    return name;
}

}  // namespace

bool isMultipartFormData(QByteArrayView contentType) {
    return startsWithIgnoreCase(trim(contentType), "multipart/form-data");
}

QByteArray multipartBoundary(QByteArrayView contentType) {
    bool ok = false;
    const auto params = splitParams(contentType, &ok);
    if (!ok) return {};
    for (const auto& [name, value] : params) {
        if (name != "boundary") continue;
        if (value.isEmpty() || value.size() > 200) return {};
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u >= 0x7f) return {};
        }
        return value;
    }
    return {};
}

QString contentDispositionParam(QByteArrayView disposition, QByteArrayView wanted) {
    bool ok = false;
    const auto params = splitParams(disposition, &ok);
    if (!ok) return {};
    const QByteArray plain = wanted.toByteArray().toLower();
    const QByteArray extended = plain + '*';
    QString plainValue;
    for (const auto& [name, value] : params) {
        if (name == extended) {
            // RFC 5987: charset'language'percent-encoded
            const qsizetype q1 = value.indexOf('\'');
            const qsizetype q2 = q1 < 0 ? -1 : value.indexOf('\'', q1 + 1);
            if (q2 < 0) continue;
            const QByteArray charset = value.first(q1).toLower();
            const QByteArray decoded = QByteArray::fromPercentEncoding(value.sliced(q2 + 1));
            if (charset == "utf-8") return QString::fromUtf8(decoded);
            if (charset == "iso-8859-1") return QString::fromLatin1(decoded);
            continue;
        }
        if (name == plain && plainValue.isNull()) {
            plainValue = QString::fromUtf8(value);
            if (plainValue.isNull()) plainValue = QStringLiteral("");
        }
    }
    return plainValue;
}

MultipartStream::MultipartStream(QByteArray boundary)
    : m_delimiter("--" + boundary), m_crlfDelimiter("\r\n--" + boundary) {}

bool MultipartStream::failWith(const QString& why) {
    m_state = State::Failed;
    m_error = why;
    m_buf.clear();
    return false;
}

void MultipartStream::consume(qsizetype n) {
    m_buf.remove(0, n);
    m_consumed += n;
}

MultipartStream::Step MultipartStream::run(const std::function<void(QByteArrayView)>& out) {
    Step step;
    auto pass = [&](QByteArrayView v) {
        if (v.isEmpty()) return;
        out(v);
        m_fileLength += v.size();
        step.fileBytes += v.size();
    };
    auto failed = [&](const QString& why) {
        failWith(why);
        step.ok = false;
        return step;
    };
    // Bytes that may be the start of a delimiter are held back until the next feed decides.
    const qsizetype holdBack = m_crlfDelimiter.size() - 1;
    for (;;) {
        switch (m_state) {
            case State::Failed:
                step.ok = false;
                return step;
            case State::Epilogue:
                consume(m_buf.size());
                return step;
            case State::Preamble: {
                // The first delimiter: at the very start, or after a preamble ending in CRLF.
                if (m_consumed == 0 && m_buf.size() < m_delimiter.size() &&
                    QByteArrayView(m_delimiter).startsWith(m_buf))
                    return step;
                if (m_consumed == 0 && m_buf.startsWith(m_delimiter)) {
                    consume(m_delimiter.size());
                    m_state = State::AfterDelimiter;
                    continue;
                }
                const qsizetype at = m_buf.indexOf(m_crlfDelimiter);
                if (at >= 0) {
                    consume(at + m_crlfDelimiter.size());
                    m_state = State::AfterDelimiter;
                    continue;
                }
                if (m_buf.size() > holdBack) consume(m_buf.size() - holdBack);
                return step;
            }
            case State::AfterDelimiter: {
                // "--" closes; otherwise optional padding, then CRLF.
                if (m_buf.size() < 2) return step;
                if (m_buf.startsWith("--")) {
                    m_closed = true;
                    m_state = State::Epilogue;
                    continue;
                }
                qsizetype i = 0;
                while (i < m_buf.size() && (m_buf[i] == ' ' || m_buf[i] == '\t'))
                    ++i;
                if (i > 256) return failed(QStringLiteral("malformed multipart delimiter line"));
                if (m_buf.size() < i + 2) return step;
                if (m_buf[i] != '\r' || m_buf[i + 1] != '\n')
                    return failed(QStringLiteral("malformed multipart delimiter line"));
                consume(i + 2);
                m_state = State::Headers;
                continue;
            }
            case State::Headers: {
                // Part headers end with an empty line (possibly right away: no headers).
                QByteArrayView headers;
                qsizetype used = 0;
                if (m_buf.startsWith("\r\n")) {
                    used = 2;
                } else {
                    const qsizetype end = m_buf.indexOf("\r\n\r\n");
                    if (end < 0) {
                        if (m_buf.size() > 16 * 1024)
                            return failed(QStringLiteral("multipart part headers too large"));
                        return step;
                    }
                    if (end > 16 * 1024) return failed(QStringLiteral("multipart part headers too large"));
                    headers = QByteArrayView(m_buf).first(end);
                    used = end + 4;
                }
                QByteArray disposition;
                bool hasDisposition = false;
                qsizetype lineStart = 0;
                while (lineStart < headers.size()) {
                    qsizetype lineEnd = headers.indexOf("\r\n", lineStart);
                    if (lineEnd < 0) lineEnd = headers.size();
                    const QByteArrayView line = headers.sliced(lineStart, lineEnd - lineStart);
                    if (!line.isEmpty()) {
                        const qsizetype colon = line.indexOf(':');
                        if (colon <= 0) return failed(QStringLiteral("malformed multipart part header"));
                        if (trim(line.first(colon)).compare("content-disposition", Qt::CaseInsensitive) ==
                            0) {
                            disposition = trim(line.sliced(colon + 1)).toByteArray();
                            hasDisposition = true;
                        }
                    }
                    lineStart = lineEnd + 2;
                }
                consume(used);
                if (!hasDisposition || !startsWithIgnoreCase(disposition, "form-data"))
                    return failed(QStringLiteral("multipart part without Content-Disposition: form-data"));
                const QString filename = contentDispositionParam(disposition, "filename");
                const QString field = contentDispositionParam(disposition, "name");
                // A part with a filename is the file; so is a plain field named "file" (curl -F
                // 'file=<x.txt' sends the content so).
                m_inFile = !filename.isNull() || field == QLatin1String("file");
                if (m_inFile) {
                    if (m_fileSeen)
                        return failed(QStringLiteral("multipart body must contain exactly one file part"));
                    m_fileSeen = true;
                    m_filename = filename.isNull() ? QString() : stripPath(filename);
                    m_fieldName = field.isNull() ? QString() : field;
                    m_fileOffset = m_consumed;
                    step.fileStarted = true;
                }
                m_state = State::Data;
                continue;
            }
            case State::Data: {
                const qsizetype at = m_buf.indexOf(m_crlfDelimiter);
                if (at >= 0) {
                    if (m_inFile) pass(QByteArrayView(m_buf).first(at));
                    consume(at + m_crlfDelimiter.size());
                    m_inFile = false;
                    m_state = State::AfterDelimiter;
                    continue;
                }
                if (m_buf.size() > holdBack) {
                    const qsizetype n = m_buf.size() - holdBack;
                    if (m_inFile) pass(QByteArrayView(m_buf).first(n));
                    consume(n);
                }
                return step;
            }
        }
    }
}

bool MultipartStream::finish(QString* error) {
    auto no = [&](const QString& why) {
        if (m_state != State::Failed) failWith(why);
        if (error) *error = m_error;
        return false;
    };
    if (m_state == State::Failed) return no(m_error);
    if (!m_closed) {
        if (m_state == State::Preamble) return no(QStringLiteral("multipart body has no boundary delimiter"));
        return no(QStringLiteral("multipart body is missing its closing boundary"));
    }
    if (!m_fileSeen) return no(QStringLiteral("multipart body has no file part"));
    return true;
}

MultipartFile parseMultipartFile(QByteArrayView contentType, QByteArrayView body) {
    MultipartFile result;
    if (!isMultipartFormData(contentType)) {
        result.error = QStringLiteral("Content-Type is not multipart/form-data");
        return result;
    }
    const QByteArray boundary = multipartBoundary(contentType);
    if (boundary.isEmpty()) {
        result.error = QStringLiteral("multipart Content-Type without a valid boundary");
        return result;
    }
    MultipartStream stream(boundary);
    const auto step = stream.feed(body, [](QByteArrayView) {});
    QString error;
    if (!step.ok || !stream.finish(&error)) {
        result.error = step.ok ? error : stream.error();
        return result;
    }
    result.ok = true;
    result.offset = qsizetype(stream.fileOffset());
    result.length = qsizetype(stream.fileLength());
    result.filename = stream.filename();
    result.fieldName = stream.fieldName();
    return result;
}

}  // namespace raftwc::http
