// Distributed word-count jobs. The coordinator runs on the node that received the upload: it stores the
// file through the leader (chunk entries, then a manifest), plans (offset, length) shards over the live
// members, sends each its shard, reassigns shards of members that fail or stall, merges the parts exactly
// and commits the result. The worker counts one shard from this node's own copy of the file in the log.
//
// Both talk to the rest of the node only through JobHost, so they are tested without sockets.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "http/api.h"
#include "node/job_codecs.h"
#include "node/node_env.h"
#include "node/statemachine.h"
#include "raft/types.h"
#include "wordcount/wordcount.h"

namespace raftwc::node {

/// What a proposal through the leader came to.
struct ProposeOutcome {
    enum class Code { Committed, NoLeader, Failed };
    Code code = Code::Failed;
    raft::Term term = 0;
    raft::Index index = 0;
    QString error;
    bool ok() const { return code == Code::Committed; }
};

/// One job's phases and the only transitions between them, as values: the coordinator moves a job only
/// through jobTransition (an event that does not apply to the phase, e.g. a late shard answer after a
/// failure, changes nothing).
enum class JobPhase { Storing, Counting, Committing, Done, Failed };
enum class JobEvent {
    Stored,     ///< every chunk and the manifest committed, the file applied here
    Counted,    ///< every shard answered
    Committed,  ///< the result committed
    Failed,
};
std::optional<JobPhase> jobTransition(JobPhase from, JobEvent event);
const char* jobPhaseName(JobPhase p);

/// How a job ended, as a value: NodeApi alone maps it to HTTP (apiReply in api.h).
struct JobOutcome {
    enum class Kind {
        Done,         ///< counted and committed: `result`
        Unavailable,  ///< no leader, or storing/counting/committing failed for now: retry later
        Duplicate,    ///< a job with this id exists already
        Gone,         ///< its file was deleted while it ran (DELETE, retention)
        Internal,     ///< a fault of this node
    };
    Kind kind = Kind::Internal;
    QString code;  ///< stable machine-readable reason, e.g. "no_leader", "store_failed"
    QString message;
    QJsonObject result;

    static JobOutcome done(QJsonObject r) { return {Kind::Done, {}, {}, std::move(r)}; }
    static JobOutcome failed(Kind k, QString code, QString message) {
        return {k, std::move(code), std::move(message), {}};
    }
    bool ok() const { return kind == Kind::Done; }
};

/// The node, as jobs see it.
class JobHost {
  public:
    virtual ~JobHost() = default;
    /// Time, timers and worker threads (node_env.h).
    virtual NodeEnv& env() = 0;
    virtual raft::NodeId selfId() const = 0;
    virtual raft::Term currentTerm() const = 0;
    /// True if a leader is known and this node has heard from it recently.
    virtual bool leaderKnown() const = 0;
    /// Why this node should not coordinate a job now although a leader is known (it is a learner still
    /// catching up, or far behind the commit index), or empty. A job it took would wait for its own copy of
    /// the file for as long as the catch-up takes.
    virtual QString catchingUp() const { return {}; }
    /// Proposes a Normal entry through the leader; `done` once it is committed (or failed).
    virtual void proposeCommand(QByteArray command, std::function<void(ProposeOutcome)> done) = 0;
    virtual const StateMachine& state() const = 0;
    /// Calls `cb(true)` once this node has applied `index`, or `cb(false)` after `timeoutMs`.
    virtual void whenApplied(raft::Index index, int timeoutMs, std::function<void(bool)> cb) = 0;
    /// Members (including self) that are alive now.
    virtual std::vector<raft::NodeId> liveMembers() const = 0;
    /// Sends a shard to `to` (which may be this node); `done` exactly once. Progress notes of the
    /// shard arrive through JobCoordinator::onProgress.
    virtual void sendShard(raft::NodeId to, const ShardRequest& req, int timeoutMs,
                           std::function<void(ShardReply)> done) = 0;
    /// A ByteSource over a stored file's bytes in this node's log (safe to read from worker threads).
    virtual std::shared_ptr<wordcount::ByteSource> fileSource(const StoredFile& f) = 0;
    /// A job this node coordinates moved (its GET /api/jobs/{id} object); for the event stream.
    virtual void reportJob(const QJsonObject& job) { Q_UNUSED(job); }
    /// This node's counting of one shard moved ({job, offset, length, bytesDone, state, ms}).
    virtual void reportShard(const QJsonObject& shard) { Q_UNUSED(shard); }
};

/// Counts shards for other nodes (and this one): waits until the file is applied here, counts in
/// pieces on a worker thread, reports progress, answers once.
class ShardWorker : public QObject {
    Q_OBJECT
  public:
    ShardWorker(JobHost& host, QObject* parent = nullptr);
    ~ShardWorker() override;
    using ProgressFn = std::function<void(const ShardProgressNote&)>;
    void handle(const ShardRequest& req, ProgressFn progress, std::function<void(ShardReply)> done);
    /// Bytes counted by this node since start (for /metrics).
    std::uint64_t bytesCounted() const { return bytesCounted_; }
    std::uint64_t shardsCounted() const { return shardsCounted_; }

