// Node: one raftwc cluster member. It owns the durable log, the consensus core, the transports, the HTTP
// front end and the job machinery, and runs the Ready loop (persist → send → apply → advance) from the
// Qt event loop. Everything it decides with is a value; the QObjects are only its I/O.
#pragma once

#include <QObject>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "node/discovery.h"
#include "node/event_log.h"
#include "node/jobs.h"
#include "node/log_writer.h"
#include "node/node_env.h"
#include "node/options.h"
#include "node/peer_book.h"
#include "node/proposal_tracker.h"
#include "node/statemachine.h"
#include "node/status.h"
#include "raft/rawnode.h"
#include "storage/blob_store.h"

namespace raftwc::storage {
class RaftLogStore;
}
namespace raftwc::net {
class MulticastChannel;
class RpcTransport;
struct InboundRequest;
struct Probe;
struct Announce;
struct Hello;
struct FrameHeader;
}  // namespace raftwc::net
namespace raftwc::http {
class HttpFrontend;
}

namespace raftwc::node {

class NodeApi;
class QtNodeEnv;

/// What a node runs on when it does not build its own Qt I/O (Node::startWith): the simulation's.
struct NodeIo {
    std::unique_ptr<storage::RaftLogStore> store;  ///< opened
    NodeEnv* env = nullptr;                        ///< outlives the node
    PeerLink* peers = nullptr;                     ///< outlives the node
    DiscoveryLink* discovery = nullptr;            ///< outlives the node
    LogWriter::Persist persist;                    ///< empty: store->persistAsync
    QString rpcAddress;                            ///< advertised addresses
    QString httpAddress;
};

/// App RPC methods between nodes (net::AppEnvelope::method).
enum class RpcMethod : quint16 {
    ForwardPropose = 1,  ///< payload: a Normal entry's command; answered when committed
    Join = 2,            ///< payload: MemberAddress; the leader adds the sender as a learner
    Shard = 3,           ///< payload: ShardRequest; answered with ShardReply
    ShardProgress = 4,   ///< payload: ShardProgressNote (one-way; answered with an empty Ok)
    JobProgress = 7,     ///< payload: a job's progress as compact JSON (coordinator → members; answered Ok)
    RemoveMember = 5,    ///< payload: u64 node id
    TransferLeader = 6,  ///< payload: u64 node id (0: any)
    /// payload: u8 store (0 blobs, 1 tables), bytes name (32), u64 offset, u32 most bytes; answered with u64
    /// the item's size and bytes from offset (node_install.cpp; InstallSnapshot's out-of-band transfer).
    FetchBlob = 8,
};

/// Node-level RPC statuses (net::RpcStatus uses 0..99).
enum class NodeRpcStatus : quint16 { Retry = 100, Failed = 101 };

class Node : public QObject, private JobHost {
    Q_OBJECT
  public:
    /// How long a proposal may wait to commit, and a forwarded one for the leader's answer.
    static constexpr qint64 kProposalTimeoutMs = 30000;
    static constexpr int kForwardTimeoutMs = 20000;
    /// Largest entry a node proposes. Entries are replicated whole (a file travels as <= 1 MiB chunks), so a
    /// giant entry would hold up heartbeats behind it on the connection.
    static constexpr qsizetype kMaxEntryBytes = 4 << 20;

    explicit Node(NodeOptions options, QObject* parent = nullptr);
    ~Node() override;

    /// Opens the data directory, binds the ports and starts discovery or the cluster. False with a
    /// human-readable `error` on failure (data dir locked or corrupt, port in use, ...).
    bool start(QString* error);
    /// Starts on the given I/O instead of its own (no HTTP listener; jobs through coordinator()).
    bool startWith(NodeIo io, QString* error);
    /// Graceful stop: hands leadership to an up-to-date voter if this node leads, stops serving and calls
    /// `done` (at most ~3 s later).
    void shutdown(std::function<void()> done);

    NodeStatus status() const;
    raft::NodeId id() const { return id_; }
    quint16 httpPort() const;
    quint16 rpcPort() const;

