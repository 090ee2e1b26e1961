// Private to raftwc_http: one HTTP/1.1 connection on port 3000 (reading, back-pressure, timeouts, answers
// in request order) and the QTcpServer that creates them.
#pragma once

#include "http/api.h"
#include "http/multipart.h"
#include "http/request_reader.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QMap>
#include <QPair>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrlQuery>

#include <memory>
#include <optional>

namespace raftwc::http {
class HttpFrontend;
}

namespace raftwc::http::detail {

/// What the router sees of one complete request: its head and its whole body.
struct HttpRequest {
    HeadPeek head;
    QByteArray body;
    QString path;        ///< decoded path of the target
    QUrlQuery query;     ///< the target's query
    bool close = false;  ///< the connection closes after this request's answer

    bool is(const char* method) const { return head.method == method; }
    QByteArray header(QByteArrayView name) const { return head.header(name); }
};

/// Limits and timeouts of one connection, from the front end's settings.
struct ConnectionSettings {
    StreamLimits stream;
    int idleTimeoutMs = 60000;       ///< no traffic while nothing is in progress: close (408 mid-request)
    int headTimeoutMs = 30000;       ///< a request's head must be complete this long after its first byte
    qint64 minBodyRate = 1024;       ///< bytes/s a body must average over each rate window (0: off)
    int rateWindowMs = 10000;        ///< the window of the minimum rate
    qsizetype maxSmallBody = 65536;  ///< body limit of every route except the upload
    int maxPipelined = 16;           ///< requests read ahead of their answers
};

/// Bytes of in-flight uploads held against the front end's global bounds; released when destroyed
/// (the answer was written, or the client left).
class UploadTicket {
  public:
    UploadTicket(HttpFrontend* frontend, qint64 bytes);
    ~UploadTicket();
    UploadTicket(const UploadTicket&) = delete;
    UploadTicket& operator=(const UploadTicket&) = delete;
    /// Grows the reservation (chunked bodies); false if the front end's byte bound would be passed.
    bool grow(qint64 bytes);
    /// Gives the reservation back now (idempotent).
    void release();

  private:
    QPointer<HttpFrontend> m_frontend;
    qint64 m_bytes = 0;
};

class HttpConnection;

/// A file name as the node keeps it: control and bidirectional-control characters removed, path stripped,
/// trimmed, at most 255 characters; "upload" if nothing is left.
QString sanitizeFileName(QString name);

/// One streamed upload (POST /api/count) between a connection and the backend: unwraps a multipart body
/// if there is one, hands the file's bytes to the backend's UploadSink, answers once. Made by
/// HttpFrontend::openUpload.
class UploadPipe {
  public:
    struct Shared {             // shared with the backend's `done`
        bool finished = false;  // the whole body was read
        bool answered = false;  // the answer was given (possibly early: the rest of the body is not read)
    };
    UploadPipe(HttpFrontend* frontend, QPointer<HttpConnection> connection, quint64 seq, bool close,
               UploadMeta meta, std::optional<MultipartStream> multipart,
               std::shared_ptr<UploadTicket> ticket);
    /// Before finish(): the upload is abandoned (the sink is destroyed, no answer is delivered).
    ~UploadPipe();
    /// Bytes of body the pipe takes now; 0: wait for the room callback.
    qint64 room() const;
    /// The next body bytes; false once the upload has been answered (refused or failed): read no more.
    bool write(QByteArrayView body);
    /// The body is complete.
    void finish();
    bool answered() const { return m_shared->answered; }
    void setRoomCallback(std::function<void()> f);

  private:
    bool start();  // beginUpload on the backend
    /// Answers now; `bodyRead`: the whole body was read (the connection may go on after the answer).
    void answer(const ApiReply& reply, bool bodyRead = false);