  private:
    void run(const ShardRequest& req, ProgressFn progress, std::function<void(ShardReply)> done);
    JobHost& host_;
    std::shared_ptr<std::atomic<bool>> alive_ =
        std::make_shared<std::atomic<bool>>(true);  ///< read by pool threads
    std::uint64_t bytesCounted_ = 0;
    std::uint64_t shardsCounted_ = 0;
    /// Distinct words of the last piece counted per job (a sizing hint for its next pieces), newest last.
    std::vector<std::pair<QByteArray, std::size_t>> lastDistinct_;
};

/// One shard's place in a job, as /api/jobs/{id} shows it.
struct ShardState {
    std::uint32_t no = 0;
    wordcount::ShardSpec spec;
    raft::NodeId node = raft::kNoNode;
    enum class State { Pending, Running, Done } state = State::Pending;
    std::uint64_t bytesDone = 0;
    std::uint64_t words = 0;
    std::uint32_t ms = 0;
    int attempts = 0;
    /// Work follows speed: a second member counting the same range because the first is slow (the first
    /// answer wins, as MapReduce's backup tasks do). kNoNode: none.
    raft::NodeId backup = raft::kNoNode;
    /// Pipelined: sent once the file's committed bytes reach this far (its last word may run past its
    /// end); any time once the file is stored.
    std::uint64_t needEnd = 0;
    qint64 startedMs = 0;  ///< When it was last sent (coordinator's clock).
    qint64 tookMs = 0;     ///< Done: from that send to the answer, as the coordinator saw it.
};

class JobCoordinator : public QObject {
    Q_OBJECT
  public:
    JobCoordinator(JobHost& host, QObject* parent = nullptr);
    ~JobCoordinator() override;

    /// Starts a job for a streamed upload: the returned sink takes the file's bytes as they arrive and
    /// stores them in the log chunk by chunk (a window of chunkWindow chunks in flight; room() is what
    /// the sender may send now). nullptr after `done` when refused at once (no leader, duplicate id), or
    /// answered at once (the id's result is committed). `done` exactly once. Destroying the sink before
    /// finish() fails the job ("abandoned").
    std::unique_ptr<http::UploadSink> open(http::UploadMeta meta, std::function<void(JobOutcome)> done);
    /// The same for a file already in memory.
    void count(http::Upload upload, std::function<void(JobOutcome)> done);
    /// Progress of a job this node coordinates (running or recently finished); empty if unknown.
    std::optional<QJsonObject> progress(const QByteArray& jobId) const;
    void onProgress(const ShardProgressNote& p);
    /// The job was deleted through the log: a finished one is no longer shown (a running one goes on).
    void forget(const QByteArray& jobId);
    std::uint64_t jobsStarted() const { return jobsStarted_; }
    std::uint64_t jobsFailed() const { return jobsFailed_; }
    std::size_t running() const;

    /// Tunables (tests shrink them).
    qint64 chunkBytes = 1 << 20;
    int chunkWindow = 16;
    int shardTimeoutMs = 20000;
    int maxShardAttempts = 4;
    /// Pieces per member: the file is cut into about this many ranges per live member (each at least
    /// minShardBytes), handed out as members finish, so a slow or loaded member takes fewer.
    int shardsPerNode = 4;
    std::uint64_t minShardBytes = 256 << 10;
    /// Pieces a member counts at once (one counting while the next request travels).
    int piecesInFlight = 2;
    /// Once nothing is pending, an idle member also counts a straggler — a piece running for longer than
    /// backupAfterMs and than 3x the median time of the pieces done so far — and the first answer wins.
    bool backupPieces = true;
    int backupAfterMs = 1000;
    /// Count while the file is stored: pieces are planned and counted as their chunks commit, so when the
    /// manifest commits only the last piece is left. Off: counting starts after the manifest is applied.
    bool pipeline = true;

