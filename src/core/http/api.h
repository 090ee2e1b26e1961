// raftwc::http — the contract between the HTTP front end and whatever answers the API (the node).
//
// The front end (HttpFrontend) parses HTTP, enforces limits and serves the web page; every /api answer
// comes from an ApiBackend. The backend never sees sockets or HTTP details, only values.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>

#include <functional>
#include <memory>

namespace raftwc::http {

/// One uploaded file. The file's bytes are data.mid(offset, length); `data` is the whole request body
/// (implicitly shared, never copied), so a multipart upload costs no extra memory.
/// Invariant: 0 <= offset, 0 <= length, offset + length <= data.size().
struct Upload {
    QByteArray data;
    qsizetype offset = 0;
    qsizetype length = 0;
    QString name;   ///< file name as given by the client (X-Filename, ?name= or multipart filename)
    QString mode;   ///< "normalized" (default) or "raw"
    QString jobId;  ///< client-chosen id from X-Job-Id ([A-Za-z0-9-]{8,64}) or empty

    /// The file's bytes as a view into `data` (valid while `data` lives).
    QByteArrayView bytes() const { return QByteArrayView(data.constData() + offset, length); }
};

/// What is known of an upload when its bytes start to arrive.
struct UploadMeta {
    QString name;              ///< file name (X-Filename, ?name=, or the multipart filename), sanitized
    QString mode;              ///< "normalized" or "raw"
    QString jobId;             ///< client-chosen id or empty
    qint64 declaredSize = -1;  ///< the file's size if known up front (raw body with Content-Length)
};

/// The backend's side of a streamed upload (ApiBackend::beginUpload): the file's bytes in order, as they
/// arrive. Destroying it before finish() abandons the upload (the client left, or the body was refused).
class UploadSink {
  public:
    virtual ~UploadSink() = default;
    /// Bytes write() takes now without holding more than its window; 0: wait for the room callback.
    virtual qint64 room() const = 0;
    /// The next bytes of the file (it may take more than room(), but should not be given more).
    virtual void write(QByteArrayView bytes) = 0;
    /// All bytes were written; the answer comes through the `done` given to beginUpload.
    virtual void finish() = 0;
    /// Called (on the event thread) when room() became non-zero again.
    void setRoomCallback(std::function<void()> f) { m_onRoom = std::move(f); }

  protected:
    void roomAvailable() {
        if (m_onRoom) m_onRoom();
    }

  private:
    std::function<void()> m_onRoom;
};

/// An answer to one API request. Errors use the JSON shape {"error": code, "message": text}.
struct ApiReply {
    int status = 200;
    QByteArray body;
    QByteArray contentType = QByteArrayLiteral("application/json");
    QList<QPair<QByteArray, QByteArray>> headers;  ///< extra headers, e.g. {"Retry-After", "2"}

    static ApiReply json(int status, const QJsonObject& object);
    static ApiReply error(int status, const QString& code, const QString& message);
    static ApiReply text(int status, const QByteArray& body, const QByteArray& contentType);
};

/// A live stream of bytes to one client (GET /api/events as Server-Sent Events). write() returns false
/// once the client is gone or does not keep up (it is then closed; the client reconnects and resumes).
class StreamWriter {
  public:
    virtual ~StreamWriter() = default;
    virtual bool write(const QByteArray& bytes) = 0;
};

/// GET /api/events parameters, validated by the front end.
struct EventsQuery {
    bool hasAfter = false;  ///< ?after= or Last-Event-ID given: replay what is buffered after it
    quint64 after = 0;
    bool json = false;  ///< ?format=json or Accept: application/json: one answer instead of a stream
    int waitMs = 0;     ///< json: wait up to this long for at least one event (0..25000)
};

/// What the front end needs from the node. All calls happen on the thread that owns the HttpFrontend
/// (the GUI/event thread).
class ApiBackend {
  public:
    virtual ~ApiBackend() = default;

