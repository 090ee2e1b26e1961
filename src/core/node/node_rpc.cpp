// The node's RPC service and its client side: answers the app RPCs of other nodes (forwarded proposals,
// joins, shards, membership operations) and makes them (proposals forwarded to the leader, shard requests,
// membership operations run on the leader).
#include <algorithm>

#include <QJsonDocument>
#include "net/bytes.h"

#include "net/rpc_transport.h"
#include "node/commands.h"
#include "node/node.h"
#include "node/off_loop.h"

namespace raftwc::node {

namespace {

QByteArray u64Payload(quint64 v) {
    net::ByteWriter w;
    w.u64(v);
    return w.take();
}

std::optional<quint64> readU64(const QByteArray& b) {
    net::ByteReader r(b);
    const quint64 v = r.u64();
    if (!r.atEnd()) return std::nullopt;
    return v;
}

}  // namespace

void Node::receiveRequest(const net::InboundRequest& req) {
    if (!raft_) return;
    heard(req.from);
    const auto method = RpcMethod(req.envelope.method);
    auto replyStatus = [this, req](quint16 status, const QByteArray& payload = {}) {
        link_->reply(req, status, payload);
    };
    switch (method) {
        case RpcMethod::ForwardPropose: {
            if (failed_ || req.envelope.payload.size() > kMaxEntryBytes)
                return replyStatus(quint16(NodeRpcStatus::Failed));
            const raft::ProposeResult r = raft_->propose(req.envelope.payload.toStdString());
            if (!r.ok()) {
                return replyStatus(r.code == raft::ProposeResult::Code::NotLeader
                                       ? quint16(net::RpcStatus::NotLeader)
                                       : quint16(NodeRpcStatus::Retry),
                                   u64Payload(r.leaderHint));
            }
            proposals_.proposed(
                r.index, r.term,
                [this, req](ProposeOutcome o) {
                    net::ByteWriter w;
                    w.u64(o.term);
                    w.u64(o.index);
                    link_->reply(req, o.ok() ? quint16(net::RpcStatus::Ok) : quint16(NodeRpcStatus::Retry),
                                 w.take());
                },
                nowMs() + kProposalTimeoutMs);
            scheduleReady();
            return;
        }
        case RpcMethod::Join: {
            auto addr = decodeMemberAddress(req.envelope.payload);
            if (!addr) return replyStatus(quint16(net::RpcStatus::BadRequest));
            const raft::Status st = raft_->status();
            if (st.role != raft::Role::Leader)
                return replyStatus(quint16(net::RpcStatus::NotLeader), u64Payload(st.leader));
            setPeerAddress(req.from, addr->rpc, addr->http);
            if (st.conf.contains(req.from)) return replyStatus(quint16(net::RpcStatus::Ok));
            raft::ConfChange cc{raft::ConfChangeType::AddLearner, req.from,
                                encodeMemberAddress(*addr).toStdString()};
            const raft::ProposeResult r = raft_->proposeConfChange(cc);
            scheduleReady();
            if (r.ok())
                qInfo().noquote() << "join request from" << nodeIdString(req.from) << "at" << addr->rpc
                                  << "- adding it as a learner";
            return replyStatus(r.ok() ? quint16(net::RpcStatus::Ok) : quint16(NodeRpcStatus::Retry));
        }
        case RpcMethod::Shard: {
            auto sr = decodeShardRequest(req.envelope.payload);
            if (!sr) return replyStatus(quint16(net::RpcStatus::BadRequest));
            const raft::NodeId coordinator = req.from;
            worker_->handle(
                *sr,
                [this, coordinator](const ShardProgressNote& note) {
                    link_->request(coordinator, quint16(RpcMethod::ShardProgress), encodeShardProgress(note),
                                   5000, [](const net::RpcResult&) {});
                },
                [this, req](ShardReply reply) {
                    // A frequency table of millions of words: encode it off the event loop.
                    runOffLoop(
                        *env_, QPointer<Node>(this),
                        [reply = std::move(reply)] { return encodeShardReplyBounded(reply); },
                        [this, req](QByteArray bytes) {
                            link_->reply(req, quint16(net::RpcStatus::Ok), bytes);
                        });
                });
            return;
        }
        case RpcMethod::JobProgress: {
            // Another member's job, for this node's event stream (authenticated like every frame).
            QJsonParseError err{};
            const QJsonDocument doc = QJsonDocument::fromJson(req.envelope.payload, &err);
            if (err.error != QJsonParseError::NoError || !doc.isObject() ||
                !doc.object().value(QStringLiteral("id")).isString())
                return replyStatus(quint16(net::RpcStatus::BadRequest));
            recordEvent(QStringLiteral("job"),
                        {{QStringLiteral("job"), doc.object()}, {QStringLiteral("relayed"), true}});
            return replyStatus(quint16(net::RpcStatus::Ok));
        }
        case RpcMethod::ShardProgress: {
            if (auto note = decodeShardProgress(req.envelope.payload)) coordinator_->onProgress(*note);
            return replyStatus(quint16(net::RpcStatus::Ok));
        }
        case RpcMethod::FetchBlob:
            return serveFetch(req);
        case RpcMethod::RemoveMember:
        case RpcMethod::TransferLeader: {
            auto target = readU64(req.envelope.payload);
            if (!target) return replyStatus(quint16(net::RpcStatus::BadRequest));
            auto cb = [this, req](QString error) {
                link_->reply(req,
                             error.isEmpty() ? quint16(net::RpcStatus::Ok) : quint16(NodeRpcStatus::Failed),
                             error.toUtf8());
            };
            if (method == RpcMethod::RemoveMember)
                removeMember(*target, cb);
            else
                transferLeadership(*target, cb);
            return;
        }
    }
    replyStatus(quint16(net::RpcStatus::UnknownMethod));
}

void Node::proposeCommand(QByteArray command, std::function<void(ProposeOutcome)> done) {
    // Commit latency for /metrics: from here to the answer, when it committed.
    done = [this, started = nowMs(), done = std::move(done)](ProposeOutcome o) {
        if (o.ok()) commitSeconds_.observe(double(nowMs() - started) / 1000.0);
        done(std::move(o));
    };
    if (command.size() > kMaxEntryBytes) {
        done({ProposeOutcome::Code::Failed, 0, 0,
              QStringLiteral("entry of %1 bytes exceeds the %2-byte limit")
                  .arg(command.size())
                  .arg(kMaxEntryBytes)});
        return;
    }
    if (failed_) {
        done({ProposeOutcome::Code::Failed, 0, 0, QStringLiteral("node stopped")});
        return;
    }
    const raft::Status st = raft_->status();
    if (st.role == raft::Role::Leader) {
        const raft::ProposeResult r = raft_->propose(command.toStdString());
        if (r.ok()) {
            proposals_.proposed(r.index, r.term, std::move(done), nowMs() + kProposalTimeoutMs);
            scheduleReady();
            return;
        }
        done({ProposeOutcome::Code::NoLeader, 0, 0, QStringLiteral("leadership is being transferred")});
        return;
    }
    if (st.leader == raft::kNoNode) {
        done({ProposeOutcome::Code::NoLeader, 0, 0, QStringLiteral("no leader")});
        return;
    }
    // Remember the forward: if the leader changes before it answers (it died, or lost an election), the
    // proposal is failed at once so the caller retries with the new leader instead of waiting for the
    // RPC timeout (requests queued for a dead peer only time out).
    const std::uint64_t key = proposals_.forwarded(st.leader, std::move(done));
    link_->request(
        st.leader, quint16(RpcMethod::ForwardPropose), command, kForwardTimeoutMs,
        [this, key](const net::RpcResult& r) {
            if (!r.ok()) {
                proposals_.forwardAnswered(
                    key, {ProposeOutcome::Code::Failed, 0, 0, QString(net::rpcErrorName(r.error))});
                return;
            }
            if (r.response.status == quint16(net::RpcStatus::NotLeader)) {
                proposals_.forwardAnswered(
                    key, {ProposeOutcome::Code::NoLeader, 0, 0, QStringLiteral("the leader changed")});
                return;
            }
            net::ByteReader rd(r.response.payload);
            ProposeOutcome o;
            o.term = rd.u64();
            o.index = rd.u64();
            o.code = r.response.status == quint16(net::RpcStatus::Ok) && rd.atEnd()
                         ? ProposeOutcome::Code::Committed
                         : ProposeOutcome::Code::Failed;
            if (!o.ok())
                o.error = QStringLiteral("the leader could not commit it (status %1)").arg(r.response.status);
            proposals_.forwardAnswered(key, std::move(o));  // false: already failed on a leader change
        });
}

void Node::sendShard(raft::NodeId to, const ShardRequest& req, int timeoutMs,
                     std::function<void(ShardReply)> done) {
    if (to == id_) {
        worker_->handle(
            req, [this](const ShardProgressNote& n) { coordinator_->onProgress(n); }, std::move(done));
        return;
    }
    link_->request(
        to, quint16(RpcMethod::Shard), encodeShardRequest(req), timeoutMs,
        [this, done = std::move(done)](const net::RpcResult& r) {
            if (!r.ok()) {
                done({false, QStringLiteral("rpc %1").arg(QString(net::rpcErrorName(r.error))), {}, 0});
                return;
            }
            if (r.response.status != quint16(net::RpcStatus::Ok)) {
                done({false, QStringLiteral("bad shard reply (status %1)").arg(r.response.status), {}, 0});
                return;
            }
            // Decoding a table of millions of words runs off the event loop.
            runOffLoop(
                *env_, QPointer<Node>(this),
                [payload = r.response.payload] { return decodeShardReply(payload); },
                [done](std::optional<ShardReply> reply) {
                    if (!reply) {
                        done({false, QStringLiteral("bad shard reply (undecodable)"), {}, 0});
                        return;
                    }
                    done(std::move(*reply));
                });
        });
}

void Node::forwardToLeader(raft::NodeId leader, RpcMethod method, raft::NodeId arg,
                           std::function<void(QString)> done) {
    if (leader == raft::kNoNode) return done(QStringLiteral("no leader"));
    link_->request(leader, quint16(method), u64Payload(arg), 10000, [done](const net::RpcResult& r) {
        if (!r.ok())
            return done(QStringLiteral("leader unreachable: %1").arg(QString(net::rpcErrorName(r.error))));
        done(r.response.status == 0 ? QString() : QString::fromUtf8(r.response.payload));
    });
}

void Node::removeMember(raft::NodeId member, std::function<void(QString)> done) {
    const raft::Status st = raft_->status();
    if (st.role != raft::Role::Leader) {
        return forwardToLeader(st.leader, RpcMethod::RemoveMember, member, std::move(done));
    }
    if (!st.conf.contains(member))
        return done(QStringLiteral("%1 is not a member").arg(nodeIdString(member)));
    const raft::ProposeResult r = raft_->proposeConfChange({raft::ConfChangeType::RemoveNode, member, {}});
    scheduleReady();
    if (!r.ok()) return done(QStringLiteral("another membership change is in progress; retry"));
    proposals_.proposed(
        r.index, r.term, [done](ProposeOutcome o) { done(o.ok() ? QString() : o.error); },
        nowMs() + kProposalTimeoutMs);
}

void Node::transferLeadership(raft::NodeId to, std::function<void(QString)> done) {
    const raft::Status st = raft_->status();
    if (st.role != raft::Role::Leader) {
        return forwardToLeader(st.leader, RpcMethod::TransferLeader, to, std::move(done));
    }
    if (to == raft::kNoNode) {  // the most up-to-date other voter
        raft::Index best = 0;
        for (const auto& p : st.progress)
            if (p.voter && p.id != id_ && p.match >= best) best = p.match, to = p.id;
    }
    if (to == raft::kNoNode || !raft_->transferLeadership(to))
        return done(QStringLiteral("cannot transfer leadership to %1").arg(nodeIdString(to)));
    scheduleReady();
    done({});
}

}  // namespace raftwc::node
