// Pure multipart/form-data parsing for uploads (curl -F file=@x.txt). No copies: the result points into
// the body.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace raftwc::http {

struct MultipartFile {
    bool ok = false;
    QString error;         ///< when !ok: why the body was rejected (answer 400)
    qsizetype offset = 0;  ///< the file's bytes are body.sliced(offset, length)
    qsizetype length = 0;
    QString filename;   ///< from Content-Disposition (filename*=UTF-8''... preferred), path stripped
    QString fieldName;  ///< the form field's name
};

/// The boundary parameter of a multipart Content-Type, or empty if missing or invalid.
QByteArray multipartBoundary(QByteArrayView contentType);

/// True if the Content-Type is multipart/form-data (any parameters).
bool isMultipartFormData(QByteArrayView contentType);

/// Finds the single file part (a part whose Content-Disposition has a filename) of a multipart/form-data
/// body. Other (non-file) fields are ignored; if there is no file part, a single field named "file" is
/// taken as the file (curl -F 'file=<x.txt'), with an empty filename. Exactly one file part is required; a
/// missing or malformed boundary, missing final delimiter, or malformed part headers make the result !ok.
MultipartFile parseMultipartFile(QByteArrayView contentType, QByteArrayView body);

/// Parses a Content-Disposition value's filename (filename*=UTF-8''... wins over filename="...").
/// Returns a null QString if there is none. Exposed for tests.
QString contentDispositionParam(QByteArrayView disposition, QByteArrayView name);

}  // namespace raftwc::http