    /// Explicit membership operations (the API and the dashboard call these). `done(error)` — empty on
    /// success. Forwarded to the leader when this node does not lead.
    void removeMember(raft::NodeId member, std::function<void(QString)> done);
    /// Takes a snapshot of the state as soon as no upload is half committed, then compacts the log it covers
    /// (POST /api/admin/compact). `done(error, snapshot index)`; at most `timeoutMs` later.
    void compactNow(int timeoutMs, std::function<void(QString, raft::Index)> done);
    void transferLeadership(raft::NodeId to, std::function<void(QString)> done);

    // Used by NodeApi.
    const QString& dataDir() const { return opt_.dataDir; }
    const QByteArray& clusterKey() const { return opt_.clusterKey; }
    const QByteArray& adminToken() const { return opt_.adminToken; }
    bool hasLeader() const { return leaderKnown(); }
    const StateMachine& stateMachine() const { return sm_; }
    /// Proposes a command through the leader (the API's deletions); `done` once committed or failed.
    void propose(QByteArray command, std::function<void(ProposeOutcome)> done) {
        proposeCommand(std::move(command), std::move(done));
    }
    /// The payload of the stored entry at index i (nullopt if it is not in the log or cannot be read).
    std::optional<QByteArray> entryPayload(raft::Index i) const;
    /// Reads a finished job's table entries: from its table file when there is one, else from the log.
    std::function<std::optional<QByteArray>(raft::Index)> tableReader(const QByteArray& jobId) const;
    JobCoordinator& coordinator() { return *coordinator_; }
    /// A stored file's bytes from this node's own log (safe to read from worker threads).
    std::shared_ptr<wordcount::ByteSource> storedFileSource(const StoredFile& f) { return fileSource(f); }
    QByteArray metricsText() const;
    /// What happened on this node (GET /api/events); shared so subscribers may outlive the node safely.
    std::shared_ptr<EventLog> eventLog() const { return events_; }

    // Input from the transports (the Qt links' signals, or the simulation).
    void receiveRaft(const raft::Message& m);
    void receiveRequest(const net::InboundRequest& req);
    void receiveProbe(const net::Probe& p, raft::NodeId sender);
    void receiveAnnounce(const net::Announce& a, raft::NodeId sender);
    void receiveHello(const net::Hello& h, raft::NodeId sender);

  signals:
    /// Emitted once the node knows its id (16 hex digits), early in start(), before its first log lines
    /// about the cluster.
    void identified(const QString& id);
    /// Emitted (at most every ~100 ms) when the status may have changed.
    void statusChanged();
    /// Emitted once if the node hits an unrecoverable error (disk full during persist, corruption).
    void fatalError(const QString& message);

  private:
    // JobHost
    NodeEnv& env() override { return *env_; }
    raft::NodeId selfId() const override { return id_; }
    raft::Term currentTerm() const override;
    bool leaderKnown() const override;
    QString catchingUp() const override;
    void proposeCommand(QByteArray command, std::function<void(ProposeOutcome)> done) override;
    const StateMachine& state() const override { return sm_; }
    void whenApplied(raft::Index index, int timeoutMs, std::function<void(bool)> cb) override;
    std::vector<raft::NodeId> liveMembers() const override;
    void sendShard(raft::NodeId to, const ShardRequest& req, int timeoutMs,
                   std::function<void(ShardReply)> done) override;
    std::shared_ptr<wordcount::ByteSource> fileSource(const StoredFile& f) override;
    void reportJob(const QJsonObject& job) override;
    void reportShard(const QJsonObject& shard) override;

    // Events (node_events.cpp).
    void recordEvent(const QString& type, QJsonObject fields);
    void onElectionEvent(const raft::ElectionEvent& e);
    void noteAppliedForEvents(const raft::Entry& e);
    void flushLogEvent();
    void notePhase(const QString& phase);
    void relayJob(const QByteArray& payload);

