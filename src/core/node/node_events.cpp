// The node's event stream (GET /api/events): elections from the core's ElectionEvents, role, term, leader,
// membership and phase changes from status, the log's progress, and jobs (relayed to every member so any
// node's stream shows every job).
#include <QJsonArray>
#include <QJsonDocument>

#include "net/rpc_transport.h"
#include "node/node.h"

namespace raftwc::node {

namespace {

QString entryKind(const raft::Entry& e) {
    switch (e.type) {
        case raft::EntryType::NoOp:
            return QStringLiteral("noop");
        case raft::EntryType::ConfChange:
            return QStringLiteral("config");
        default:
            break;
    }
    if (e.data.size() < 2) return QStringLiteral("other");
    switch (CommandKind(std::uint8_t(e.data[1]))) {
        case CommandKind::FileChunk:
            return QStringLiteral("chunk");
        case CommandKind::FileManifest:
            return QStringLiteral("manifest");
        case CommandKind::JobResult:
            return QStringLiteral("result");
        case CommandKind::MemberAddress:
            return QStringLiteral("address");
        case CommandKind::FileAbandoned:
            return QStringLiteral("abandon");
        case CommandKind::JobTablePiece:
            return QStringLiteral("table");
        case CommandKind::JobDeleted:
        case CommandKind::FileDeleted:
            return QStringLiteral("delete");
    }
    return QStringLiteral("other");
}

}  // namespace

void Node::recordEvent(const QString& type, QJsonObject fields) {
    fields.insert(QStringLiteral("type"), type);
    fields.insert(QStringLiteral("node"), nodeIdString(id_));
    if (!fields.contains(QStringLiteral("term")))
        fields.insert(QStringLiteral("term"), qint64(lastLoggedTerm_));
    events_->append(std::move(fields), env_ ? env_->wallMs() : 0);
}

void Node::onElectionEvent(const raft::ElectionEvent& e) {
    const QString kind = e.preVote ? QStringLiteral("prevote") : QStringLiteral("vote");
    QJsonObject f{{QStringLiteral("kind"), kind}, {QStringLiteral("campaignTerm"), qint64(e.term)}};
    switch (e.kind) {
        case raft::ElectionEvent::Kind::Campaign:
            return recordEvent(QStringLiteral("campaign"), f);
        case raft::ElectionEvent::Kind::Vote:
            f.insert(QStringLiteral("candidate"), nodeIdString(e.peer));
            f.insert(QStringLiteral("granted"), e.granted);
            f.insert(QStringLiteral("reason"), QString::fromStdString(e.reason));
            return recordEvent(QStringLiteral("vote"), f);
        case raft::ElectionEvent::Kind::VoteReply:
            f.insert(QStringLiteral("from"), nodeIdString(e.peer));
            f.insert(QStringLiteral("granted"), e.granted);
            return recordEvent(QStringLiteral("voteReply"), f);
        case raft::ElectionEvent::Kind::Elected:
        case raft::ElectionEvent::Kind::Lost: {
            QJsonArray votes;
            for (raft::NodeId v : e.votes)
                votes.append(nodeIdString(v));
            f.insert(QStringLiteral("votes"), votes);
            return recordEvent(e.kind == raft::ElectionEvent::Kind::Elected ? QStringLiteral("elected")
                                                                            : QStringLiteral("lost"),
                               f);
        }
    }
}

void Node::noteAppliedForEvents(const raft::Entry& e) {
    QJsonObject o{{QStringLiteral("index"), qint64(e.index)},
                  {QStringLiteral("term"), qint64(e.term)},
                  {QStringLiteral("kind"), entryKind(e)},
                  {QStringLiteral("bytes"), qint64(e.data.size())}};
    if (recentEntries_.size() >= kRecentEntries) recentEntries_.erase(recentEntries_.begin());
    recentEntries_.push_back(std::move(o));
}

void Node::notePhase(const QString& phase) {
    if (phase == lastEventPhase_) return;
    recordEvent(QStringLiteral("phase"),
                {{QStringLiteral("phase"), phase},
                 {QStringLiteral("previous"),
                  lastEventPhase_.isEmpty() ? QJsonValue() : QJsonValue(lastEventPhase_)}});
    lastEventPhase_ = phase;
}

void Node::flushLogEvent() {
    if (!raft_) return;
    const NodeStatus s = status();
    notePhase(s.phase);
    if (s.commit == lastEventCommit_ && s.applied == lastEventApplied_ && recentEntries_.empty()) return;
    QJsonArray recent;
    for (QJsonObject& o : recentEntries_)
        recent.append(std::move(o));
    recentEntries_.clear();
    lastEventCommit_ = s.commit;
    lastEventApplied_ = s.applied;
    recordEvent(QStringLiteral("log"), {{QStringLiteral("commit"), qint64(s.commit)},
                                        {QStringLiteral("applied"), qint64(s.applied)},
                                        {QStringLiteral("lastIndex"), qint64(s.lastIndex)},
                                        {QStringLiteral("recent"), recent}});
}

void Node::reportJob(const QJsonObject& job) {
    const QString state = job.value(QStringLiteral("state")).toString();
    if (state == QLatin1String("done") || state == QLatin1String("failed"))
        jobSeconds_.observe(double(job.value(QStringLiteral("elapsedMs")).toInteger()) / 1000.0);
    recordEvent(QStringLiteral("job"), {{QStringLiteral("job"), job}, {QStringLiteral("relayed"), false}});
    // Every live member shows every job: relay a compact copy (without the top words when it is large).
    QJsonObject copy = job;
    QByteArray payload = QJsonDocument(copy).toJson(QJsonDocument::Compact);
    if (payload.size() > 16384) {
        copy.remove(QStringLiteral("top"));
        payload = QJsonDocument(copy).toJson(QJsonDocument::Compact);
    }
    if (payload.size() > 65536) return;  // thousands of shards: the coordinator's own stream shows it
    relayJob(payload);
}

void Node::relayJob(const QByteArray& payload) {
    if (!raft_ || !link_) return;
    for (raft::NodeId m : liveMembers()) {
        if (m == id_) continue;
        link_->request(m, quint16(RpcMethod::JobProgress), payload, 5000, [](const net::RpcResult&) {});
    }
}

void Node::reportShard(const QJsonObject& shard) {
    recordEvent(QStringLiteral("shard"), shard);
}

}  // namespace raftwc::node
