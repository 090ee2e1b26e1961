#include "node/api.h"

#include <sys/statvfs.h>
#include <QJsonArray>

#include "node/jobs.h"
#include "node/node.h"

namespace raftwc::node {

std::optional<http::ApiReply> NodeApi::noRoomFor(qint64 bytes) const {
    // The file is written to the log of every node: refuse it up front if this node's disk cannot hold it
    // (the size is known up front for a raw body; a streamed one of unknown size is checked for the margin).
    struct statvfs vfs {};
    if (::statvfs(node_.dataDir().toLocal8Bit().constData(), &vfs) != 0) return std::nullopt;
    const quint64 freeBytes = quint64(vfs.f_bavail) * quint64(vfs.f_frsize);
    const quint64 size = bytes > 0 ? quint64(bytes) : 0;
    const quint64 needed = size + size / 16 + (64u << 20);
    if (freeBytes >= needed) return std::nullopt;
    return http::ApiReply::error(
        507, QStringLiteral("insufficient_storage"),
        QStringLiteral("not enough disk space to store this file in the log (%1 MiB free, %2 MiB needed)")
            .arg(freeBytes >> 20)
            .arg(needed >> 20));
}

void NodeApi::count(http::Upload upload, std::function<void(http::ApiReply)> done) {
    if (auto refused = noRoomFor(upload.length)) return done(*refused);
    node_.coordinator().count(std::move(upload),
                              [done = std::move(done)](JobOutcome o) { done(apiReply(o)); });
}

std::unique_ptr<http::UploadSink> NodeApi::beginUpload(http::UploadMeta meta,
                                                       std::function<void(http::ApiReply)> done) {
    if (auto refused = noRoomFor(meta.declaredSize)) {
        done(*refused);
        return nullptr;
    }
    return node_.coordinator().open(std::move(meta),
                                    [done = std::move(done)](JobOutcome o) { done(apiReply(o)); });
}

http::ApiReply apiReply(const JobOutcome& o) {
    switch (o.kind) {
        case JobOutcome::Kind::Done:
            return http::ApiReply::json(200, o.result);
        case JobOutcome::Kind::Unavailable: {
            auto r = http::ApiReply::error(503, o.code, o.message);
            r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
            return r;
        }
        case JobOutcome::Kind::Duplicate:
            return http::ApiReply::error(409, o.code, o.message);
        case JobOutcome::Kind::Gone:
            return http::ApiReply::error(410, o.code, o.message);
        case JobOutcome::Kind::Internal:
            break;
    }
    return http::ApiReply::error(500, o.code, o.message);
}

std::optional<http::ApiReply> NodeApi::denied(const QByteArray& authorization) const {
    const QByteArray& token = node_.adminToken();
    if (token.isEmpty()) {
        // Open mode (no key): anyone on the network is trusted anyway. With a cluster key and no admin token,
        // administration over HTTP is off: the key itself is never accepted over plain HTTP (one sniffed
        // request would give away the key that authenticates all Raft traffic).
        if (node_.clusterKey().isEmpty()) return std::nullopt;
        return http::ApiReply::error(
            403, QStringLiteral("admin_disabled"),
            QStringLiteral(
                "administration is off on this node: start it with --admin-token-file (a token that "
                "is not the cluster key) and send 'Authorization: Bearer <token>'"));
    }
    const QByteArray expected = QByteArrayLiteral("Bearer ") + token;
    // Constant-time comparison.
    unsigned diff = unsigned(authorization.size() ^ expected.size());
    for (qsizetype i = 0; i < expected.size(); ++i)
        diff |= unsigned(uchar(expected[i]) ^ uchar(i < authorization.size() ? authorization[i] : 0));
    if (diff == 0) return std::nullopt;
    auto r =
        http::ApiReply::error(401, QStringLiteral("unauthorized"),
                              QStringLiteral("administration needs 'Authorization: Bearer <admin token>'"));
    r.headers.append({QByteArrayLiteral("WWW-Authenticate"), QByteArrayLiteral("Bearer")});
    return r;
}

namespace {
std::optional<raft::NodeId> parseNodeId(const QString& s) {
    bool ok = false;
    const raft::NodeId id = s.toULongLong(&ok, 16);
    if (!ok || id == raft::kNoNode) return std::nullopt;
    return id;
}
}  // namespace

void NodeApi::removeMember(const QString& id, const QByteArray& authorization,
                           std::function<void(http::ApiReply)> done) {
    if (auto d = denied(authorization)) return done(*d);
    const auto member = parseNodeId(id);
    if (!member)
        return done(http::ApiReply::error(400, QStringLiteral("bad_request"),
                                          QStringLiteral("bad node id %1").arg(id)));
    node_.removeMember(*member, [done, id](const QString& error) {
        if (error.isEmpty())
            return done(http::ApiReply::json(200, QJsonObject{{QStringLiteral("removed"), id}}));
        // No leader now (an election is under way, or the leader just died): worth retrying shortly.
        if (error.startsWith(QLatin1String("no leader")) ||
            error.startsWith(QLatin1String("leader unreachable"))) {
            http::ApiReply r = http::ApiReply::error(503, QStringLiteral("no_leader"), error);
            r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
            return done(r);
        }
        done(http::ApiReply::error(409, QStringLiteral("not_removed"), error));
    });
}

namespace {

/// A deletion committed (200), or why not: no leader now (503, retry), or it could not be committed (503).
void answerDeletion(const ProposeOutcome& o, const QJsonObject& ok,
                    const std::function<void(http::ApiReply)>& done) {
    if (o.ok()) return done(http::ApiReply::json(200, ok));
    http::ApiReply r = http::ApiReply::error(
        503,
        o.code == ProposeOutcome::Code::NoLeader ? QStringLiteral("no_leader")
                                                 : QStringLiteral("not_deleted"),
        o.error.isEmpty() ? QStringLiteral("the deletion could not be committed; retry") : o.error);
    r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
    done(r);
}

}  // namespace

void NodeApi::deleteJob(const QString& id, const QByteArray& authorization,
                        std::function<void(http::ApiReply)> done) {
    if (auto d = denied(authorization)) return done(*d);
    const QByteArray jobId = id.toLatin1();
    if (!node_.stateMachine().job(jobId))
        return done(
            http::ApiReply::error(404, QStringLiteral("not_found"),
                                  QStringLiteral("no finished job %1 (a running job is deleted once it "
                                                 "has finished)")
                                      .arg(id)));
    node_.propose(encodeCommand(JobDeleted{jobId}), [done, id](const ProposeOutcome& o) {
        answerDeletion(
            o, QJsonObject{{QStringLiteral("deleted"), id}, {QStringLiteral("kind"), QStringLiteral("job")}},
            done);
    });
}

void NodeApi::deleteFile(const QString& sha256Hex, const QByteArray& authorization,
                         std::function<void(http::ApiReply)> done) {
    if (auto d = denied(authorization)) return done(*d);
    const QByteArray sha = QByteArray::fromHex(sha256Hex.toLatin1());
    if (sha256Hex.size() != 64 || sha.size() != 32 || sha.toHex() != sha256Hex.toLower().toLatin1())
        return done(http::ApiReply::error(400, QStringLiteral("bad_request"),
                                          QStringLiteral("a file is named by its SHA-256: 64 hex digits")));
    if (!node_.stateMachine().hasContent(sha))
        return done(http::ApiReply::error(404, QStringLiteral("not_found"),
                                          QStringLiteral("no stored file with SHA-256 %1").arg(sha256Hex)));
    node_.propose(encodeCommand(FileDeleted{sha}), [done, sha256Hex](const ProposeOutcome& o) {
        answerDeletion(o,
                       QJsonObject{{QStringLiteral("deleted"), sha256Hex.toLower()},
                                   {QStringLiteral("kind"), QStringLiteral("file")}},
                       done);
    });
}

void NodeApi::compact(const QByteArray& authorization, std::function<void(http::ApiReply)> done) {
    if (auto d = denied(authorization)) return done(*d);
    const raft::Index before = node_.status().snapshotIndex;
    node_.compactNow(30000, [this, done, before](const QString& error, raft::Index at) {
        if (!error.isEmpty()) return done(http::ApiReply::error(503, QStringLiteral("not_compacted"), error));
        const NodeStatus s = node_.status();
        done(http::ApiReply::json(200, QJsonObject{{QStringLiteral("snapshotIndex"), qint64(at)},
                                                   {QStringLiteral("previousSnapshotIndex"), qint64(before)},
                                                   {QStringLiteral("firstIndex"), qint64(s.firstIndex)},
                                                   {QStringLiteral("lastIndex"), qint64(s.lastIndex)},
                                                   {QStringLiteral("logBytes"), qint64(s.log.bytes)}}));
    });
}

void NodeApi::transferLeadership(const QString& to, const QByteArray& authorization,
                                 std::function<void(http::ApiReply)> done) {
    if (auto d = denied(authorization)) return done(*d);
    raft::NodeId target = raft::kNoNode;
    if (!to.isEmpty()) {
        const auto t = parseNodeId(to);
        if (!t)
            return done(http::ApiReply::error(400, QStringLiteral("bad_request"),
                                              QStringLiteral("bad node id %1").arg(to)));
        target = *t;
    }
    node_.transferLeadership(target, [done](const QString& error) {
        if (error.isEmpty())
            done(http::ApiReply::json(202,
                                      QJsonObject{{QStringLiteral("transfer"), QStringLiteral("started")}}));
        else
            done(http::ApiReply::error(409, QStringLiteral("not_transferred"), error));
    });
}

http::ApiReply NodeApi::cluster() {
    return http::ApiReply::json(200, clusterJson(node_.status()));
}

http::ApiReply NodeApi::health() {
    const NodeStatus s = node_.status();
    QJsonObject o{{QStringLiteral("id"), nodeIdString(s.id)},
                  {QStringLiteral("role"), roleName(s.role)},
                  {QStringLiteral("term"), qint64(s.term)},
                  {QStringLiteral("phase"), s.phase}};
    if (node_.hasLeader()) {
        o.insert(QStringLiteral("status"), QStringLiteral("ok"));
        o.insert(QStringLiteral("leader"), nodeIdString(s.leader));
        return http::ApiReply::json(200, o);
    }
    o.insert(QStringLiteral("status"), QStringLiteral("no_leader"));
    auto r = http::ApiReply::json(503, o);
    r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
    return r;
}

http::ApiReply NodeApi::ready() {
    const NodeStatus s = node_.status();
    QStringList why;
    if (s.phase != QLatin1String("member")) why << QStringLiteral("phase %1").arg(s.phase);
    if (!node_.hasLeader()) why << QStringLiteral("no leader known");
    if (s.applied < s.commit)
        why << QStringLiteral("applied %1 of %2 committed entries").arg(s.applied).arg(s.commit);
    QJsonObject o{{QStringLiteral("id"), nodeIdString(s.id)},
                  {QStringLiteral("phase"), s.phase},
                  {QStringLiteral("term"), qint64(s.term)},
                  {QStringLiteral("commitIndex"), qint64(s.commit)},
                  {QStringLiteral("appliedIndex"), qint64(s.applied)}};
    if (why.isEmpty()) {
        o.insert(QStringLiteral("status"), QStringLiteral("ready"));
        return http::ApiReply::json(200, o);
    }
    o.insert(QStringLiteral("status"), QStringLiteral("not_ready"));
    o.insert(QStringLiteral("reasons"), QJsonArray::fromStringList(why));
    auto r = http::ApiReply::json(503, o);
    r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
    return r;
}

QByteArray NodeApi::metrics() {
    return node_.metricsText();
}

http::ApiReply NodeApi::jobs(qsizetype limit, const QString& after) {
    const std::vector<const StoredJob*> all = node_.stateMachine().jobs();  // newest first
    std::size_t from = 0;
    if (!after.isEmpty()) {
        const QByteArray key = after.toLatin1();
        while (from < all.size() && all[from]->jobId != key)
            ++from;
        if (from == all.size())
            return http::ApiReply::error(404, QStringLiteral("not_found"),
                                         QStringLiteral("no finished job %1 to page after").arg(after));
        ++from;
    }
    QJsonArray list;
    std::size_t i = from;
    for (; i < all.size() && list.size() < limit; ++i) {
        QJsonObject o = all[i]->result;
        o.remove(QStringLiteral("top"));
        o.remove(QStringLiteral("shards"));
        list.append(o);
    }
    QJsonObject page{{QStringLiteral("jobs"), list}};
    if (i < all.size()) page.insert(QStringLiteral("next"), QString::fromLatin1(all[i - 1]->jobId));
    return http::ApiReply::json(200, page);
}

http::ApiReply NodeApi::job(const QString& id) {
    const QByteArray key = id.toLatin1();
    if (const StoredJob* j = node_.stateMachine().job(key)) return http::ApiReply::json(200, j->result);
    if (auto p = node_.coordinator().progress(key)) return http::ApiReply::json(200, *p);
    return http::ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no job %1").arg(id));
}

http::ApiReply NodeApi::jobWords(const QString& id, qsizetype limit, qsizetype offset, const QString& mode) {
    const QByteArray key = id.toLatin1();
    const StoredJob* j = node_.stateMachine().job(key);
    if (!j)
        return http::ApiReply::error(404, QStringLiteral("not_found"),
                                     QStringLiteral("no finished job %1").arg(id));
    const QString jobMode = j->result.value(QStringLiteral("mode")).toString();
    if (!mode.isEmpty() && mode != jobMode)  // empty: the job's own mode
        return http::ApiReply::error(
            409, QStringLiteral("wrong_mode"),
            QStringLiteral("job %1 was counted in %2 mode; upload again with ?mode=%3")
                .arg(id, jobMode, mode));
    const StoredWordsPage page = storedWordsPage(*j, std::size_t(offset), std::size_t(limit),
                                                 node_.tableReader(j->jobId), &tableCache_);
    if (!page.error.isEmpty())
        return http::ApiReply::error(500, QStringLiteral("internal"),
                                     QStringLiteral("stored frequency table: %1").arg(page.error));
    QJsonArray words;
    for (const auto& wc : page.words)
        words.append(wordJson(wc.word, qint64(wc.count)));
    return http::ApiReply::json(
        200, QJsonObject{{QStringLiteral("id"), id},
                         {QStringLiteral("mode"), jobMode},
                         {QStringLiteral("total"), j->result.value(QStringLiteral("uniqueWords"))},
                         {QStringLiteral("stored"), qint64(page.stored)},
                         {QStringLiteral("complete"),
                          j->tableComplete && j->result.value(QStringLiteral("tableComplete")).toBool()},
                         {QStringLiteral("offset"), qint64(offset)},
                         {QStringLiteral("limit"), qint64(limit)},
                         {QStringLiteral("words"), words}});
}

}  // namespace raftwc::node