    void onTick();
    void onWritten(WrittenReady w, const storage::Status& st);
    void scheduleReady();
    void processReady();
    void apply(const raft::Entry& e);
    /// A file was stored: copies its bytes from the log's chunks into its blob (if there is none yet, for
    /// this content), off the loop, one file at a time, checking them against the manifest's SHA-256.
    void queueBlob(const QByteArray& fileId);
    /// Leader: proposes the deletion of the jobs (and files) beyond the retention limits (node/retention.h).
    void retire();
    std::set<QByteArray> retiring_;  ///< deletions proposed and not answered yet
    bool retirePosted_ = false;
    void pumpBlobs();
    /// No stored file has this content any more: its blob goes (off the loop).
    void dropBlob(const QByteArray& sha256);
    /// A job's result was applied: its table is copied out of the log into DIR/tables (off the loop).
    void queueTable(const QByteArray& jobId);
    void pumpTables();
    void dropTable(const QByteArray& jobId);
    /// Removes `name` from a blob store off the loop (absent: nothing), logging what went.
    void removeOffLoop(std::shared_ptr<storage::BlobStore> store, const std::string& name,
                       const QString& what);
    void learnAddresses(const std::vector<raft::Entry>& entries);

    // Snapshots and compaction (node_snapshot.cpp; docs/STORAGE.md, "Compaction").
    /// Takes a snapshot when one is due and the state allows it; compacts once blobs and tables are written.
    void maybeSnapshot();
    /// The configuration in force after entry i (the store's base plus its ConfChange entries up to i).
    raft::ConfState confAt(raft::Index i) const;
    /// At start: the stored snapshot's state becomes the state machine's; rc.applied is set to its index.
    bool restoreAtStart(raft::Config& rc, QString* error);
    /// A received snapshot is durable: it becomes the state machine's state.
    void loadSnapshot(const raft::Snapshot& s);
    /// Removes blobs and tables no stored file or job references (after a snapshot replaced the state).
    void collectGarbage();
    /// Leader: uploads and tables half committed and stalled for long are released through the log, so they
    /// do not hold compaction back for ever.
    void releaseStalePartials();
    void finishCompactWaiters(const QString& error, raft::Index at);
    std::uint64_t appliedBytesSinceSnapshot_ = 0;
    std::optional<raft::Snapshot> snapshotCandidate_;  ///< taken; compacted once its blobs and tables exist
    int candidateChecks_ = 0;
    bool compactRequested_ = false;
    std::vector<std::pair<qint64, std::function<void(QString, raft::Index)>>> compactWaiters_;
    std::optional<std::pair<std::uint64_t, raft::Snapshot>> restoreAfterWrite_;  ///< (persist token, it)
    std::map<QByteArray, std::pair<std::size_t, qint64>> partialSeen_;  ///< id → (parts, since when)
    std::set<QByteArray> releasing_;
    /// Blobs and tables (names) the stored snapshot refers to: kept while it may be sent to a member, even
    /// once deleted from the state (removed by the garbage sweep after the next snapshot).
    std::set<std::string> snapshotRefs_;
    std::set<std::string> candidateRefs_;
    /// Leader: a member is being sent the stored snapshot, or is behind its index (it will be).
    bool snapshotNeeded() const;
    /// The names of the blobs and tables the state machine refers to now.
    std::set<std::string> stateRefs() const;
    std::uint64_t snapshotsTaken_ = 0;
    std::uint64_t snapshotsInstalled_ = 0;

    // InstallSnapshot (node_install.cpp): the snapshot's blobs and tables are fetched from the leader in
    // chunks, then the message is stepped into the core.
    struct Install;
    std::unique_ptr<Install> install_;
    void beginInstall(const raft::Message& m);
    void pumpInstall();
    void fetchFailed(const QString& why);
    void nextInstallItem();
    /// Every byte of the current item is written: check it and commit it (off the loop), then the next.
    void completeInstallItem();
    /// Writes (and hashes) the current item's bytes received in order, one task at a time off the loop.
    void writeInstallBytes();
    void serveFetch(const net::InboundRequest& req);
    /// The data directory's identity: node id, cluster id (start and startWith).
    bool adopt(std::unique_ptr<storage::RaftLogStore> store, QString* error);
    /// The consensus core, the log writer, the job parts and the timers, over env_/link_/disco_.
    bool startCore(LogWriter::Persist persist, QString* error);
    void onDiscoveryTimer();
    void onAnnounceTimer();
    void sendAnnounce();
    void tryJoin();
    void bootstrapCluster(int candidates);
    void heard(raft::NodeId from, const QString& rpc = {}, const QString& http = {});
    void setPeerAddress(raft::NodeId id, const QString& rpc, const QString& http);
    void logStatusChanges();
    void fatal(const QString& message);
    void maybeRecordOwnAddress();
    void failForwardsTo(raft::NodeId oldLeader);
    /// Runs a membership operation on the leader (RemoveMember / TransferLeader); `done(error)`.
    void forwardToLeader(raft::NodeId leader, RpcMethod method, raft::NodeId arg,
                         std::function<void(QString)> done);
    void sweepPending();
    qint64 nowMs() const { return env_->nowMs(); }
    QString advertisedHost() const;
    void logStartup() const;

