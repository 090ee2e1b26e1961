// Rendering of status snapshots (values in, text out): /api/cluster's JSON and /metrics' Prometheus text.
#include "node/status.h"

#include <sys/resource.h>
#include <unistd.h>

#include <QDateTime>
#include <QDir>
#include <QFile>

#include <QJsonArray>

#include "node/jobs.h"

namespace raftwc::node {

ProcessStats ProcessStats::read() {
    ProcessStats p;
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (statm.open(QIODevice::ReadOnly)) {
        const QList<QByteArray> f = statm.readAll().split(' ');
        if (f.size() > 1) p.residentBytes = f[1].toLongLong() * ::sysconf(_SC_PAGESIZE);
    }
    p.openFds =
        qint64(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::NoDotAndDotDot | QDir::System).size());
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) p.maxFds = qint64(rl.rlim_cur);
    QFile stat(QStringLiteral("/proc/self/stat"));
    if (stat.open(QIODevice::ReadOnly)) {
        const QByteArray all = stat.readAll();
        // Fields after the command (which may hold spaces) start after the last ')'.
        const QList<QByteArray> f = all.mid(all.lastIndexOf(')') + 2).split(' ');
        const double tick = double(::sysconf(_SC_CLK_TCK));
        if (f.size() > 19 && tick > 0) {
            p.cpuSeconds = (f[11].toDouble() + f[12].toDouble()) / tick;  // utime + stime
            QFile uptime(QStringLiteral("/proc/uptime"));
            if (uptime.open(QIODevice::ReadOnly)) {
                const double up = uptime.readAll().split(' ').value(0).toDouble();
                const double startedAgo = up - f[19].toDouble() / tick;
                p.startTimeSeconds = double(QDateTime::currentMSecsSinceEpoch()) / 1000.0 - startedAgo;
            }
        }
    }
    return p;
}

QByteArray metricsText(const NodeStatus& s) {
    QByteArray out;
    auto metric = [&out](const char* name, const char* type, const char* help, double value,
                         const QByteArray& labels = {}) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
        out += QByteArray(name) + (labels.isEmpty() ? QByteArray() : '{' + labels + '}') + ' ' +
               QByteArray::number(value, 'g', 17) + '\n';
    };
    metric("raftwc_term", "gauge", "Current Raft term.", double(s.term));
    metric("raftwc_is_leader", "gauge", "1 if this node is the leader.",
           s.role == raft::Role::Leader ? 1 : 0);
    metric("raftwc_role", "gauge", "Raft role of this node (label).", 1,
           "role=\"" + roleName(s.role).toLatin1() + '"');
    metric("raftwc_commit_index", "gauge", "Highest committed log index.", double(s.commit));
    metric("raftwc_applied_index", "gauge", "Highest applied log index.", double(s.applied));
    metric("raftwc_last_index", "gauge", "Last log index.", double(s.lastIndex));
    metric("raftwc_first_index", "gauge", "First index in the log (after the snapshot).",
           double(s.firstIndex));
    metric("raftwc_snapshot_index", "gauge", "Index of the newest snapshot (0: never compacted).",
           double(s.snapshotIndex));
    metric("raftwc_snapshots_taken_total", "counter", "Snapshots this node took (each compacted its log).",
           double(s.snapshotsTaken));
    metric("raftwc_snapshots_installed_total", "counter", "Snapshots this node received from a leader.",
           double(s.snapshotsInstalled));
    metric("raftwc_log_bytes", "gauge", "Bytes in the log's segment files.", double(s.log.bytes));
    metric("raftwc_log_segments", "gauge", "Log segment files.", double(s.log.segments));
    metric("raftwc_elections_started_total", "counter", "Elections this node started (pre-vote included).",
           double(s.electionsStarted));
    metric("raftwc_leader_changes_total", "counter", "Leader changes seen.", double(s.leaderChanges));
    metric("raftwc_members", "gauge", "Members in the configuration.", double(s.members.size()));
    metric("raftwc_jobs_started_total", "counter", "Jobs coordinated by this node.", double(s.jobs.started));
    metric("raftwc_jobs_failed_total", "counter", "Jobs coordinated by this node that failed.",
           double(s.jobs.failed));
    metric("raftwc_jobs_running", "gauge", "Jobs running on this node.", double(s.jobs.running));
    metric("raftwc_jobs_committed", "gauge", "Job results in the replicated state.",
           double(s.jobs.committed));
    metric("raftwc_bytes_counted_total", "counter", "Bytes this node counted for shards.",
           double(s.jobs.bytesCounted));
    metric("raftwc_shards_counted_total", "counter", "Shards this node counted.",
           double(s.jobs.shardsCounted));
    metric("raftwc_log_write_jobs_total", "counter", "Readys persisted off the event loop.",
           double(s.log.writeJobs));
    metric("raftwc_log_writes_total", "counter",
           "Log writes (at most one fdatasync each; Readys queued during a write share the next).",
           double(s.log.writes));
    metric("raftwc_log_write_largest_group", "gauge", "Most Readys written by one write.",
           double(s.log.largestGroup));
    metric("raftwc_log_writes_in_flight", "gauge", "Readys handed to the writer and not yet durable.",
           double(s.log.inFlight));
    auto byReason = [&out](const char* name, const char* help, const net::DropCounters& c) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + " counter\n";
        for (std::size_t i = 0; i < net::kDropReasonCount; ++i)
            out += QByteArray(name) + "{reason=\"" +
                   QByteArray(net::dropReasonName(net::DropReason(i)).data()) + "\"} " +
                   QByteArray::number(c.counts[i]) + '\n';
    };
    byReason("raftwc_rejected_frames_total", "TCP frames dropped, by reason.", s.framesDropped);
    byReason("raftwc_rejected_datagrams_total", "Datagrams dropped, by reason.", s.datagramsDropped);
    metric("raftwc_has_leader", "gauge", "1 if this node knows a leader.", s.leader != raft::kNoNode ? 1 : 0);
    metric("raftwc_build_info", "gauge", "Build information (labels); always 1.", 1,
           "version=\"" + s.version.toLatin1() + '"');
    if (s.diskFreeBytes >= 0)
        metric("raftwc_disk_free_bytes", "gauge", "Free bytes on the data directory's file system.",
               double(s.diskFreeBytes));
    const bool leading = s.role == raft::Role::Leader;
    if (leading) {
        out +=
            "# HELP raftwc_peer_lag_entries Entries the leader's commit index is ahead of a member's match "
            "index.\n"
            "# TYPE raftwc_peer_lag_entries gauge\n";
        for (const MemberStatus& m : s.members)
            if (!m.self)
                out += "raftwc_peer_lag_entries{peer=\"" + nodeIdString(m.id).toLatin1() + "\"} " +
                       QByteArray::number(qint64(s.commit >= m.matchIndex ? s.commit - m.matchIndex : 0)) +
                       '\n';
    }
    s.logWriteSeconds.appendPrometheus(
        out, "raftwc_log_write_seconds",
        "A Ready handed to the log writer until durable (fdatasync included).");
    s.commitSeconds.appendPrometheus(out, "raftwc_commit_seconds",
                                     "A proposal of this node until it committed.");
    s.jobSeconds.appendPrometheus(out, "raftwc_job_duration_seconds",
                                  "Jobs this node coordinated, from the first byte to the end.");
    const ProcessStats& p = s.process;
    if (p.residentBytes >= 0)
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               double(p.residentBytes));
    if (p.openFds >= 0)
        metric("process_open_fds", "gauge", "Number of open file descriptors.", double(p.openFds));
    if (p.maxFds >= 0)
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", double(p.maxFds));
    if (p.cpuSeconds >= 0)
        metric("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.", p.cpuSeconds);
    if (p.startTimeSeconds >= 0)
        metric("process_start_time_seconds", "gauge",
               "Start time of the process since the epoch, in seconds.", p.startTimeSeconds);
    return out;
}

