// The coordinator's storing phase: an upload's bytes arrive (streamed), are cut into chunks proposed
// through the leader within a window, hashed in order off the loop, and completed by the manifest.
#include <algorithm>

#include "node/commands.h"
#include "node/jobs.h"
#include "node/jobs_p.h"
#include "node/off_loop.h"

namespace raftwc::node {

using wordcount::FreqMode;

class JobCoordinator::Sink final : public http::UploadSink {
  public:
    Sink(JobCoordinator* c, std::shared_ptr<Job> job) : m_coordinator(c), m_job(std::move(job)) {
        m_job->onRoom = [this] { roomAvailable(); };
    }
    ~Sink() override {
        m_job->onRoom = nullptr;
        if (!m_finished && m_coordinator)
            m_coordinator->fail(m_job, JobOutcome::Kind::Unavailable, QStringLiteral("abandoned"),
                                QStringLiteral("the upload ended before all its bytes arrived"));
    }
    qint64 room() const override { return m_coordinator ? m_coordinator->room(*m_job) : 0; }
    void write(QByteArrayView bytes) override {
        if (m_coordinator) m_coordinator->receive(m_job, bytes);
    }
    void finish() override {
        m_finished = true;
        if (m_coordinator) m_coordinator->endOfInput(m_job);
    }

  private:
    QPointer<JobCoordinator> m_coordinator;
    std::shared_ptr<Job> m_job;
    bool m_finished = false;
};

void JobCoordinator::count(http::Upload upload, std::function<void(JobOutcome)> done) {
    http::UploadMeta meta{upload.name, upload.mode, upload.jobId, qint64(upload.length)};
    auto sink = open(std::move(meta), std::move(done));
    if (!sink) return;
    sink->write(upload.bytes());
    sink->finish();
}

std::unique_ptr<http::UploadSink> JobCoordinator::open(http::UploadMeta meta,
                                                       std::function<void(JobOutcome)> done) {
    // A job id is idempotent: a committed job answers its result again; a failed one runs again; a
    // running one is refused (two bodies must not race under one id).
    const QByteArray requestedId = meta.jobId.toLatin1();
    if (!requestedId.isEmpty()) {
        if (const StoredJob* committed = host_.state().job(requestedId)) {
            done(JobOutcome::done(committed->result));
            return nullptr;
        }
        if (auto it = jobs_.find(requestedId); it != jobs_.end()) {
            if (it->second->phase != Job::Phase::Failed) {
                done(JobOutcome::failed(JobOutcome::Kind::Duplicate, QStringLiteral("duplicate_job"),
                                        QStringLiteral("a job with this id is running; poll GET /api/jobs/%1")
                                            .arg(QString::fromLatin1(requestedId))));
                return nullptr;
            }
            jobs_.erase(it);  // failed: run it again
            std::erase(finishedOrder_, requestedId);
        }
    }
    if (!host_.leaderKnown()) {
        done(JobOutcome::failed(
            JobOutcome::Kind::Unavailable, QStringLiteral("no_leader"),
            QStringLiteral(
                "the cluster has no leader right now (election in progress or no quorum); retry shortly")));
        return nullptr;
    }
    if (const QString why = host_.catchingUp(); !why.isEmpty()) {
        done(JobOutcome::failed(JobOutcome::Kind::Unavailable, QStringLiteral("catching_up"), why));
        return nullptr;
    }
    auto job = std::make_shared<Job>();
    job->id = requestedId.isEmpty() ? randomUuid(host_.env()).toLatin1() : requestedId;
    job->name = meta.name.isEmpty() ? QStringLiteral("upload") : meta.name;
    job->mode = meta.mode == QLatin1String("raw") ? QStringLiteral("raw") : QStringLiteral("normalized");
    job->freqMode = job->mode == QLatin1String("raw") ? FreqMode::Raw : FreqMode::Normalized;
    job->total->mode = job->freqMode;
    job->declaredSize = meta.declaredSize > 0 ? std::uint64_t(meta.declaredSize) : 0;
    job->done = std::move(done);
    job->startedMs = host_.env().nowMs();
    job->createdAtMs = host_.env().wallMs();
    job->fileId = randomBytes(host_.env(), kFileIdBytes);
    jobs_[job->id] = job;
    ++jobsStarted_;
    report(job);
    return std::make_unique<Sink>(this, job);
}

qint64 JobCoordinator::room(const Job& job) const {
    if (job.phase != Job::Phase::Storing || job.inputDone) return 0;
    // What one upload holds: the chunks in flight (or still being hashed) and the bytes not yet cut, at
    // most the window plus one chunk.
    const qint64 budget = qint64(chunkWindow + 1) * chunkBytes;
    const qint64 held = std::max<qint64>(qint64(job.inflight) * chunkBytes, job.hashBacklog) +
                        qint64(job.tail.size() - job.tailPos);
    return std::max<qint64>(0, budget - held);
}

void JobCoordinator::receive(const std::shared_ptr<Job>& job, QByteArrayView bytes) {
    if (job->phase != Job::Phase::Storing || job->inputDone || bytes.isEmpty()) return;
    if (job->tailPos > 0 && job->tailPos >= job->tail.size() / 2) {  // amortized: move the rest once
        job->tail.remove(0, job->tailPos);
        job->tailPos = 0;
    }
    job->tail.append(bytes.data(), bytes.size());
    job->received += std::uint64_t(bytes.size());
    job->size = job->received;
    sendChunks(job);
}

void JobCoordinator::endOfInput(const std::shared_ptr<Job>& job) {
    if (job->phase != Job::Phase::Storing || job->inputDone) return;
    job->inputDone = true;
    job->size = job->received;
    sendChunks(job);
    pumpHash(job);
}

void JobCoordinator::pumpHash(const std::shared_ptr<Job>& job) {
    if (job->hashing || job->phase != Job::Phase::Storing) return;
    if (job->hashQueue.empty()) {
        // Every byte cut and hashed: the checksum is final.
        if (job->inputDone && job->tailPos == job->tail.size() && !job->shaReady) {
            job->sha256 = job->hasher->result();
            if (job->sha256.size() != 32) {
                fail(job, JobOutcome::Kind::Internal, QStringLiteral("internal"),
                     QStringLiteral("computing the file's SHA-256 failed"));
                return;
            }
            job->shaReady = true;
            sendChunks(job);
        }
        return;
    }
    job->hashing = true;
    QByteArray data = std::move(job->hashQueue.front());
    job->hashQueue.pop_front();
    // One piece at a time, in order, on a worker thread; the work holds its own references (fail() may
    // drop the job's while it runs).
    runOffLoop(
        host_.env(), QPointer<JobCoordinator>(this),
        [hasher = job->hasher, data] {
            hasher->add(data);
            return data.size();
        },
        [this, job](qsizetype n) {
            job->hashing = false;
            job->hashBacklog -= n;
            pumpHash(job);
            if (job->onRoom && room(*job) > 0) job->onRoom();
        },
        /*urgent=*/true);  // the manifest waits for it: never behind the members' counting
}

void JobCoordinator::sendChunks(const std::shared_ptr<Job>& job) {
    while (job->phase == Job::Phase::Storing && job->inflight < chunkWindow) {
        const qsizetype pending = job->tail.size() - job->tailPos;
        if (pending == 0 || (pending < chunkBytes && !job->inputDone)) break;
        const qsizetype n = std::min<qsizetype>(pending, qsizetype(chunkBytes));
        QByteArray bytes = job->tail.mid(job->tailPos, n);
        job->tailPos += n;
        if (job->tailPos == job->tail.size()) {
            job->tail.clear();
            job->tailPos = 0;
        }
        const std::uint64_t off = job->nextOffset;
        job->nextOffset += std::uint64_t(n);
        job->hashQueue.push_back(bytes);  // shared with the chunk, not copied
        job->hashBacklog += n;
        ++job->inflight;
        proposeChunk(job, off, std::move(bytes));
    }
    pumpHash(job);
    if (job->phase == Job::Phase::Storing && job->inputDone && job->storedBytes == job->size &&
        job->inflight == 0 && job->shaReady)
        proposeManifest(job);
}

void JobCoordinator::proposeWithRetry(const std::shared_ptr<Job>& job, QByteArray command,
                                      std::function<void(const ProposeOutcome&)> committed,
                                      std::function<void(const ProposeOutcome&)> gaveUp, int attempt) {
    QPointer<JobCoordinator> self(this);
    const Job::Phase phase = job->phase;
    host_.proposeCommand(command, [=](ProposeOutcome o) {
        if (!self || job->phase != phase) return;  // failed or moved on meanwhile
        if (o.ok()) return committed(o);
        if (attempt + 1 >= kProposeAttempts) return gaveUp(o);
        self->host_.env().after(kRetryMs, [=] {
            if (self && job->phase == phase)
                self->proposeWithRetry(job, command, committed, gaveUp, attempt + 1);
        });
    });
}

void JobCoordinator::proposeChunk(const std::shared_ptr<Job>& job, std::uint64_t offset, QByteArray bytes) {
    const auto len = std::uint64_t(bytes.size());
    FileChunk chunk{job->fileId, offset, std::move(bytes)};
    QPointer<JobCoordinator> self(this);
    proposeWithRetry(
        job, encodeCommand(chunk),
        [self, job, offset, len](const ProposeOutcome& o) {
            --job->inflight;
            job->storedBytes += len;
            self->chunkCommitted(job, offset, std::uint32_t(len), o.index);
            if (job->phase != Job::Phase::Storing) return;  // failed meanwhile
            self->sendChunks(job);
            if (job->onRoom && self->room(*job) > 0) job->onRoom();
        },
        [self, job](const ProposeOutcome& o) {
            self->fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("store_failed"),
                       QStringLiteral("could not store the file in the replicated log: %1").arg(o.error));
        });
}