    /// POST /api/count. Asynchronous: `done` must be called exactly once, on the event thread, possibly
    /// before count() returns. If the client has left meanwhile, the answer is dropped (no crash).
    virtual void count(Upload upload, std::function<void(ApiReply)> done) = 0;
    /// POST /api/count, streamed: returns the sink for the file's bytes, or nullptr after calling `done`
    /// with a refusal. `done` is called exactly once, on the event thread: early if the upload fails while
    /// its bytes arrive, else after finish(). The default buffers the file and calls count() at finish().
    virtual std::unique_ptr<UploadSink> beginUpload(UploadMeta meta, std::function<void(ApiReply)> done);
    /// GET /api/cluster
    virtual ApiReply cluster() = 0;
    /// GET /healthz: the node knows a live leader (200) or not (503).
    virtual ApiReply health() = 0;
    /// GET /readyz: ready to serve (a member, leader known, caught up with the commit index); default
    /// health().
    virtual ApiReply ready() { return health(); }
    /// GET /metrics: Prometheus text exposition (version 0.0.4); the front end appends its own lines.
    virtual QByteArray metrics() = 0;
    /// GET /api/jobs?limit=&after=: finished jobs, newest first, at most `limit` of them, starting after the
    /// job `after` (empty: the newest); "next" names the last one returned when older ones remain.
    virtual ApiReply jobs(qsizetype limit, const QString& after) = 0;
    /// GET /api/jobs/{id}: a finished result or an in-flight job's progress.
    virtual ApiReply job(const QString& id) = 0;
    /// GET /api/jobs/{id}/words. `limit` in 1..10000, `offset` >= 0, mode "normalized", "raw" or empty
    /// (not given: the job's own mode); validated by the front end.
    virtual ApiReply jobWords(const QString& id, qsizetype limit, qsizetype offset, const QString& mode) = 0;

    /// GET /api/events as a stream: starts writing to `out` (which lives until the returned handle is
    /// destroyed, when the client leaves). nullptr: not supported (the front end answers 404).
    virtual std::shared_ptr<void> openEvents(const EventsQuery& query, std::shared_ptr<StreamWriter> out) {
        Q_UNUSED(query);
        Q_UNUSED(out);
        return nullptr;
    }
    /// GET /api/events?format=json: `done` exactly once (after up to query.waitMs).
    virtual void events(const EventsQuery& query, std::function<void(ApiReply)> done) {
        Q_UNUSED(query);
        done(ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no event stream here")));
    }

    /// DELETE /api/members/{id}: remove a (dead) member from the configuration. `authorization` is the
    /// request's Authorization header (the backend decides what it requires). `done` exactly once.
    virtual void removeMember(const QString& id, const QByteArray& authorization,
                              std::function<void(ApiReply)> done) {
        Q_UNUSED(id);
        Q_UNUSED(authorization);
        done(ApiReply::error(501, QStringLiteral("not_implemented"), QStringLiteral("not supported")));
    }
    /// POST /api/leader/transfer[?to=id]: hand leadership to `to` (empty: the most up-to-date voter).
    /// DELETE /api/jobs/{id}: the job's result and the file uploaded for it, through the log (admin token).
    virtual void deleteJob(const QString& id, const QByteArray& authorization,
                           std::function<void(ApiReply)> done) {
        Q_UNUSED(id);
        Q_UNUSED(authorization);
        done(ApiReply::error(404, QStringLiteral("not_found"),
                             QStringLiteral("deleting is not supported here")));
    }
    /// DELETE /api/files/{sha256}: every stored file with this content, through the log (admin token).
    virtual void deleteFile(const QString& sha256Hex, const QByteArray& authorization,
                            std::function<void(ApiReply)> done) {
        Q_UNUSED(sha256Hex);
        Q_UNUSED(authorization);
        done(ApiReply::error(404, QStringLiteral("not_found"),
                             QStringLiteral("deleting is not supported here")));
    }
    virtual void transferLeadership(const QString& to, const QByteArray& authorization,
                                    std::function<void(ApiReply)> done) {
        Q_UNUSED(to);
        Q_UNUSED(authorization);
        done(ApiReply::error(501, QStringLiteral("not_implemented"), QStringLiteral("not supported")));
    }
    /// POST /api/admin/compact: this node snapshots its state and compacts its log now (admin token).
    virtual void compact(const QByteArray& authorization, std::function<void(ApiReply)> done) {
        Q_UNUSED(authorization);
        done(ApiReply::error(501, QStringLiteral("not_implemented"), QStringLiteral("not supported")));
    }
};

}  // namespace raftwc::http
