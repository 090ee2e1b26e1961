#include "node/node.h"
#include "node/retention.h"

#include <sys/statvfs.h>
#include <QCoreApplication>
#include <QDateTime>
#include <QHostAddress>
#include <QJsonArray>
#include <QNetworkInterface>
#include <QPointer>
#include <algorithm>
#include <exception>

#include "http/http_frontend.h"
#include "net/bytes.h"
#include "net/multicast_channel.h"
#include "net/rpc_transport.h"
#include "node/api.h"
#include "node/commands.h"
#include "node/install_p.h"
#include "node/log_file_source.h"
#include "node/off_loop.h"
#include "node/qt_env.h"
#include "storage/raft_log_store.h"

namespace raftwc::node {

Node::Node(NodeOptions options, QObject* parent)
    : QObject(parent),
      opt_(std::move(options)),
      peers_(raft::kNoNode, opt_.aliveMs()),
      discovery_(raft::kNoNode, opt_.bootstrapExpect, opt_.discoveryMs) {
    qRegisterMetaType<raftwc::raft::Message>();
    qRegisterMetaType<raftwc::net::InboundRequest>();
    qRegisterMetaType<raftwc::net::Probe>();
    qRegisterMetaType<raftwc::net::Announce>();
    qRegisterMetaType<raftwc::net::Hello>();
    qRegisterMetaType<raftwc::net::FrameHeader>();
}

Node::~Node() {
    stopping_ = true;
    tickTimer_.stop();
    // Shard counting runs on worker threads and posts back to worker_: let it finish first.
    delete coordinator_;
    coordinator_ = nullptr;
    delete worker_;
    worker_ = nullptr;
    if (env_) env_->quiesce();
    delete http_;
    http_ = nullptr;
}

quint16 Node::httpPort() const {
    return http_ ? http_->port() : 0;
}
quint16 Node::rpcPort() const {
    return rpc_ ? rpc_->serverPort() : 0;
}

// ---- the Ready loop ----------------------------------------------------------------------------

void Node::onTick() {
    if (failed_ || !raft_) return;
    if (discovery_.phase() != Discovery::Phase::Discovering) raft_->tick();
    scheduleReady();
}

void Node::scheduleReady() {
    if (readyScheduled_ || failed_) return;
    readyScheduled_ = true;
    // Coalesce every input of this event-loop pass into one Ready: one fdatasync for all (group commit).
    env_->post([self = QPointer<Node>(this)] {
        if (self) self->processReady();
    });
}

void Node::processReady() {
    readyScheduled_ = false;
    if (failed_ || inReady_ || !raft_) return;
    inReady_ = true;
    // Async storage writes (rawnode.h): send what need not wait, apply what is committed and durable, and
    // queue the write; the messages that describe it go out when it is durable (onWritten).
    while (raft_->hasReady() && !failed_) {
        raft::Ready rd = raft_->ready();
        learnAddresses(rd.entries);
        for (const raft::Message& m : rd.messages)
            link_->send(m);
        for (const raft::Entry& e : rd.committedEntries)
            apply(e);
        raft_->advance();
        // A snapshot from the leader: the state machine loads it once it is durable (onWritten).
        if (rd.snapshot) restoreAfterWrite_ = std::make_pair(rd.persistToken, *rd.snapshot);
        if (rd.needsPersist()) {
            writeStarts_.emplace_back(rd.persistToken, nowMs());
            writer_->submit(std::move(rd));
        }
    }
    inReady_ = false;
    logStatusChanges();
    maybeRecordOwnAddress();
    maybeSnapshot();
}

void Node::maybeRecordOwnAddress() {
    // Every member's addresses live in the log, so any node — a restarted one included — can reach every
    // other at once. Joiners' addresses come with their AddLearner entry; the bootstrap node and a node
    // back on a different address record theirs here.
    if (discovery_.phase() != Discovery::Phase::Member || addressProposalInFlight_ ||
        nowMs() - lastAddressProposalMs_ < 2000)
        return;
    const raft::Status st = raft_->status();
    if (!st.conf.contains(id_) || st.leader == raft::kNoNode || sm_.applied() < st.commit) return;
    const MemberAddress mine{rpcAddress_, httpAddress_};
    const auto& known = sm_.memberAddresses();
    if (auto it = known.find(id_); it != known.end() && it->second == mine) return;
    addressProposalInFlight_ = true;
    lastAddressProposalMs_ = nowMs();
    proposeCommand(encodeCommand(MemberAddressUpdate{id_, mine}), [this, mine](ProposeOutcome o) {
        addressProposalInFlight_ = false;
        if (o.ok())
            qInfo().noquote() << "recorded this node's addresses in the log:" << mine.rpc << mine.http;
    });
}

void Node::apply(const raft::Entry& e) {
    const Applied changed = sm_.apply(e);
    appliedBytesSinceSnapshot_ += e.data.size();
    noteAppliedForEvents(e);
    if (changed.fileStored) queueBlob(changed.storedFileId);
    for (const QByteArray& sha : changed.unreferencedSha256)
        dropBlob(sha);
    if (!changed.deletedJobId.isEmpty()) {
        if (coordinator_) coordinator_->forget(changed.deletedJobId);
        dropTable(changed.deletedJobId);
    }
    if (changed.jobResult) {
        queueTable(changed.resultJobId);
        // A new job may push the oldest beyond the retention limits: the leader looks at once, not at its
        // next sweep (a stream of uploads would otherwise overshoot the limits by the files of half a
        // second).
        if (!retirePosted_) {
            retirePosted_ = true;
            env_->post([self = QPointer<Node>(this)] {
                if (!self) return;
                self->retirePosted_ = false;
                self->retire();
            });
        }
    }
    for (const QString& note : sm_.takeNotes())
        qWarning().noquote() << "state machine:" << note;
    if (changed.address && changed.address->first != id_)
        setPeerAddress(changed.address->first, changed.address->second.rpc, changed.address->second.http);
    if (const auto& cc = changed.confChange) {
        const QString who = nodeIdString(cc->node);
        switch (cc->type) {
            case raft::ConfChangeType::AddLearner:
                qInfo().noquote() << "member joined (learner):" << who;
                break;
            case raft::ConfChangeType::PromoteLearner:
            case raft::ConfChangeType::AddVoter:
                qInfo().noquote() << "member is now a voter:" << who;
                break;
            case raft::ConfChangeType::RemoveNode:
                qInfo().noquote() << "member left (removed):" << who;
                if (cc->node == id_) {
                    discovery_.removed();
                    qWarning().noquote() << "this node was removed from the cluster";
                } else {
                    link_->removePeer(cc->node);
                    peers_.forget(cc->node);
                }
                break;
        }
    }
    // Proposals waiting for this index (committed iff the entry has their term), then apply waiters.
    proposals_.applied(e.index, e.term, sm_.applied());
}

void Node::learnAddresses(const std::vector<raft::Entry>& entries) {
    for (const raft::Entry& e : entries) {
        if (e.type != raft::EntryType::ConfChange) continue;
        auto cc = raft::decodeConfChange(e.data);
        if (!cc || cc->context.empty() || cc->node == id_) continue;
        if (auto a = decodeMemberAddress(QByteArray::fromStdString(cc->context)))
            setPeerAddress(cc->node, a->rpc, a->http);
    }
}

void Node::setPeerAddress(raft::NodeId id, const QString& rpc, const QString& http) {
    if (peers_.setAddress(id, rpc, http) && link_) link_->setPeerAddress(id, rpc);
}

void Node::heard(raft::NodeId from, const QString& rpc, const QString& http) {
    if (from == id_ || from == raft::kNoNode) return;
    setPeerAddress(from, rpc, http);
    peers_.heard(from, nowMs());
}

void Node::onWritten(WrittenReady w, const storage::Status& st) {
    if (failed_) return;
    if (!st.ok()) {
        fatal(QStringLiteral("cannot persist the log: %1").arg(QString::fromStdString(st.message())));
        return;
    }
    for (const raft::Message& m : w.messagesAfterPersist)
        link_->send(m);
    while (!writeStarts_.empty() && writeStarts_.front().first <= w.persistToken) {
        logWriteSeconds_.observe(double(nowMs() - writeStarts_.front().second) / 1000.0);
        writeStarts_.pop_front();
    }
    if (restoreAfterWrite_ && restoreAfterWrite_->first <= w.persistToken) {
        const raft::Snapshot snap = std::move(restoreAfterWrite_->second);
        restoreAfterWrite_.reset();
        loadSnapshot(snap);  // before the core hands out the entries after it
        if (failed_) return;
    }
    raft_->persisted(w.persistToken);
    scheduleReady();  // the core may now count its own entries, commit and apply
}

void Node::fatal(const QString& message) {
    if (failed_) return;
    failed_ = true;
    qCritical().noquote() << "FATAL:" << message << "- the node stops; everything persisted before is intact";
    tickTimer_.stop();
    emit fatalError(message);
}

// ---- network input -----------------------------------------------------------------------------

void Node::receiveRaft(const raft::Message& m) {
    if (failed_ || !raft_ || m.to != id_) return;
    heard(m.from);
    if (m.type == raft::MessageType::Snapshot) {
        // Its blobs and tables are fetched first; the core takes it once they are here (node_install.cpp).
        beginInstall(m);
        return;
    }
    if (m.type == raft::MessageType::Append) discovery_.appendReceived();  // we are being added
    raft_->step(m);
    scheduleReady();
}

void Node::logStatusChanges() {
    const raft::Status st = raft_->status();
    notePhase(failed_     ? QStringLiteral("failed")
              : stopping_ ? QStringLiteral("stopping")
                          : QString::fromLatin1(Discovery::phaseName(discovery_.phase())));
    if (st.leader != lastLoggedLeader_ || st.term != lastLoggedTerm_ || st.role != lastLoggedRole_) {
        if (st.leader != lastLoggedLeader_ && lastLoggedLeader_ != raft::kNoNode)
            failForwardsTo(lastLoggedLeader_);
        if (st.leader != lastLoggedLeader_ && st.leader != raft::kNoNode) {
            ++leaderChanges_;
            qInfo().noquote() << QStringLiteral("term %1: leader is %2%3")
                                     .arg(st.term)
                                     .arg(nodeIdString(st.leader),
                                          st.leader == id_ ? QStringLiteral(" (this node)") : QString());
        }
        if (st.role == raft::Role::Leader && lastLoggedRole_ != raft::Role::Leader) sendAnnounce();
        const raft::NodeId previousLeader = lastLoggedLeader_;
        const raft::Term previousTerm = lastLoggedTerm_;
        const raft::Role previousRole = lastLoggedRole_;
        lastLoggedLeader_ = st.leader;
        lastLoggedTerm_ = st.term;
        lastLoggedRole_ = st.role;
        auto id = [](raft::NodeId n) {
            return n == raft::kNoNode ? QJsonValue() : QJsonValue(nodeIdString(n));
        };
        if (st.term != previousTerm)
            recordEvent(QStringLiteral("term"), {{QStringLiteral("previous"), qint64(previousTerm)}});
        if (st.role != previousRole)
            recordEvent(QStringLiteral("role"), {{QStringLiteral("role"), roleName(st.role)},
                                                 {QStringLiteral("previous"), roleName(previousRole)}});
        if (st.leader != previousLeader)
            recordEvent(QStringLiteral("leader"),
                        {{QStringLiteral("leader"), id(st.leader)},
                         {QStringLiteral("previous"), id(previousLeader)},
                         {QStringLiteral("leaderHttp"), st.leader == raft::kNoNode ? QJsonValue()
                                                        : st.leader == id_         ? QJsonValue(httpAddress_)
                                                        : peers_.find(st.leader)
                                                            ? QJsonValue(peers_.find(st.leader)->http)
                                                            : QJsonValue()}});
        statusEmitPending_ = true;
    }
    if (st.conf != lastLoggedConf_) {
        lastLoggedConf_ = st.conf;
        QStringList v, l;
        for (auto id : st.conf.voters)
            v << nodeIdString(id);
        for (auto id : st.conf.learners)
            l << nodeIdString(id);
        qInfo().noquote() << QStringLiteral("members: voters [%1] learners [%2]")
                                 .arg(v.join(QStringLiteral(", ")), l.join(QStringLiteral(", ")));
        std::map<raft::NodeId, bool> now;
        QJsonArray members;
        for (auto m : st.conf.voters)
            now[m] = true;
        for (auto m : st.conf.learners)
            now[m] = false;
        QStringList changes;
        for (const auto& [m, voter] : now) {
            members.append(
                QJsonObject{{QStringLiteral("id"), nodeIdString(m)}, {QStringLiteral("voter"), voter}});
            auto it = lastEventMembers_.find(m);
            if (it == lastEventMembers_.end())
                changes << (voter ? QStringLiteral("add voter %1") : QStringLiteral("add learner %1"))
                               .arg(nodeIdString(m));
            else if (voter && !it->second)
                changes << QStringLiteral("promote %1").arg(nodeIdString(m));
        }
        for (const auto& [m, voter] : lastEventMembers_)
            if (!now.count(m)) changes << QStringLiteral("remove %1").arg(nodeIdString(m));
        lastEventMembers_ = std::move(now);
        recordEvent(QStringLiteral("members"),
                    {{QStringLiteral("members"), members},
                     {QStringLiteral("change"), changes.join(QStringLiteral(", "))}});
        statusEmitPending_ = true;
    }
    statusEmitPending_ = true;  // indexes move with every Ready; emitted at most every 100 ms
}

void Node::failForwardsTo(raft::NodeId oldLeader) {
    proposals_.leaderChanged(oldLeader);
}

void Node::sweepPending() {
    proposals_.sweep(nowMs());
    retire();
    releaseStalePartials();
    maybeSnapshot();
}

void Node::retire() {
    // The leader alone decides, from the replicated state; the deletions go through the log.
    if (!raft_ || failed_ || stopping_ || raft_->status().role != raft::Role::Leader) return;
    const RetentionLimits limits{opt_.retainFiles, opt_.retainBytes, opt_.retainAgeMs};
    if (limits.files == 0 && limits.bytes == 0 && limits.ageMs == 0) return;
    for (const QByteArray& jobId : expiredJobs(sm_, limits, env_->wallMs())) {
        if (retiring_.size() >= 32) break;  // a bounded batch in flight
        if (!retiring_.insert(jobId).second) continue;
        qInfo().noquote() << "retention: deleting job" << QString::fromLatin1(jobId) << "and its file";
        proposeCommand(encodeCommand(JobDeleted{jobId}), [this, jobId](const ProposeOutcome&) {
            retiring_.erase(jobId);  // committed (gone), or tried again at the next sweep
        });
    }
}

// ---- JobHost -----------------------------------------------------------------------------------

raft::Term Node::currentTerm() const {
    return raft_ ? raft_->status().term : 0;
}

QString Node::catchingUp() const {
    if (!raft_) return {};
    const raft::Status st = raft_->status();
    // A few entries behind is normal under load; a member that was just added or replaced copies the whole
    // log first (minutes for a large one).
    constexpr raft::Index kFarBehind = 256;
    const raft::Index applied = sm_.applied();
    // A learner is still copying the log while it has heard of no commit yet or has not applied it all (a
    // caught-up learner is about to be promoted: it may take jobs).
    if (st.conf.isLearner(id_) && (st.commit == 0 || applied < st.commit))
        return QStringLiteral(
                   "this node joined the cluster and is still copying its log (applied %1 of %2 "
                   "entries); retry shortly or upload through another node")
            .arg(applied)
            .arg(st.commit);
    if (st.commit > applied + kFarBehind)
        return QStringLiteral(
                   "this node is catching up with the cluster (applied %1 of %2 entries); retry "
                   "shortly or upload through another node")
            .arg(applied)
            .arg(st.commit);
    return {};
}

bool Node::leaderKnown() const {
    if (!raft_ || failed_) return false;
    const raft::Status st = raft_->status();
    if (st.leader == raft::kNoNode) return false;
    if (st.leader == id_) return true;
    return peers_.alive(st.leader, nowMs());
}

void Node::whenApplied(raft::Index index, int timeoutMs, std::function<void(bool)> cb) {
    proposals_.whenApplied(index, sm_.applied(), std::move(cb), nowMs() + timeoutMs);
}

std::vector<raft::NodeId> Node::liveMembers() const {
    std::vector<raft::NodeId> out;
    const raft::Status st = raft_->status();
    const qint64 now = nowMs();
    auto consider = [&](raft::NodeId id) {
        if (id == id_) {
            out.push_back(id);
            return;
        }
        if (peers_.alive(id, now)) out.push_back(id);
    };
    for (auto id : st.conf.voters)
        consider(id);
    for (auto id : st.conf.learners)
        consider(id);
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<QByteArray> Node::entryPayload(raft::Index i) const {
    if (!store_ || i < store_->firstIndex() || i > store_->lastIndex()) return std::nullopt;
    try {
        const std::vector<raft::Entry> es = store_->entries(i, i + 1, SIZE_MAX);
        if (es.size() != 1) return std::nullopt;
        return QByteArray::fromStdString(es.front().data);
    } catch (const std::exception& e) {
        qWarning().noquote() << "cannot read log entry" << i << ":" << e.what();
        return std::nullopt;
    }
}

// ---- operations --------------------------------------------------------------------------------

void Node::shutdown(std::function<void()> done) {
    if (stopping_) return;
    stopping_ = true;
    discoveryTimer_.stop();
    auto finish = [this, done] {
        if (raft_ && !failed_) processReady();  // flush what is pending (persist happens synchronously)
        tickTimer_.stop();
        announceTimer_.stop();
        qInfo("stopped");
        done();
    };
    if (!raft_ || failed_ || raft_->status().role != raft::Role::Leader ||
        raft_->status().conf.voters.size() < 2) {
        finish();
        return;
    }
    transferLeadership(raft::kNoNode, [this, finish](const QString& err) {
        if (!err.isEmpty()) {
            qWarning().noquote() << "shutdown: leadership transfer not possible:" << err;
            finish();
            return;
        }
        qInfo("shutdown: transferring leadership");
        // Wait (at most ~3 s) until another node leads; the timer belongs to this node and goes with it.
        shutdownPoll_.start(*env_, 50, [this, finish, waited = 0]() mutable {
            if (raft_->status().role != raft::Role::Leader || ++waited > 60) {
                shutdownPoll_.stop();
                finish();
            }
        });
    });
}

NodeStatus Node::status() const {
    NodeStatus s;
    s.id = id_;
    s.clusterId = clusterId_;
    s.rpcAddress = rpcAddress_;
    s.httpAddress = httpAddress_;
    s.phase = failed_     ? QStringLiteral("failed")
              : stopping_ ? QStringLiteral("stopping")
                          : QString::fromLatin1(Discovery::phaseName(discovery_.phase()));
    if (!raft_) return s;
    const raft::Status st = raft_->status();
    s.role = st.role;
    s.term = st.term;
    s.leader = st.leader;
    s.commit = st.commit;
    s.applied = sm_.applied();
    s.lastIndex = st.lastIndex;
    s.electionsStarted = st.electionsStarted;
    s.leaderChanges = leaderChanges_;
    if (st.leader == id_)
        s.leaderHttp = httpAddress_;
    else if (const PeerBook::Peer* p = peers_.find(st.leader))
        s.leaderHttp = p->http;
    const qint64 now = nowMs();
    std::vector<raft::NodeId> ids = st.conf.voters;
    ids.insert(ids.end(), st.conf.learners.begin(), st.conf.learners.end());
    std::sort(ids.begin(), ids.end());
    for (raft::NodeId id : ids) {
        MemberStatus m;
        m.id = id;
        m.voter = st.conf.isVoter(id);
        m.self = id == id_;
        if (m.self) {
            m.rpc = rpcAddress_;
            m.http = httpAddress_;
            m.alive = !failed_;
            m.lastContactMs = 0;
            m.role = roleName(st.role);
            m.matchIndex = st.lastIndex;
        } else {
            if (const PeerBook::Peer* p = peers_.find(id)) {
                m.rpc = p->rpc;
                m.http = p->http;
            }
            m.lastContactMs = peers_.sinceHeardMs(id, now);
            m.alive = peers_.alive(id, now);
            m.role = id == st.leader ? QStringLiteral("leader")
                     : m.voter       ? QStringLiteral("follower")
                                     : QStringLiteral("learner");
            for (const auto& p : st.progress)
                if (p.id == id) m.matchIndex = p.match;
        }
        if (!m.voter && m.role != QLatin1String("leader")) m.role = QStringLiteral("learner");
        s.members.push_back(m);
    }
    if (coordinator_) {
        s.jobs.started = coordinator_->jobsStarted();
        s.jobs.failed = coordinator_->jobsFailed();
        s.jobs.running = coordinator_->running();
    }
    s.jobs.committed = sm_.jobs().size();
    if (worker_) {
        s.jobs.bytesCounted = worker_->bytesCounted();
        s.jobs.shardsCounted = worker_->shardsCounted();
    }
    if (link_) s.framesDropped = link_->dropCounters();
    if (disco_) s.datagramsDropped = disco_->dropCounters();
    if (store_) {
        const storage::RaftLogStore::AsyncStats w = store_->asyncStats();
        s.log.writeJobs = w.jobs;
        s.log.writes = w.writes;
        s.log.largestGroup = w.largestGroup;
        s.log.bytes = store_->log().bytes();
        s.log.segments = store_->log().segmentCount();
        s.firstIndex = store_->firstIndex();
        s.snapshotIndex = store_->snapshotIndex();
    }
    s.snapshotsTaken = snapshotsTaken_;
    s.snapshotsInstalled = snapshotsInstalled_;
    s.installing = install_ != nullptr;
    if (writer_) s.log.inFlight = writer_->inFlight();
    return s;
}

QByteArray Node::metricsText() const {
    NodeStatus s = status();
    s.version = QCoreApplication::applicationVersion();
    struct statvfs vfs {};
    if (::statvfs(opt_.dataDir.toLocal8Bit().constData(), &vfs) == 0)
        s.diskFreeBytes = qint64(vfs.f_bavail) * qint64(vfs.f_frsize);
    s.logWriteSeconds = logWriteSeconds_;
    s.commitSeconds = commitSeconds_;
    s.jobSeconds = jobSeconds_;
    s.process = ProcessStats::read();
    return node::metricsText(s);
}

}  // namespace raftwc::node
