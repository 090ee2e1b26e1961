// Private to the job coordinator (jobs.cpp: planning, counting, results; job_store.cpp: receiving an
// upload and storing it in the log): one job's state.
#pragma once

#include <QCryptographicHash>
#include <deque>
#include <memory>

#include "node/jobs.h"

namespace raftwc::node {

struct JobCoordinator::Job {
    QByteArray id;
    QString name;
    QString mode;
    wordcount::FreqMode freqMode = wordcount::FreqMode::Normalized;
    std::function<void(JobOutcome)> done;
    // receiving: the file's bytes arrive (streamed) and are cut into chunks as the window allows
    QByteArray tail;  ///< bytes received and not yet cut into a chunk start at tailPos
    qsizetype tailPos = 0;
    std::uint64_t received = 0;
    bool inputDone = false;        ///< every byte was received: size is final
    std::function<void()> onRoom;  ///< the sender may go on (UploadSink's room callback)
    // the checksum, computed off the loop chunk by chunk, in order
    std::shared_ptr<QCryptographicHash> hasher =
        std::make_shared<QCryptographicHash>(QCryptographicHash::Sha256);
    std::deque<QByteArray> hashQueue;
    qint64 hashBacklog = 0;  ///< bytes queued or being hashed
    bool hashing = false;
    qint64 startedMs = 0;  ///< NodeEnv::nowMs() when it started
    qint64 createdAtMs = 0;
    QByteArray fileId;
    std::uint64_t size = 0;  ///< bytes received so far; final once inputDone
    QByteArray sha256;
    bool shaReady = false;
    // storing
    std::uint64_t nextOffset = 0;
    int inflight = 0;
    std::uint64_t storedBytes = 0;
    bool manifestProposed = false;
    raft::Index manifestIndex = 0;
    raft::Term term = 0;
    // counting
    std::vector<ShardState> shards;
    std::vector<std::optional<wordcount::ShardCounts>> parts;
    std::vector<raft::NodeId> members;
    using Phase = JobPhase;
    Phase phase = Phase::Storing;
    /// Moves the job by `e` if it applies to its phase (jobTransition); false if it does not.
    bool on(JobEvent e) {
        const std::optional<Phase> next = jobTransition(phase, e);
        if (next) phase = *next;
        return next.has_value();
    }
    QJsonObject result;
    QString error;
    std::uint64_t reported = 0;  ///< fingerprint of the progress last reported (JobHost::reportJob)
};

}  // namespace raftwc::node