    NodeOptions opt_;
    raft::NodeId id_ = raft::kNoNode;
    QString clusterId_;
    QString rpcAddress_;
    QString httpAddress_;

    // I/O: either the node's own (Qt) or given by startWith. ownedEnv_ goes last (it waits for the
    // worker threads, and the timers below cancel themselves on it).
    std::unique_ptr<QtNodeEnv> ownedEnv_;
    std::unique_ptr<PeerLink> ownedLink_;
    std::unique_ptr<DiscoveryLink> ownedDisco_;
    NodeEnv* env_ = nullptr;
    PeerLink* link_ = nullptr;
    DiscoveryLink* disco_ = nullptr;

    std::unique_ptr<storage::RaftLogStore> store_;
    /// DIR/blobs: stored files' contents, content-addressed (node_blobs.cpp). Shared with the worker thread
    /// that assembles one.
    std::shared_ptr<storage::BlobStore> blobs_;
    std::deque<QByteArray> blobQueue_;  ///< stored files whose blob is still to be written, in order
    bool blobBusy_ = false;
    /// DIR/tables: finished jobs' tables copied out of the log (table_file.h), named by the job id's SHA-256.
    std::shared_ptr<storage::BlobStore> tables_;
    std::deque<QByteArray> tableQueue_;
    bool tableBusy_ = false;
    std::uint64_t blobsWritten_ = 0;
    std::unique_ptr<raft::RawNode> raft_;
    std::unique_ptr<LogWriter> writer_;  ///< after store_: destroyed first (the store finishes its jobs)
    StateMachine sm_;
    net::MulticastChannel* channel_ = nullptr;
    net::RpcTransport* rpc_ = nullptr;
    std::unique_ptr<NodeApi> api_;
    http::HttpFrontend* http_ = nullptr;
    ShardWorker* worker_ = nullptr;
    JobCoordinator* coordinator_ = nullptr;

    EnvTimer tickTimer_;
    EnvTimer discoveryTimer_;
    EnvTimer announceTimer_;
    EnvTimer sweepTimer_;
    EnvTimer shutdownPoll_;
    bool readyScheduled_ = false;
    bool inReady_ = false;
    bool failed_ = false;
    bool stopping_ = false;

    PeerBook peers_;
    Discovery discovery_;

    qint64 lastForeignClusterLogMs_ = -100000;
    bool addressProposalInFlight_ = false;
    qint64 lastAddressProposalMs_ = -100000;
    qint64 lastWaitLogMs_ = -100000;

    ProposalTracker proposals_;

    // For log lines and statusChanged throttling.
    raft::Term lastLoggedTerm_ = 0;
    raft::NodeId lastLoggedLeader_ = raft::kNoNode;
    raft::Role lastLoggedRole_ = raft::Role::Follower;
    raft::ConfState lastLoggedConf_;
    quint64 leaderChanges_ = 0;
    qint64 lastStatusEmitMs_ = -1000;
    bool statusEmitPending_ = false;

    std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
    EnvTimer eventTimer_;
    QString lastEventPhase_;
    std::vector<QJsonObject> recentEntries_;  ///< applied since the last "log" event (at most kRecentEntries)
    static constexpr std::size_t kRecentEntries = 32;
    raft::Index lastEventCommit_ = 0;
    raft::Index lastEventApplied_ = 0;
    std::map<raft::NodeId, bool> lastEventMembers_;

    // Latency histograms for /metrics.
    Histogram logWriteSeconds_ = Histogram::seconds(10);
    Histogram commitSeconds_ = Histogram::seconds(30);
    Histogram jobSeconds_ = Histogram::seconds(1000);
    std::deque<std::pair<std::uint64_t, qint64>> writeStarts_;  ///< (persist token, submitted at)
};

}  // namespace raftwc::node