  private:
    struct Job;
    class Sink;
    qint64 room(const Job& job) const;
    void receive(const std::shared_ptr<Job>& job, QByteArrayView bytes);
    void endOfInput(const std::shared_ptr<Job>& job);
    void pumpHash(const std::shared_ptr<Job>& job);
    void sendChunks(const std::shared_ptr<Job>& job);
    void proposeChunk(const std::shared_ptr<Job>& job, std::uint64_t offset, QByteArray bytes);
    void proposeManifest(const std::shared_ptr<Job>& job);
    /// Proposes `command` through the leader while the job stays in the phase it is in now, retrying
    /// every kRetryMs up to kProposeAttempts times (rides out an election); then `committed` or `gaveUp`.
    void proposeWithRetry(const std::shared_ptr<Job>& job, QByteArray command,
                          std::function<void(const ProposeOutcome&)> committed,
                          std::function<void(const ProposeOutcome&)> gaveUp, int attempt = 0);
    static constexpr int kProposeAttempts = 20;
    static constexpr int kRetryMs = 500;
    /// A chunk committed at `index`: the committed prefix may grow, and pieces with it (pipelined).
    void chunkCommitted(const std::shared_ptr<Job>& job, std::uint64_t offset, std::uint32_t length,
                        raft::Index index);
    /// Every chunk committed (or the file stored): the size is final and the prefix is the whole file.
    bool allStored(const Job& job) const;
    /// Pipelined: plans pieces over the committed prefix (all of the file once allStored) and feeds them.
    void planPieces(const std::shared_ptr<Job>& job);
    /// Hands ready pieces to the least busy live members, then (once all is planned) backups.
    void feedAll(const std::shared_ptr<Job>& job);
    /// Pieces `member` is counting for the job now (its own and backups).
    long busy(const Job& job, raft::NodeId member) const;
    /// The file is stored and applied here: plan what is left and count.
    void startCounting(const std::shared_ptr<Job>& job);
    /// A piece may be handed out now: pending, and its bytes committed (or the file stored).
    bool ready(const Job& job, const ShardState& s) const;
    /// The request for a piece: the stored file, or (while storing) the committed prefix.
    ShardRequest requestFor(const Job& job, const ShardState& s) const;
    int timeoutFor(const ShardState& s) const;
    void dispatchShard(const std::shared_ptr<Job>& job, std::size_t shardIdx);
    /// Gives `member` work up to piecesInFlight: the next pending pieces, else (nothing pending) a backup
    /// of the running piece that is furthest from done on another member.
    void feed(const std::shared_ptr<Job>& job, raft::NodeId member);
    void sendBackup(const std::shared_ptr<Job>& job, std::size_t shardIdx, raft::NodeId member);
    /// A piece counted (by its member or its backup): stores the part, finishes the job when all are in.
    void pieceDone(const std::shared_ptr<Job>& job, std::size_t shardIdx, ShardReply reply);
    /// Merges the parts that arrived into the job's total, off the loop, one batch at a time.
    void pumpMerge(const std::shared_ptr<Job>& job);
    /// Finishes counting when the file is stored, planned, every piece is done and merged.
    void maybeFinishCounting(const std::shared_ptr<Job>& job);
    void finishCounting(const std::shared_ptr<Job>& job);
    void commitResult(const std::shared_ptr<Job>& job, QByteArray command, const QJsonObject& result);
    /// Commits the table pieces [next, end) one after another, then the result.
    void commitPieces(const std::shared_ptr<Job>& job, std::vector<QByteArray> pieces, std::size_t next,
                      QByteArray result, const QJsonObject& json);
    void fail(const std::shared_ptr<Job>& job, JobOutcome::Kind kind, const QString& code,
              const QString& message);
    void reassign(const std::shared_ptr<Job>& job, std::size_t idx, const QString& why);
    /// The job's file was deleted through the log while it ran: it fails with a clear error.
    void failFileDeleted(const std::shared_ptr<Job>& job);
    /// Replaces shard `idx` by its two halves and sends both; false if it is too small to split.
    bool splitShard(const std::shared_ptr<Job>& job, std::size_t idx);
    /// Reassigns running shards whose node stopped being live (it died or was cut off).
    void watchdog();
    void complete(const std::shared_ptr<Job>& job, const QJsonObject& result);
    QJsonObject jobJson(const Job& job) const;
    /// Tells the host about the job if it moved since the last report (phase, bytes stored or counted).
    void report(const std::shared_ptr<Job>& job);

    JobHost& host_;
    EnvTimer watchdog_;
    std::map<QByteArray, std::shared_ptr<Job>> jobs_;  ///< running and the last few finished
    std::vector<QByteArray> finishedOrder_;
    std::uint64_t jobsStarted_ = 0;
    std::uint64_t jobsFailed_ = 0;
};

/// The JSON of a finished job's result (also what is committed in the JobResult entry). total.bytes must be
/// the file size (maxLineWidth needs the merged parts to cover exactly [0, size)).
QJsonObject resultJson(const QByteArray& jobId, const StoredFile& file, const wordcount::ShardCounts& total,
                       const std::vector<ShardState>& shards, raft::NodeId coordinator, raft::Term term,
                       qint64 elapsedMs, const QString& mode, qint64 createdAtMs);
QString nodeIdString(raft::NodeId id);
/// `n` random bytes / a random (version 4) UUID from the environment's generator.
QByteArray randomBytes(NodeEnv& env, int n);
QString randomUuid(NodeEnv& env);

}  // namespace raftwc::node
