#include "node/jobs.h"
#include "node/jobs_p.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QUuid>
#include <algorithm>
#include <atomic>
#include <deque>

#include "net/bytes.h"
#include "node/commands.h"
#include "node/off_loop.h"
#include "wordcount/plan.h"
#include "wordcount/serialize.h"

namespace raftwc::node {

using net::ByteReader;
using net::ByteWriter;
using wordcount::FreqMode;
using wordcount::ShardCounts;

QString nodeIdString(raft::NodeId id) {
    return QString::number(id, 16).rightJustified(16, QLatin1Char('0'));
}

QByteArray randomBytes(NodeEnv& env, int n) {
    QByteArray out;
    out.reserve(n + 8);
    while (out.size() < n) {
        const std::uint64_t r = env.random64();
        out.append(reinterpret_cast<const char*>(&r), sizeof r);
    }
    out.truncate(n);
    return out;
}

QString randomUuid(NodeEnv& env) {
    QByteArray b = randomBytes(env, 16);
    b[6] = char((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = char((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return QUuid::fromRfc4122(b).toString(QUuid::WithoutBraces);
}

// ---- coordinator -------------------------------------------------------------------------------

std::optional<JobPhase> jobTransition(JobPhase from, JobEvent event) {
    using P = JobPhase;
    switch (event) {
        case JobEvent::Stored:
            return from == P::Storing ? std::optional(P::Counting) : std::nullopt;
        case JobEvent::Counted:
            return from == P::Counting ? std::optional(P::Committing) : std::nullopt;
        case JobEvent::Committed:
            return from == P::Committing ? std::optional(P::Done) : std::nullopt;
        case JobEvent::Failed:
            return from == P::Done || from == P::Failed ? std::nullopt : std::optional(P::Failed);
    }
    return std::nullopt;
}

const char* jobPhaseName(JobPhase p) {
    switch (p) {
        case JobPhase::Storing:
            return "storing";
        case JobPhase::Counting:
            return "counting";
        case JobPhase::Committing:
            return "committing";
        case JobPhase::Done:
            return "done";
        case JobPhase::Failed:
            return "failed";
    }
    return "unknown";
}

JobCoordinator::JobCoordinator(JobHost& host, QObject* parent) : QObject(parent), host_(host) {
    watchdog_.start(host_.env(), 250, [this] { watchdog(); });
}

void JobCoordinator::report(const std::shared_ptr<Job>& job) {
    // FNV-1a over what progress shows; a change of any of them is reported (at most every 250 ms from
    // the watchdog, at once at a change of phase).
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    mix(std::uint64_t(job->phase) + 1);
    mix(job->storedBytes);
    mix(job->size);
    for (const ShardState& s : job->shards) {
        mix(s.node);
        mix(s.bytesDone);
        mix(std::uint64_t(s.state));
    }
    if (h == job->reported) return;
    job->reported = h;
    host_.reportJob(jobJson(*job));
}

JobCoordinator::~JobCoordinator() = default;

std::size_t JobCoordinator::running() const {
    return std::size_t(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& kv) {
        return kv.second->phase != Job::Phase::Done && kv.second->phase != Job::Phase::Failed;
    }));
}

void JobCoordinator::finishCounting(const std::shared_ptr<Job>& job) {
    if (!job->on(JobEvent::Counted)) return;
    report(job);
    const StoredFile* stored = host_.state().file(job->fileId);
    if (!stored) {  // deleted through the log while it was counted (the parts were exact, but of what?)
        failFileDeleted(job);
        return;
    }
    // Merging, ranking, sorting and compressing tables of millions of words run off the event loop.
    struct Merged {
        QJsonObject result;
        QByteArray table;              ///< piece 0
        std::vector<QByteArray> more;  ///< pieces 1.., encoded JobTablePiece commands
        std::uint64_t words = 0;
        std::size_t distinct = 0;
        std::size_t kept = 0;
        bool complete = true;
    };
    runOffLoop(
        host_.env(), QPointer<JobCoordinator>(this),
        [total = std::move(job->total), file = *stored, shards = job->shards, id = job->id, mode = job->mode,
         freqMode = job->freqMode, size = job->size, self = host_.selfId(), term = job->term,
         elapsed = host_.env().nowMs() - job->startedMs, createdAt = host_.env().wallMs(),
         timings = QJsonObject{{QStringLiteral("storedMs"), job->storedMs},
                               {QStringLiteral("manifestMs"), job->manifestMs},
                               {QStringLiteral("countedMs"), job->countedMs}}]() mutable {
            Merged m;
            total->mode = freqMode;
            total->bytes = size;
            m.result = resultJson(id, file, *total, shards, self, term, elapsed, mode, createdAt);
            // When (ms after the upload began) every chunk had committed, the manifest was applied here
            // and every part was merged: what pipelining overlaps.
            m.result.insert(QStringLiteral("timings"), timings);
            std::vector<wordcount::WordCount> sorted = wordcount::sortedEntries(total->freq);
            for (wordcount::WordCount& wc : sorted)
                if (wc.word.size() > kMaxShownWordBytes) wc.word = shownWord(wc.word);
            // The whole table, in pieces of bounded size: piece 0 goes with the result, the others are
            // committed before it (JobTablePiece), so no table meets an entry or decoder limit.
            std::vector<std::size_t> counts;
            std::vector<QByteArray> pieces = encodeWordTablePieces(sorted, kMaxStoredTableBytes, &counts);
            m.kept = sorted.size();
            m.complete = true;
            m.table = std::move(pieces[0]);
            for (std::size_t k = 1; k < pieces.size(); ++k)
                m.more.push_back(
                    encodeCommand(JobTablePiece{id, std::uint32_t(k), counts[k], std::move(pieces[k])}));
            m.words = total->words;
            m.distinct = total->freq.size();
            m.result.insert(QStringLiteral("tableWords"), qint64(m.kept));
            m.result.insert(QStringLiteral("tableComplete"), m.complete);
            m.result.insert(QStringLiteral("tablePieces"), qint64(pieces.size()));
            return m;
        },
        [this, job](Merged m) {
            if (job->phase != Job::Phase::Committing) return;
            job->encodedMs = host_.env().nowMs() - job->startedMs;
            qInfo().noquote()
                << QStringLiteral(
                       "job %1: counted %2 bytes in %3 shards on %4 node(s): %5 words, %6 distinct%7; %8 ms")
                       .arg(QString::fromLatin1(job->id))
                       .arg(job->size)
                       .arg(job->shards.size())
                       .arg(job->members.size())
                       .arg(m.words)
                       .arg(m.distinct)
                       .arg(m.complete ? QString() : QStringLiteral(" (top %1 stored)").arg(m.kept))
                       .arg(host_.env().nowMs() - job->startedMs);
            JobResult jr{job->id, QJsonDocument(m.result).toJson(QJsonDocument::Compact), std::move(m.table)};
            commitPieces(job, std::move(m.more), 0, encodeCommand(jr), m.result);
        });
}

void JobCoordinator::commitPieces(const std::shared_ptr<Job>& job, std::vector<QByteArray> pieces,
                                  std::size_t next, QByteArray result, const QJsonObject& json) {
    if (next == pieces.size()) return commitResult(job, std::move(result), json);
    QPointer<JobCoordinator> self(this);
    QByteArray piece = pieces[next];
    proposeWithRetry(
        job, std::move(piece),
        [self, job, pieces = std::move(pieces), next, result = std::move(result),
         json](const ProposeOutcome&) mutable {
            if (self) self->commitPieces(job, std::move(pieces), next + 1, std::move(result), json);
        },
        [self, job, next](const ProposeOutcome& o) {
            self->fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("commit_failed"),
                       QStringLiteral("counted, but could not commit table piece %1: %2")
                           .arg(next + 1)
                           .arg(o.error));
        });
}

void JobCoordinator::commitResult(const std::shared_ptr<Job>& job, QByteArray command,
                                  const QJsonObject& result) {
    QPointer<JobCoordinator> self(this);
    proposeWithRetry(
        job, std::move(command),
        [self, job, result](const ProposeOutcome& o) {
            // Read your writes: answer once the result is applied here too (a forwarded proposal commits on
            // the leader first), so this node's /api/jobs lists the job the client was just answered.
            self->host_.whenApplied(o.index, 15000, [self, job, result](bool) {
                if (self) self->complete(job, result);
            });
        },
        [self, job](const ProposeOutcome& o) {
            self->fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("commit_failed"),
                       QStringLiteral("counted, but could not commit the result: %1").arg(o.error));
        });
}

void JobCoordinator::fail(const std::shared_ptr<Job>& job, JobOutcome::Kind kind, const QString& code,
                          const QString& message) {
    const bool wasStoring = job->phase == Job::Phase::Storing;
    if (!job->on(JobEvent::Failed)) return;  // finished already
    // An upload given up before its manifest: every node releases the chunks it holds (best effort; if this
    // proposal fails too, they stay until the log is compacted). A manifest that commits anyway is unharmed.
    if (wasStoring && job->nextOffset > 0 && !job->manifestProposed)
        host_.proposeCommand(encodeCommand(FileAbandoned{job->fileId}), [](const ProposeOutcome&) {});
    job->error = message;
    job->tail = {};
    job->tailPos = 0;
    job->hashQueue.clear();
    job->mergeQueue.clear();
    job->total.reset();
    ++jobsFailed_;
    qWarning().noquote() << "job" << job->id << "failed:" << message;
    report(job);
    if (auto done = std::exchange(job->done, nullptr)) done(JobOutcome::failed(kind, code, message));
    finishedOrder_.push_back(job->id);
    while (finishedOrder_.size() > 50) {
        jobs_.erase(finishedOrder_.front());
        finishedOrder_.erase(finishedOrder_.begin());
    }
}

void JobCoordinator::failFileDeleted(const std::shared_ptr<Job>& job) {
    fail(
        job, JobOutcome::Kind::Gone, QStringLiteral("file_deleted"),
        QStringLiteral("the file was deleted (DELETE /api/files or the retention limits) while the job ran"));
}

void JobCoordinator::complete(const std::shared_ptr<Job>& job, const QJsonObject& result) {
    if (!job->on(JobEvent::Committed)) return;
    const qint64 now = host_.env().nowMs() - job->startedMs;
    qInfo().noquote()
        << QStringLiteral(
               "job %1: answered at %2 ms: every chunk committed at %3 ms, the manifest applied at "
               "%4, every part merged at %5, the result encoded at %6")
               .arg(QString::fromLatin1(job->id))
               .arg(now)
               .arg(job->storedMs)
               .arg(job->manifestMs)
               .arg(job->countedMs)
               .arg(job->encodedMs);
    job->result = result;
    report(job);
    if (auto done = std::exchange(job->done, nullptr)) done(JobOutcome::done(result));
    finishedOrder_.push_back(job->id);
    while (finishedOrder_.size() > 50) {
        jobs_.erase(finishedOrder_.front());
        finishedOrder_.erase(finishedOrder_.begin());
    }
}

void JobCoordinator::forget(const QByteArray& jobId) {
    const auto it = jobs_.find(jobId);
    if (it == jobs_.end() || (it->second->phase != JobPhase::Done && it->second->phase != JobPhase::Failed))
        return;
    jobs_.erase(it);
    std::erase(finishedOrder_, jobId);
}

std::optional<QJsonObject> JobCoordinator::progress(const QByteArray& jobId) const {
    auto it = jobs_.find(jobId);
    if (it == jobs_.end()) return std::nullopt;
    return jobJson(*it->second);
}

QJsonObject JobCoordinator::jobJson(const Job& job) const {
    if (job.phase == Job::Phase::Done) return job.result;
    QJsonArray shards;
    for (const ShardState& s : job.shards) {
        shards.append(QJsonObject{
            {QStringLiteral("node"), nodeIdString(s.node)},
            {QStringLiteral("offset"), qint64(s.spec.offset)},
            {QStringLiteral("length"), qint64(s.spec.length)},
            {QStringLiteral("words"), qint64(s.words)},
            {QStringLiteral("ms"), qint64(s.ms)},
            {QStringLiteral("state"), s.state == ShardState::State::Done      ? QStringLiteral("done")
                                      : s.state == ShardState::State::Running ? QStringLiteral("running")
                                                                              : QStringLiteral("pending")},
            {QStringLiteral("progress"), s.spec.length ? double(s.bytesDone) / double(s.spec.length) : 1.0},
            {QStringLiteral("attempts"), s.attempts},
        });
    }
    QJsonObject o{
        {QStringLiteral("id"), QString::fromLatin1(job.id)},
        {QStringLiteral("name"), job.name},
        {QStringLiteral("bytes"), qint64(job.size)},
        {QStringLiteral("storedBytes"), qint64(job.storedBytes)},
        {QStringLiteral("state"), QLatin1String(jobPhaseName(job.phase))},
        {QStringLiteral("mode"), job.mode},
        {QStringLiteral("coordinator"), nodeIdString(host_.selfId())},
        {QStringLiteral("elapsedMs"), host_.env().nowMs() - job.startedMs},
        {QStringLiteral("createdAt"),
         QDateTime::fromMSecsSinceEpoch(job.createdAtMs, Qt::UTC).toString(Qt::ISODateWithMs)},
        {QStringLiteral("shards"), shards},
    };
    if (!job.error.isEmpty()) o.insert(QStringLiteral("error"), job.error);
    return o;
}

QJsonObject resultJson(const QByteArray& jobId, const StoredFile& file, const ShardCounts& total,
                       const std::vector<ShardState>& shards, raft::NodeId coordinator, raft::Term term,
                       qint64 elapsedMs, const QString& mode, qint64 createdAtMs) {
    QJsonArray top;
    for (const auto& wc : wordcount::topWords(total.freq, 20)) {
        top.append(wordJson(shownWord(wc.word), qint64(wc.count)));
    }
    QJsonArray sh;
    // In file order (a shard split for a too-large reply adds its second half at the end).
    std::vector<const ShardState*> ordered;
    for (const ShardState& s : shards)
        ordered.push_back(&s);
    std::stable_sort(ordered.begin(), ordered.end(), [](const ShardState* a, const ShardState* b) {
        return a->spec.offset < b->spec.offset;
    });
    for (const ShardState* sp : ordered)
        sh.append(QJsonObject{{QStringLiteral("node"), nodeIdString(sp->node)},
                              {QStringLiteral("offset"), qint64(sp->spec.offset)},
                              {QStringLiteral("length"), qint64(sp->spec.length)},
                              {QStringLiteral("words"), qint64(sp->words)},
                              {QStringLiteral("ms"), qint64(sp->ms)}});
    const std::optional<std::uint64_t> maxLineWidth = total.maxLineWidth();  // total.bytes: the file size
    return QJsonObject{
        {QStringLiteral("id"), QString::fromLatin1(jobId)},
        {QStringLiteral("name"), file.name},
        {QStringLiteral("bytes"), qint64(file.size)},
        {QStringLiteral("sha256"), QString::fromLatin1(file.sha256.toHex())},
        {QStringLiteral("words"), qint64(total.words)},
        {QStringLiteral("lines"), qint64(total.lines)},
        // null when a part came from a node that does not count them (wire format v1)
        {QStringLiteral("chars"), total.chars ? QJsonValue(qint64(*total.chars)) : QJsonValue()},
        {QStringLiteral("maxLineWidth"), maxLineWidth ? QJsonValue(qint64(*maxLineWidth)) : QJsonValue()},
        {QStringLiteral("uniqueWords"), qint64(total.freq.size())},
        {QStringLiteral("top"), top},
        {QStringLiteral("shards"), sh},
        {QStringLiteral("coordinator"), nodeIdString(coordinator)},
        {QStringLiteral("term"), qint64(term)},
        {QStringLiteral("logIndex"), qint64(file.manifestIndex)},
        {QStringLiteral("elapsedMs"), elapsedMs},
        {QStringLiteral("mode"), mode},
        {QStringLiteral("state"), QStringLiteral("done")},
        {QStringLiteral("createdAt"),
         QDateTime::fromMSecsSinceEpoch(createdAtMs, Qt::UTC).toString(Qt::ISODateWithMs)},
    };
}

}  // namespace raftwc::node
