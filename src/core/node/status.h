// Status snapshots as plain values: what /api/cluster, /metrics and the dashboard show.
#pragma once

#include <QJsonObject>
#include <QString>
#include <vector>

#include "common/histogram.h"
#include "net/frame.h"
#include "raft/types.h"

namespace raftwc::node {

struct MemberStatus {
    raft::NodeId id = raft::kNoNode;
    QString rpc;
    QString http;
    QString role;  ///< "leader", "follower", "learner", "candidate", "unknown"
    bool voter = false;
    bool alive = false;
    bool self = false;
    qint64 lastContactMs = -1;   ///< -1: never heard
    raft::Index matchIndex = 0;  ///< Known on the leader only.
};

struct JobCounters {
    quint64 started = 0;
    quint64 failed = 0;
    quint64 running = 0;
    quint64 committed = 0;  ///< Results in the replicated state machine.
    quint64 bytesCounted = 0;
    quint64 shardsCounted = 0;
};

/// The write path off the event loop (node::LogWriter, RaftLogStore::persistAsync).
struct LogWriterCounters {
    quint64 writeJobs = 0;  ///< Readys persisted
    quint64 writes = 0;     ///< writes they took (group commit: fewer than writeJobs under load)
    quint64 largestGroup = 0;
    quint64 inFlight = 0;
    quint64 bytes = 0;     ///< the log's segment files
    quint64 segments = 0;  ///< how many
};

/// The process as the OS sees it (/proc/self), for process_* metrics.
struct ProcessStats {
    qint64 residentBytes = -1;
    qint64 openFds = -1;
    qint64 maxFds = -1;
    double cpuSeconds = -1;
    double startTimeSeconds = -1;  ///< since the epoch
    static ProcessStats read();
};

struct NodeStatus {
    raft::NodeId id = raft::kNoNode;
    QString phase;  ///< "discovering", "joining", "member", "removed", "stopping"
    raft::Role role = raft::Role::Follower;
    raft::Term term = 0;
    raft::NodeId leader = raft::kNoNode;
    QString leaderHttp;
    raft::Index commit = 0;
    raft::Index applied = 0;
    raft::Index lastIndex = 0;
    raft::Index firstIndex = 1;     ///< the log starts here (after the snapshot)
    raft::Index snapshotIndex = 0;  ///< the newest snapshot's index (0: never compacted)
    quint64 snapshotsTaken = 0;
    quint64 snapshotsInstalled = 0;
    bool installing = false;  ///< receiving a snapshot from the leader
    QString clusterId;
    QString rpcAddress;
    QString httpAddress;
    std::vector<MemberStatus> members;
    quint64 electionsStarted = 0;
    quint64 leaderChanges = 0;
    JobCounters jobs;
    LogWriterCounters log;
    net::DropCounters framesDropped;     ///< TCP frames, by reason
    net::DropCounters datagramsDropped;  ///< discovery datagrams, by reason
    // For /metrics.
    QString version;
    qint64 diskFreeBytes = -1;  ///< on the data directory's file system
    Histogram logWriteSeconds;  ///< a Ready handed to the writer until durable (fdatasync included)
    Histogram commitSeconds;    ///< a proposal until committed (applied here)
    Histogram jobSeconds;       ///< jobs this node coordinated, start to end
    ProcessStats process;
};

QString roleName(raft::Role r);
QJsonObject clusterJson(const NodeStatus& s);
/// Prometheus text exposition of one node's status.
QByteArray metricsText(const NodeStatus& s);

}  // namespace raftwc::node