QString roleName(raft::Role r) {  // the API's spelling: "leader", "follower", "candidate", "precandidate"
    return QString::fromLatin1(raft::toString(r)).toLower();
}

QJsonObject clusterJson(const NodeStatus& s) {
    QJsonArray members;
    for (const MemberStatus& m : s.members)
        members.append(QJsonObject{{QStringLiteral("id"), nodeIdString(m.id)},
                                   {QStringLiteral("rpc"), m.rpc},
                                   {QStringLiteral("http"), m.http},
                                   {QStringLiteral("role"), m.role},
                                   {QStringLiteral("voter"), m.voter},
                                   {QStringLiteral("alive"), m.alive},
                                   {QStringLiteral("self"), m.self},
                                   {QStringLiteral("lastContactMs"), m.lastContactMs},
                                   {QStringLiteral("matchIndex"), qint64(m.matchIndex)}});
    QJsonValue leader = QJsonValue::Null;
    if (s.leader != raft::kNoNode)
        leader = QJsonObject{{QStringLiteral("id"), nodeIdString(s.leader)},
                             {QStringLiteral("http"), s.leaderHttp}};
    return QJsonObject{{QStringLiteral("id"), nodeIdString(s.id)},
                       {QStringLiteral("phase"), s.phase},
                       {QStringLiteral("role"), roleName(s.role)},
                       {QStringLiteral("term"), qint64(s.term)},
                       {QStringLiteral("leader"), leader},
                       {QStringLiteral("commitIndex"), qint64(s.commit)},
                       {QStringLiteral("appliedIndex"), qint64(s.applied)},
                       {QStringLiteral("lastIndex"), qint64(s.lastIndex)},
                       {QStringLiteral("firstIndex"), qint64(s.firstIndex)},
                       {QStringLiteral("snapshotIndex"), qint64(s.snapshotIndex)},
                       {QStringLiteral("logBytes"), qint64(s.log.bytes)},
                       {QStringLiteral("installingSnapshot"), s.installing},
                       {QStringLiteral("clusterId"), s.clusterId},
                       {QStringLiteral("rpc"), s.rpcAddress},
                       {QStringLiteral("http"), s.httpAddress},
                       {QStringLiteral("electionsStarted"), qint64(s.electionsStarted)},
                       {QStringLiteral("members"), members}};
}

}  // namespace raftwc::node
