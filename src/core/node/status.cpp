// Rendering of status snapshots (values in, text out): /api/cluster's JSON and /metrics' Prometheus text.
#include "node/status.h"

#include <QJsonArray>

#include "node/jobs.h"

namespace raftwc::node {

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
                       {QStringLiteral("clusterId"), s.clusterId},
                       {QStringLiteral("rpc"), s.rpcAddress},
                       {QStringLiteral("http"), s.httpAddress},
                       {QStringLiteral("electionsStarted"), qint64(s.electionsStarted)},
                       {QStringLiteral("members"), members}};
}

}  // namespace raftwc::node
