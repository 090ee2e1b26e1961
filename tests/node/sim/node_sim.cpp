#include "node_sim.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <algorithm>
#include <sstream>

#include "node/statemachine.h"
#include "storage/raft_log_store.h"

namespace raftwc::nodesim {

// ---- World -------------------------------------------------------------------------------------

std::uint64_t World::schedule(qint64 at, int owner, std::function<void()> f) {
    const std::uint64_t id = nextId_++;
    queue_.push({std::max(at, now_), id});
    events_.emplace(id, Event{owner, std::move(f)});
    return id;
}

void World::kill(int owner) {
    dead_.insert(owner);
    std::erase_if(events_, [owner](const auto& kv) { return kv.second.owner == owner; });
}

bool World::step() {
    while (!queue_.empty()) {
        const Key k = queue_.top();
        queue_.pop();
        auto it = events_.find(k.second);
        if (it == events_.end()) continue;  // cancelled, or its owner died
        Event ev = std::move(it->second);
        events_.erase(it);
        now_ = k.first;
        ++eventsRun_;
        ev.f();
        if (afterEvent) afterEvent();
        return true;
    }
    return false;
}

void World::runFor(qint64 ms) {
    const qint64 end = now_ + ms;
    while (!queue_.empty() && queue_.top().first <= end)
        step();
    now_ = std::max(now_, end);
}

bool World::runUntil(const std::function<bool()>& pred, qint64 ms) {
    const qint64 end = now_ + ms;
    if (pred()) return true;
    while (!queue_.empty() && queue_.top().first <= end) {
        step();
        if (pred()) return true;
    }
    now_ = std::max(now_, end);
    return pred();
}

void SimEnv::offLoop(std::function<std::function<void()>()> work) {
    // A worker thread: the work runs a little later than now, then its continuation on the node's loop.
    w_.schedule(w_.now() + qint64(rng_.below(4)), owner_, [this, work = std::move(work)] {
        std::function<void()> then = work();
        if (then) post(std::move(then));
    });
}

// ---- links -------------------------------------------------------------------------------------

struct PendingRequest {
    NodeId peer = raft::kNoNode;
    std::function<void(const net::RpcResult&)> cb;
};

/// One incarnation's PeerLink: routes by node id through the cluster's network.
class SimPeerLink final : public node::PeerLink {
  public:
    SimPeerLink(Cluster& c, int index, int owner) : c_(c), index_(index), owner_(owner) {}
    void setPeerAddress(NodeId, const QString&) override {}
    void removePeer(NodeId peer) override {
        std::vector<std::uint64_t> gone;
        for (const auto& [id, p] : pending_)
            if (p.peer == peer) gone.push_back(id);
        for (std::uint64_t id : gone)
            failLater(id, net::RpcError::Disconnected);
    }
    void send(const raft::Message& m) override;
    void request(NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs,
                 std::function<void(const net::RpcResult&)> cb) override;
    void reply(const net::InboundRequest& req, quint16 status, const QByteArray& payload) override;

    /// Completes request `id` with `r` (if still pending) as a later event of this incarnation.
    void complete(std::uint64_t id, net::RpcResult r) {
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        auto cb = std::move(it->second.cb);
        pending_.erase(it);
        cb(r);
    }
    void failLater(std::uint64_t id, net::RpcError e) {
        c_.w_.schedule(c_.w_.now() + c_.latency(), owner_, [this, id, e] {
            net::RpcResult r;
            r.error = e;
            complete(id, r);
        });
    }
    /// The peer's process died: its connections reset.
    void peerCrashed(NodeId peer) { removePeer(peer); }

  private:
    Cluster& c_;
    int index_;
    int owner_;
    std::map<std::uint64_t, PendingRequest> pending_;
};

class SimDiscovery final : public node::DiscoveryLink {
  public:
    SimDiscovery(Cluster& c, int index) : c_(c), index_(index) {}
    void sendHello(const net::Hello& h) override {
        broadcast([h](node::Node& n, NodeId from) { n.receiveHello(h, from); });
    }
    void sendProbe(const net::Probe& p) override {
        broadcast([p](node::Node& n, NodeId from) { n.receiveProbe(p, from); });
    }
    void sendAnnounce(const net::Announce& a) override {
        broadcast([a](node::Node& n, NodeId from) { n.receiveAnnounce(a, from); });
    }

