// Pure multipart/form-data parsing for uploads (curl -F file=@x.txt). No copies: the result points into
// the body.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <functional>

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

/// Reads a multipart/form-data body as it arrives and passes the bytes of its one file part on, never
/// holding more than a delimiter's length of them (plus a part's headers, at most 16 KiB). Same rules as
/// parseMultipartFile, except that the file part is the first part with a filename or named "file" (a
/// later second one is an error, whereas the whole-body parser prefers a real file part over a "file"
/// field). Pure: no I/O.
class MultipartStream {
  public:
    /// `boundary` from multipartBoundary() (non-empty).
    explicit MultipartStream(QByteArray boundary);

    struct Step {
        bool ok = true;            ///< false: the body is malformed (`error`); feed no more
        bool fileStarted = false;  ///< the file part's headers were read in this feed (see filename())
        qsizetype fileBytes = 0;   ///< file bytes passed to `out` in this feed
    };
    /// Feeds the next body bytes; the file part's bytes are handed to `out` (views valid during the
    /// call). The file's start is reported before any of its bytes.
    template <typename Out>
    Step feed(QByteArrayView bytes, Out&& out) {
        m_buf.append(bytes.data(), bytes.size());
        return run([&](QByteArrayView v) { out(v); });
    }
    /// The body is complete: true if it was well formed with exactly one file part.
    bool finish(QString* error);

    bool fileStarted() const { return m_fileSeen; }
    QString filename() const { return m_filename; }
    QString fieldName() const { return m_fieldName; }
    /// Offset of the file's first byte in the body, and its length so far.
    qint64 fileOffset() const { return m_fileOffset; }
    qint64 fileLength() const { return m_fileLength; }
    QString error() const { return m_error; }

  private:
    enum class State { Preamble, AfterDelimiter, Headers, Data, Epilogue, Failed };
    Step run(const std::function<void(QByteArrayView)>& out);
    bool failWith(const QString& why);
    void consume(qsizetype n);

    QByteArray m_delimiter;      // "--" boundary
    QByteArray m_crlfDelimiter;  // CRLF "--" boundary
    State m_state = State::Preamble;
    QByteArray m_buf;       // bytes not yet classified
    qint64 m_consumed = 0;  // body offset of m_buf's first byte
    bool m_inFile = false;  // the current part is the file
    bool m_fileSeen = false;
    bool m_closed = false;
    QString m_filename, m_fieldName, m_error;
    qint64 m_fileOffset = -1, m_fileLength = 0;
};

/// Parses a Content-Disposition value's filename (filename*=UTF-8''... wins over filename="...").
/// Returns a null QString if there is none. Exposed for tests.
QString contentDispositionParam(QByteArrayView disposition, QByteArrayView name);

}  // namespace raftwc::http