    HttpFrontend* m_frontend;
    QPointer<HttpConnection> m_connection;
    quint64 m_seq;
    bool m_close;
    UploadMeta m_meta;
    std::optional<MultipartStream> m_multipart;
    std::shared_ptr<UploadTicket> m_ticket;
    std::shared_ptr<Shared> m_shared = std::make_shared<Shared>();
    std::unique_ptr<UploadSink> m_sink;
    std::function<void()> m_onRoom;
    qint64 m_fileBytes = 0;
};

class HttpConnection : public QObject {
    Q_OBJECT
  public:
    /// Takes over `socket` (becomes its child; both are deleted when the connection ends).
    HttpConnection(QTcpSocket* socket, HttpFrontend* frontend, ConnectionSettings settings);

    /// Queues the serialized answer to request `seq`. Answers are written in request order (HTTP/1.1
    /// pipelining), whatever order the backend finishes them in. `close`: close after writing it.
    void submit(quint64 seq, const QByteArray& response, bool close);
    bool isOpen() const { return !m_closed; }

    /// Answers request `seq` with a stream (GET /api/events). prepareStream() gives the writer (what is
    /// written before startStream() waits in a buffer); startStream() queues `head` (status line and
    /// headers, no Content-Length: the body ends when the connection does) in the answer order and keeps
    /// `handle` (the backend's subscription) until the connection ends. Nothing more is read.
    std::shared_ptr<StreamWriter> prepareStream(quint64 seq);
    void startStream(const QByteArray& head, std::shared_ptr<void> handle);
    void cancelStream();
    /// Bytes written to a stream and not yet sent beyond which the client is dropped (it resumes).
    static constexpr qint64 kMaxStreamBacklog = 4 << 20;

  private:
    friend class StreamToClient;
    bool streamWrite(const QByteArray& bytes);
    void onReadyRead();
    /// Reads requests out of the bytes received; false when reading must pause (pipelining bound,
    /// closing), true when it wants more bytes.
    bool process();
    void onHead(const HeadPeek& head);
    void onBody(QByteArrayView bytes);
    void onEnd();
    void fail(int status, const QString& code, const QString& message);
    void onIdleTimeout();
    void onRateCheck();
    void onDisconnected();
    void resume();
    void lingerAndClose();
    void compact();

    QTcpSocket* m_socket;
    HttpFrontend* m_frontend;
    ConnectionSettings m_settings;
    RequestReader m_reader;
    QByteArray m_in;  // bytes received and not yet consumed start at m_pos
    qsizetype m_pos = 0;
    bool m_headStarted = false;              // bytes of a next head have arrived
    std::unique_ptr<HttpRequest> m_request;  // the request being read
    std::shared_ptr<UploadTicket> m_ticket;  // its upload reservation (POST /api/count)
    bool m_isUpload = false;
    std::unique_ptr<UploadPipe> m_pipe;  // the upload being streamed to the backend
    bool m_paused = false;               // the pipe has no room: wait for it
    std::optional<quint64> m_uploadSeq;  // the streamed upload's place in the answer order
    bool m_discardBody = false;          // the request was answered at its head: drop its small body
    QTimer m_idle;
    QTimer m_headDeadline;
    QTimer m_rate;
    QTimer m_linger;
    qint64 m_rateBytes = 0;  // body bytes received in the current rate window
    int m_pending = 0;       // requests read whose answers are not written yet
    quint64 m_nextSeq = 0;
    quint64 m_nextWrite = 0;
    QMap<quint64, QPair<QByteArray, bool>> m_ready;  // answers waiting for earlier ones
    bool m_stopReading = false;                      // a closing request or a rejection: read nothing more
    bool m_finalWritten = false;                     // the last answer was written: close once it is sent
    bool m_closed = false;
    std::optional<quint64> m_streamSeq;  // the request answered by a stream
    bool m_streamOpen = false;           // its head is written: writes go to the socket
    QByteArray m_streamPending;          // written before that
    std::shared_ptr<void> m_streamHandle;
};

/// Creates an HttpConnection for each accepted socket, or refuses it (503) when the front end's
/// connection bound is reached.
class HttpListener : public QTcpServer {
    Q_OBJECT
  public:
    explicit HttpListener(HttpFrontend* frontend);

  protected:
    void incomingConnection(qintptr socketDescriptor) override;

  private:
    HttpFrontend* m_frontend;
};

}  // namespace raftwc::http::detail
