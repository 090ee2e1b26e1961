// Small byte-text helpers shared by the HTTP parsers (internal).
#pragma once

#include <QByteArrayView>

namespace raftwc::http::detail {

/// Strips HTTP optional white space (spaces and tabs) from both ends.
inline QByteArrayView trimOws(QByteArrayView v) {
    qsizetype b = 0, e = v.size();
    while (b < e && (v[b] == ' ' || v[b] == '\t'))
        ++b;
    while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        --e;
    return v.sliced(b, e - b);
}

inline bool equalsIgnoreCase(QByteArrayView a, QByteArrayView b) {
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

inline bool startsWithIgnoreCase(QByteArrayView v, QByteArrayView prefix) {
    return v.size() >= prefix.size() && equalsIgnoreCase(v.first(prefix.size()), prefix);
}

}  // namespace raftwc::http::detail