  private:
    void broadcast(std::function<void(node::Node&, NodeId)> deliver);
    Cluster& c_;
    int index_;
};

struct Cluster::SimNode {
    NodeId id = raft::kNoNode;
    QString dir;
    std::shared_ptr<raftsim::CrashFileOps> ops = std::make_shared<raftsim::CrashFileOps>();
    int owner = 0;
    std::unique_ptr<SimEnv> env;
    std::unique_ptr<SimPeerLink> link;
    std::unique_ptr<SimDiscovery> disco;
    std::unique_ptr<node::Node> node;
    qint64 diskFreeAt = 0;  ///< the simulated disk writes one Ready after another
    int incarnation = 0;
};

void SimPeerLink::send(const raft::Message& m) {
    const int to = c_.indexOf(m.to);
    if (to < 0 || !c_.connected(c_.id(index_), m.to)) return;
    Rng& rng = c_.w_.rng();
    if (rng.chance(c_.net_.loss)) return;
    const int copies = rng.chance(c_.net_.duplicate) ? 2 : 1;
    for (int k = 0; k < copies; ++k) {
        const int owner = c_.nodes_[std::size_t(to)].owner;
        // The event belongs to the receiver: this (the sender's link) may be gone when it runs.
        c_.w_.schedule(c_.w_.now() + c_.latency(), owner, [c = &c_, to, m] {
            ++c->counters[QStringLiteral("raft")];
            if (c->up(to)) c->node(to).receiveRaft(m);
        });
    }
}

void SimPeerLink::request(NodeId peer, quint16 method, const QByteArray& payload, int timeoutMs,
                          std::function<void(const net::RpcResult&)> cb) {
    const std::uint64_t id = c_.nextRequestId_++;
    pending_[id] = {peer, std::move(cb)};
    c_.w_.schedule(c_.w_.now() + timeoutMs, owner_, [this, id] {
        net::RpcResult r;
        r.error = net::RpcError::Timeout;
        complete(id, r);
    });
    const int to = c_.indexOf(peer);
    if (to < 0) {
        failLater(id, net::RpcError::UnknownPeer);
        return;
    }
    if (!c_.up(to)) {  // nothing listens: connection refused
        failLater(id, net::RpcError::Disconnected);
        return;
    }
    if (!c_.connected(c_.id(index_), peer)) return;  // the partition swallows it: it times out
    net::InboundRequest in;
    in.from = c_.id(index_);
    in.connectionId = quint64(owner_);  // the requester's incarnation: answers go back to it only
    in.envelope.requestId = id;
    in.envelope.method = method;
    in.envelope.payload = payload;
    const int owner = c_.nodes_[std::size_t(to)].owner;
    const int from = index_;
    c_.w_.schedule(c_.w_.now() + c_.latency(), owner, [c = &c_, to, in, from] {
        ++c->counters[QStringLiteral("request:%1").arg(in.envelope.method)];
        if (c->onRequestDelivered) c->onRequestDelivered(from, to, in.envelope.method);
        if (c->up(to)) c->node(to).receiveRequest(in);
    });
}

void SimPeerLink::reply(const net::InboundRequest& req, quint16 status, const QByteArray& payload) {
    const int to = c_.indexOf(req.from);
    if (to < 0 || !c_.connected(c_.id(index_), req.from)) return;
    Cluster::SimNode& n = c_.nodes_[std::size_t(to)];
    if (n.owner != int(req.connectionId) || !n.link)
        return;  // the requester restarted: its connection is gone
    net::RpcResult r;
    r.response.requestId = req.envelope.requestId;
    r.response.method = req.envelope.method;
    r.response.status = status;
    r.response.payload = payload;
    SimPeerLink* link = n.link.get();
    c_.w_.schedule(c_.w_.now() + c_.latency(), n.owner,
                   [link, id = req.envelope.requestId, r] { link->complete(id, r); });
}

void SimDiscovery::broadcast(std::function<void(node::Node&, NodeId)> deliver) {
    const NodeId from = c_.id(index_);
    for (int j = 0; j < c_.size(); ++j) {
        if (j == index_ || !c_.up(j) || !c_.connected(from, c_.id(j))) continue;
        if (c_.w_.rng().chance(c_.net_.loss)) continue;
        c_.w_.schedule(c_.w_.now() + c_.latency(), c_.nodes_[std::size_t(j)].owner,
                       [c = &c_, j, from, deliver] {
                           if (c->up(j)) deliver(c->node(j), from);
                       });
    }
}

// ---- cluster -----------------------------------------------------------------------------------

Cluster::Cluster(Options o) : opt_(o), w_(raftsim::mixSeed(o.seed, 0x51)) {
    nodes_.resize(std::size_t(o.nodes));
    for (int i = 0; i < o.nodes; ++i) {
        nodes_[std::size_t(i)].id = NodeId(0x100 * (i + 1) + 0x11);
        nodes_[std::size_t(i)].dir = dir_.filePath(QStringLiteral("n%1").arg(i));
    }
    w_.afterEvent = [this] { checkInvariants(); };
}

Cluster::~Cluster() {
    for (int i = 0; i < size(); ++i)
        if (up(i)) crash(i);
}

int Cluster::size() const {
    return int(nodes_.size());
}
NodeId Cluster::id(int i) const {
    return nodes_[std::size_t(i)].id;
}
bool Cluster::up(int i) const {
    return nodes_[std::size_t(i)].node != nullptr;
}
int Cluster::incarnation(int i) const {
    return nodes_[std::size_t(i)].incarnation;
}
node::Node& Cluster::node(int i) const {
    return *nodes_[std::size_t(i)].node;
}

int Cluster::indexOf(NodeId id) const {
    for (int i = 0; i < size(); ++i)
        if (nodes_[std::size_t(i)].id == id) return i;
    return -1;
}

qint64 Cluster::latency() {
    return qint64(w_.rng().range(std::uint64_t(net_.minLatencyMs), std::uint64_t(net_.maxLatencyMs)));
}

bool Cluster::connected(NodeId a, NodeId b) const {
    return !cuts_.count({std::min(a, b), std::max(a, b)});
}

void Cluster::cut(int i, int j, bool down) {
    const NodeId a = id(i), b = id(j);
    const auto key = std::make_pair(std::min(a, b), std::max(a, b));
    if (down)
        cuts_.insert(key);
    else
        cuts_.erase(key);
}

void Cluster::isolate(int i) {
    for (int j = 0; j < size(); ++j)
        if (j != i) cut(i, j);
}

void Cluster::heal() {
    cuts_.clear();
    net_.loss = 0;
    net_.duplicate = 0;
}

void Cluster::startNode(int i) {
    SimNode& n = nodes_[std::size_t(i)];
    n.owner = w_.newOwner();
    ++n.incarnation;
    n.env = std::make_unique<SimEnv>(w_, n.owner,
                                     raftsim::mixSeed(opt_.seed, n.id, std::uint64_t(n.incarnation)));
    n.link = std::make_unique<SimPeerLink>(*this, i, n.owner);
    n.disco = std::make_unique<SimDiscovery>(*this, i);
    node::NodeOptions o;
    o.dataDir = n.dir;
    o.nodeId = n.id;
    o.bootstrapExpect = size();
    if (opt_.snapshotBytes > 0) o.snapshotBytes = opt_.snapshotBytes;
    storage::RaftLogStoreOptions so;
    so.dir = n.dir.toStdString();
    so.fileOps = n.ops;
    so.segmentBytes = 256 << 10;  // several segments per run
    auto opened = storage::RaftLogStore::open(so);
    if (!opened.ok()) {
        violation_ += QStringLiteral("node %1 cannot open its log after a crash: %2\n")
                          .arg(i)
                          .arg(QString::fromStdString(opened.status().message()));
        return;
    }
    node::NodeIo io;
    io.store = opened.take();
    storage::RaftLogStore* store = io.store.get();
    io.env = n.env.get();
    io.peers = n.link.get();
    io.discovery = n.disco.get();
    io.rpcAddress = QStringLiteral("10.0.0.%1:7000").arg(i + 1);
    io.httpAddress = QStringLiteral("10.0.0.%1:3000").arg(i + 1);
    // The disk: each Ready is written (synchronously, on the simulated writer) 0–4 ms after the previous.
    const int owner = n.owner;
    io.persist = [this, i, store, owner](std::optional<raft::Snapshot> snap,
                                         std::optional<raft::HardState> hs, std::vector<raft::Entry> entries,
                                         std::function<void(const storage::Status&)> done) {
        SimNode& sn = nodes_[std::size_t(i)];
        sn.diskFreeAt = std::max(sn.diskFreeAt, w_.now()) + qint64(w_.rng().below(5));
        w_.schedule(sn.diskFreeAt, owner,
                    [store, snap = std::move(snap), hs = std::move(hs), entries = std::move(entries),
                     done = std::move(done)] { done(store->persist(snap, hs, entries)); });
    };
    n.node = std::make_unique<node::Node>(o);
    QString err;
    if (!n.node->startWith(std::move(io), &err)) {
        violation_ += QStringLiteral("node %1 failed to start: %2\n").arg(i).arg(err);
        n.node.reset();
        return;
    }
    node::JobCoordinator& jc = n.node->coordinator();
    jc.chunkBytes = opt_.chunkBytes;
    jc.chunkWindow = opt_.chunkWindow;
    jc.minShardBytes = opt_.minShardBytes;
}

bool Cluster::form(qint64 withinMs) {
    for (int i = 0; i < size(); ++i)
        startNode(i);
    return w_.runUntil(
        [this] {
            const int l = leader();
            if (l < 0) return false;
            const node::NodeStatus s = node(l).status();
            if (int(s.members.size()) != size()) return false;
            return std::all_of(s.members.begin(), s.members.end(),
                               [](const node::MemberStatus& m) { return m.voter; });
        },
        withinMs);
}

void Cluster::crash(int i) {
    SimNode& n = nodes_[std::size_t(i)];
    if (!n.node) return;
    w_.kill(n.owner);
    n.node.reset();  // closes its files
    n.link.reset();
    n.disco.reset();
    n.env.reset();
    n.diskFreeAt = 0;
    n.ops->crash(w_.rng());  // what was not synced may be lost or torn
    for (int j = 0; j < size(); ++j)
        if (j != i && nodes_[std::size_t(j)].link) nodes_[std::size_t(j)].link->peerCrashed(n.id);
}

void Cluster::restart(int i) {
    if (!up(i)) startNode(i);
}

int Cluster::leader() const {
    int best = -1;
    raft::Term bestTerm = 0;
    for (int i = 0; i < size(); ++i) {
        if (!nodes_[std::size_t(i)].node) continue;
        const node::NodeStatus s = nodes_[std::size_t(i)].node->status();
        if (s.role == raft::Role::Leader && s.term >= bestTerm) best = i, bestTerm = s.term;
    }
    return best;
}

void Cluster::checkInvariants() {
    for (int i = 0; i < size(); ++i) {
        if (!nodes_[std::size_t(i)].node) continue;
        const node::NodeStatus s = nodes_[std::size_t(i)].node->status();
        if (s.role != raft::Role::Leader) continue;
        auto [it, fresh] = leaders_.emplace(s.term, s.id);
        if (!fresh && it->second != s.id)
            violation_ += QStringLiteral("two leaders in term %1: %2 and %3 (t=%4 ms)\n")
                              .arg(s.term)
                              .arg(node::nodeIdString(it->second), node::nodeIdString(s.id))
                              .arg(w_.now());
    }
}

std::size_t Cluster::upload(int i, QByteArray text, QString jobId) {
    const std::size_t k = uploads_.size();
    UploadRecord rec;
    rec.node = i;
    rec.text = text;
    rec.jobId = jobId.isEmpty() ? QStringLiteral("sim-job-%1").arg(k, 4, 10, QLatin1Char('0')) : jobId;
    rec.sentMs = w_.now();
    rec.incarnation = up(i) ? incarnation(i) : 0;
    uploads_.push_back(rec);
    if (!up(i)) return k;  // connection refused: no answer
    http::Upload up;
    up.data = std::move(text);
    up.length = up.data.size();
    up.name = QStringLiteral("file-%1.txt").arg(k);
    up.mode = QStringLiteral("normalized");
    up.jobId = rec.jobId;
    // The client holds the connection: the answer is recorded whenever it comes (never, if the node dies).
    node(i).coordinator().count(std::move(up), [this, k, i](node::JobOutcome o) {
        uploads_[k].visibleAtAnswer = this->up(i) && node(i).stateMachine().job(uploads_[k].jobId.toLatin1());
        uploads_[k].outcome = std::move(o);
        uploads_[k].answeredMs = w_.now();
    });
    return k;
}

bool Cluster::converge(qint64 withinMs) {
    heal();
    for (int i = 0; i < size(); ++i)
        restart(i);
    return w_.runUntil(
        [this] {
            const int l = leader();
            if (l < 0) return false;
            const node::NodeStatus ls = node(l).status();
            if (ls.commit == 0) return false;
            for (int i = 0; i < size(); ++i) {
                const node::NodeStatus s = node(i).status();
                if (s.leader != ls.id || s.applied != ls.commit || s.lastIndex != ls.lastIndex) return false;
            }
            return true;
        },
        withinMs);
}

Reference referenceCount(const QByteArray& text) {
    Reference r;
    std::set<QByteArray> seen;
    QByteArray word;
    for (char c : text) {
        if (c == '\n') ++r.lines;
        if (c == ' ' || c == '\n' || c == '\t') {
            if (!word.isEmpty()) ++r.words, seen.insert(word), word.clear();
        } else {
            word.append(c);
        }
    }
    if (!word.isEmpty()) ++r.words, seen.insert(word);
    r.unique = seen.size();
    return r;
}

QByteArray makeText(Rng& rng, std::size_t bytes) {
    static const char* kVocab[] = {"the",   "of",       "and",       "raft",      "log",   "term",
                                   "vote",  "leader",   "follower",  "commit",    "index", "shard",
                                   "count", "word",     "quorum",    "heartbeat", "a",     "snapshot",
                                   "entry", "election", "candidate", "majority",  "disk"};
    constexpr std::size_t kN = sizeof kVocab / sizeof kVocab[0];
    QByteArray out;
    out.reserve(qsizetype(bytes));
    while (std::size_t(out.size()) < bytes) {
        // Zipf-ish: small indexes far more often; sometimes a made-up word (more distinct words).
        const std::size_t k = std::size_t(rng.below(kN) * rng.below(kN) / kN);
        if (rng.chance(0.05)) {
            out += "w" + QByteArray::number(qulonglong(rng.below(5000)));
        } else {
            out += kVocab[k];
        }
        const std::uint64_t sep = rng.below(20);
        out += sep == 0 ? "\n" : sep == 1 ? "\t" : sep == 2 ? "  " : " ";
    }
    out.truncate(qsizetype(bytes));  // may cut a word or end without a newline: both must count right
    return out;
}

QString Cluster::checkConsistent() const {
    QString out;
    // 1. Every answered upload: Done results are exact; the result is committed.
    for (std::size_t k = 0; k < uploads_.size(); ++k) {
        const UploadRecord& u = uploads_[k];
        if (!u.outcome || !u.outcome->ok()) continue;
        const Reference ref = referenceCount(u.text);
        const QJsonObject& r = u.outcome->result;
        const auto num = [&r](const char* key) {
            return std::uint64_t(r.value(QLatin1String(key)).toInteger());
        };
        if (num("words") != ref.words || num("lines") != ref.lines || num("uniqueWords") != ref.unique ||
            num("bytes") != std::uint64_t(u.text.size()))
            out +=
                QStringLiteral(
                    "upload %1 (%2): answered words %3 lines %4 unique %5 bytes %6; expected %7 %8 %9 %10\n")
                    .arg(k)
                    .arg(u.jobId)
                    .arg(num("words"))
                    .arg(num("lines"))
                    .arg(num("uniqueWords"))
                    .arg(num("bytes"))
                    .arg(ref.words)
                    .arg(ref.lines)
                    .arg(ref.unique)
                    .arg(u.text.size());
        if (!u.visibleAtAnswer)
            out += QStringLiteral("upload %1: answered 200 before its node had applied the result\n").arg(k);
        const QByteArray sha = QCryptographicHash::hash(u.text, QCryptographicHash::Sha256).toHex();
        if (r.value(QLatin1String("sha256")).toString().toLatin1() != sha)
            out += QStringLiteral("upload %1: answered sha256 differs from the bytes sent\n").arg(k);
        for (int i = 0; i < size(); ++i) {
            const node::StoredJob* j = nodes_[std::size_t(i)].node->stateMachine().job(u.jobId.toLatin1());
            if (!j)
                out += QStringLiteral("upload %1 answered 200 but node %2 has no committed job %3\n")
                           .arg(k)
                           .arg(i)
                           .arg(u.jobId);
            else if (j->result != r)
                out +=
                    QStringLiteral("upload %1: node %2 committed a different result than the one answered\n")
                        .arg(k)
                        .arg(i);
        }
    }
    // 2. Every node holds the same files and jobs, and every file's bytes match its checksum everywhere.
    const node::StateMachine& ref = nodes_[0].node->stateMachine();
    for (int i = 0; i < size(); ++i) {
        node::Node& n = *nodes_[std::size_t(i)].node;
        const node::StateMachine& sm = n.stateMachine();
        const auto jobs = sm.jobs();
        if (jobs.size() != ref.jobs().size())
            out += QStringLiteral("node %1 has %2 jobs, node 0 has %3\n")
                       .arg(i)
                       .arg(jobs.size())
                       .arg(ref.jobs().size());
        for (const node::StoredJob* j : jobs) {
            const node::StoredJob* o = ref.job(j->jobId);
            if (!o || o->result != j->result || o->index != j->index || o->pieces.size() != j->pieces.size())
                out += QStringLiteral("node %1: job %2 differs from node 0's\n")
                           .arg(i)
                           .arg(QString::fromLatin1(j->jobId));
            const node::StoredFile* f = sm.fileForJob(j->jobId);
            if (!f) {
                out +=
                    QStringLiteral("node %1: job %2 has no file\n").arg(i).arg(QString::fromLatin1(j->jobId));
                continue;
            }
            const node::StoredFile* rf = ref.file(f->id);
            if (!rf || rf->sha256 != f->sha256 || rf->size != f->size ||
                rf->manifestIndex != f->manifestIndex)
                out += QStringLiteral("node %1: file of job %2 differs from node 0's\n")
                           .arg(i)
                           .arg(QString::fromLatin1(j->jobId));
            std::string bytes(f->size, '\0');
            if (!n.storedFileSource(*f)->read(0, bytes.size(), bytes.data()))
                out += QStringLiteral("node %1: cannot read the file of job %2\n")
                           .arg(i)
                           .arg(QString::fromLatin1(j->jobId));
            else if (QCryptographicHash::hash(QByteArrayView(bytes.data(), qsizetype(bytes.size())),
                                              QCryptographicHash::Sha256) != f->sha256)
                out += QStringLiteral("node %1: the stored bytes of job %2 do not match its sha256\n")
                           .arg(i)
                           .arg(QString::fromLatin1(j->jobId));
        }
    }
    return out;
}

std::string Cluster::trace() const {
    std::ostringstream o;
    o << "t=" << w_.now() << " ms, events " << w_.eventsRun() << "\n";
    for (int i = 0; i < size(); ++i) {
        if (!nodes_[std::size_t(i)].node) {
            o << "  node " << i << ": down\n";
            continue;
        }
        const node::NodeStatus s = nodes_[std::size_t(i)].node->status();
        o << "  node " << i << " " << node::nodeIdString(s.id).toStdString() << " " << s.phase.toStdString()
          << " " << node::roleName(s.role).toStdString() << " term " << s.term << " leader "
          << node::nodeIdString(s.leader).toStdString() << " commit " << s.commit << " applied " << s.applied
          << " last " << s.lastIndex << "\n";
    }
    for (std::size_t k = 0; k < uploads_.size(); ++k) {
        const UploadRecord& u = uploads_[k];
        o << "  upload " << k << " at node " << u.node << " t=" << u.sentMs << " " << u.text.size() << " B: "
          << (!u.outcome ? std::string("no answer")
              : u.outcome->ok()
                  ? "done at t=" + std::to_string(u.answeredMs)
                  : QString(u.outcome->code + QStringLiteral(": ") + u.outcome->message).toStdString())
          << "\n";
    }
    return o.str();
}

}  // namespace raftwc::nodesim
