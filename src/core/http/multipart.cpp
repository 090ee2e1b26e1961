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

MultipartFile parseMultipartFile(QByteArrayView contentType, QByteArrayView body) {
    MultipartFile result;
    auto fail = [&](const QString& why) {
        result = MultipartFile{};
        result.error = why;
        return result;
    };
    if (!isMultipartFormData(contentType))
        return fail(QStringLiteral("Content-Type is not multipart/form-data"));
    const QByteArray boundary = multipartBoundary(contentType);
    if (boundary.isEmpty()) return fail(QStringLiteral("multipart Content-Type without a valid boundary"));
    const QByteArray delimiter = "--" + boundary;
    const QByteArray crlfDelimiter = "\r\n" + delimiter;

    // The first delimiter: at the very start, or after a preamble ending in CRLF.
    qsizetype pos;
    if (body.startsWith(delimiter)) {
        pos = delimiter.size();
    } else {
        const qsizetype at = body.indexOf(crlfDelimiter);
        if (at < 0) return fail(QStringLiteral("multipart body has no boundary delimiter"));
        pos = at + crlfDelimiter.size();
    }
    int fileParts = 0;
    int fileFields = 0;  // parts named "file" without a filename
    qsizetype fieldOffset = 0, fieldLength = 0;
    bool closed = false;
    while (pos <= body.size()) {
        // After a delimiter: "--" closes, else optional padding then CRLF.
        if (body.sliced(pos).startsWith("--")) {
            closed = true;
            break;
        }
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
            ++pos;
        if (!body.sliced(pos).startsWith("\r\n"))
            return fail(QStringLiteral("malformed multipart delimiter line"));
        pos += 2;
        // Part headers end with an empty line.
        const qsizetype headEnd = body.indexOf("\r\n\r\n", pos - 2);
        if (headEnd < 0) return fail(QStringLiteral("truncated multipart part headers"));
        if (headEnd - pos > 16 * 1024) return fail(QStringLiteral("multipart part headers too large"));
        QByteArrayView disposition;
        bool hasDisposition = false;
        if (headEnd >= pos) {
            const QByteArrayView headers = body.sliced(pos, headEnd - pos);
            qsizetype lineStart = 0;
            while (lineStart <= headers.size()) {
                qsizetype lineEnd = headers.indexOf("\r\n", lineStart);
                if (lineEnd < 0) lineEnd = headers.size();
                const QByteArrayView line = headers.sliced(lineStart, lineEnd - lineStart);
                if (!line.isEmpty()) {
                    const qsizetype colon = line.indexOf(':');
                    if (colon <= 0) return fail(QStringLiteral("malformed multipart part header"));
                    if (trim(line.first(colon)).compare("content-disposition", Qt::CaseInsensitive) == 0) {
                        disposition = trim(line.sliced(colon + 1));
                        hasDisposition = true;
                    }
                }
                lineStart = lineEnd + 2;
            }
        }
        const qsizetype dataStart = headEnd + 4;
        const qsizetype next = body.indexOf(crlfDelimiter, dataStart);
        if (next < 0) return fail(QStringLiteral("multipart body is missing its closing boundary"));
        if (!hasDisposition || !startsWithIgnoreCase(disposition, "form-data"))
            return fail(QStringLiteral("multipart part without Content-Disposition: form-data"));
        const QString filename = contentDispositionParam(disposition, "filename");
        if (!filename.isNull()) {
            ++fileParts;
            result.offset = dataStart;
            result.length = next - dataStart;
            result.filename = stripPath(filename);
            const QString field = contentDispositionParam(disposition, "name");
            result.fieldName = field.isNull() ? QString() : field;
        } else if (contentDispositionParam(disposition, "name") == QLatin1String("file")) {
            // curl -F 'file=<x.txt' sends the content as a plain field named "file": accept it when
            // there is no real file part.
            ++fileFields;
            fieldOffset = dataStart;
            fieldLength = next - dataStart;
        }
        pos = next + crlfDelimiter.size();
    }
    if (!closed) return fail(QStringLiteral("multipart body is missing its closing boundary"));
    if (fileParts == 0 && fileFields == 1) {
        result.offset = fieldOffset;
        result.length = fieldLength;
        result.filename.clear();
        result.fieldName = QStringLiteral("file");
        result.ok = true;
        return result;
    }
    if (fileParts == 0) return fail(QStringLiteral("multipart body has no file part"));
    if (fileParts > 1) return fail(QStringLiteral("multipart body must contain exactly one file part"));
    result.ok = true;
    return result;
}

}  // namespace raftwc::http
