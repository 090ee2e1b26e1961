// Private to the job coordinator (jobs.cpp: planning, counting, results; job_store.cpp: receiving an
// upload and storing it in the log): one job's state.
#pragma once

#include <deque>
#include <map>
#include <memory>

#include "net/sha256.h"
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
    std::shared_ptr<net::Sha256> hasher = std::make_shared<net::Sha256>();
    std::deque<QByteArray> hashQueue;
    qint64 hashBacklog = 0;  ///< bytes queued or being hashed
    bool hashing = false;
    qint64 startedMs = 0;  ///< NodeEnv::nowMs() when it started
    qint64 createdAtMs = 0;
    QByteArray fileId;
    std::uint64_t size = 0;  ///< bytes received so far; final once inputDone
    QByteArray sha256;
    bool shaReady = false;
    std::uint64_t declaredSize = 0;  ///< the size the client declared up front (0: not declared)
    // storing
    std::uint64_t nextOffset = 0;
    int inflight = 0;
    std::uint64_t storedBytes = 0;
    bool manifestProposed = false;
    raft::Index manifestIndex = 0;
    raft::Term term = 0;
    // chunks committed so far: offset → (log index, length); [0, committedPrefix) is all committed, and
    // prefixIndex is the highest log index among those chunks (what a member waits to have applied)
    std::map<std::uint64_t, std::pair<raft::Index, std::uint32_t>> committed;
    std::uint64_t committedPrefix = 0;
    raft::Index prefixIndex = 0;
    // counting: pieces (planned while storing when pipelined), parts merged as they arrive
    std::vector<ShardState> shards;
    std::uint64_t pieceBytes = 0;  ///< pipelined pieces' size (set at the first plan)
    std::uint64_t plannedEnd = 0;  ///< pipelined: pieces cover [0, plannedEnd)
    std::shared_ptr<wordcount::ShardCounts> total = std::make_shared<wordcount::ShardCounts>();
    std::deque<wordcount::ShardCounts> mergeQueue;
    bool merging = false;
    std::vector<raft::NodeId> members;
    std::map<raft::NodeId, int> handed;  ///< pieces sent to each member (its own and reassigned ones)
    // ms after startedMs: every chunk committed, the manifest applied here, every part merged
    qint64 storedMs = -1;
    qint64 manifestMs = -1;
    qint64 countedMs = -1;
    qint64 encodedMs = -1;  ///< the result and its table encoded (off the loop)
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