void JobCoordinator::proposeManifest(const std::shared_ptr<Job>& job) {
    if (job->manifestProposed) return;
    job->manifestProposed = true;
    FileManifest m{job->fileId, job->name, job->size,
                   job->sha256, job->id,   nodeIdString(host_.selfId()).toLatin1()};
    QPointer<JobCoordinator> self(this);
    proposeWithRetry(
        job, encodeCommand(m),
        [self, job](const ProposeOutcome& o) {
            job->manifestIndex = o.index;
            job->term = o.term;
            self->host_.whenApplied(o.index, 15000, [self, job](bool applied) {
                if (!self || job->phase != Job::Phase::Storing) return;
                if (!applied) {  // stored in the cluster, but this node is behind (it was cut off, or slow)
                    self->fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("catching_up"),
                               QStringLiteral("the file is stored, but this node has not caught up with the "
                                              "cluster within 15 s; retry shortly (same X-Job-Id)"));
                    return;
                }
                if (!self->host_.state().file(job->fileId)) {
                    self->fail(
                        job, JobOutcome::Kind::Internal, QStringLiteral("store_failed"),
                        QStringLiteral(
                            "the file manifest was committed but the file is not complete in the log"));
                    return;
                }
                self->startCounting(job);
            });
        },
        [self, job](const ProposeOutcome& o) {
            self->fail(job, JobOutcome::Kind::Unavailable, QStringLiteral("store_failed"),
                       QStringLiteral("could not commit the file manifest: %1").arg(o.error));
        });
}

}  // namespace raftwc::node
