// Node wiring: opens the data directory, builds the consensus core, the transports, the HTTP front end
// and the job parts, and connects them (the node's other files hold what each part does).
#include <QHostAddress>
#include <QNetworkInterface>
#include <QRandomGenerator>

#include "http/http_frontend.h"
#include "net/multicast_channel.h"
#include "net/rpc_transport.h"
#include "node/api.h"
#include "node/node.h"
#include "node/qt_env.h"
#include "storage/raft_log_store.h"

namespace raftwc::node {

namespace {
bool failWith(QString* error, const QString& message) {
    if (error) *error = message;
    return false;
}
}  // namespace

QString Node::advertisedHost() const {
    if (!opt_.advertise.isEmpty()) return opt_.advertise;
    const QHostAddress bound(opt_.rpc.host);
    if (!bound.isNull() && bound != QHostAddress::AnyIPv4 && bound != QHostAddress::Any)
        return bound.toString();
    QString ifname = channel_ ? channel_->interfaceName() : QString();
    const QNetworkInterface iface = QNetworkInterface::interfaceFromName(ifname);
    for (const QNetworkAddressEntry& e : iface.addressEntries())
        if (e.ip().protocol() == QAbstractSocket::IPv4Protocol) return e.ip().toString();
    return QStringLiteral("127.0.0.1");
}

bool Node::start(QString* error) {
    auto fail = [error](const QString& m) { return failWith(error, m); };
    // 1. The data directory: lock, hard state, log recovery.
    storage::RaftLogStoreOptions so;
    so.dir = opt_.dataDir.toStdString();
    so.segmentBytes = std::uint64_t(opt_.segmentBytes);
    so.logger = [](storage::LogLevel level, std::string_view msg) {
        const QString m = QString::fromUtf8(msg.data(), qsizetype(msg.size()));
        if (level == storage::LogLevel::Error)
            qCritical().noquote() << "storage:" << m;
        else if (level == storage::LogLevel::Warning)
            qWarning().noquote() << "storage:" << m;
        else if (level == storage::LogLevel::Info)
            qInfo().noquote() << "storage:" << m;
        else
            qDebug().noquote() << "storage:" << m;
    };
    auto opened = storage::RaftLogStore::open(so);
    if (!opened.ok()) return fail(QString::fromStdString(opened.status().message()));
    if (!adopt(opened.take(), error)) return false;

    // 2. The Qt I/O: event loop and worker threads, transports. The same incarnation identifies this
    // process on both.
    ownedEnv_ = std::make_unique<QtNodeEnv>();
    env_ = ownedEnv_.get();
    net::AuthConfig auth;
    auth.key = opt_.clusterKey;
    auth.self = id_;
    auth.incarnation = net::randomIncarnation();
    net::MulticastConfig mc;
    mc.group = QHostAddress(opt_.group.host);
    mc.port = opt_.group.port;
    mc.interfaceName = opt_.interfaceName;
    mc.ttl = opt_.ttl;
    for (const HostPort& p : opt_.peers)
        mc.staticPeers.push_back(net::HostPort{p.host, p.port});
    channel_ = new net::MulticastChannel(mc, auth, this);
    QString err;
    if (!channel_->open(&err)) return fail(QStringLiteral("discovery channel: %1").arg(err));

    net::RpcConfig rpcc;
    rpcc.listenAddress = QHostAddress(opt_.rpc.host);
    rpcc.listenPort = opt_.rpc.port;
    rpcc.seed = id_;
    // A peer that was down must be reachable again within an election: reconnect attempts never wait
    // longer than half the minimum election timeout (a refused connect on a LAN costs nothing).
    rpcc.backoffMaxMs = std::max(20, opt_.electionMinMs / 2);
    rpcc.backoffInitialMs = std::min(rpcc.backoffInitialMs, std::max(10, rpcc.backoffMaxMs / 4));
    rpc_ = new net::RpcTransport(rpcc, auth, this);
    if (!rpc_->listen(&err))
        return fail(QStringLiteral("RPC listener on %1: %2").arg(opt_.rpc.toString(), err));
    ownedLink_ = std::make_unique<RpcPeerLink>(*rpc_);
    ownedDisco_ = std::make_unique<ChannelDiscoveryLink>(*channel_);
    link_ = ownedLink_.get();
    disco_ = ownedDisco_.get();

    const QString host = advertisedHost();
    rpcAddress_ = HostPort{host, rpc_->serverPort()}.toString();

    // 3. HTTP.
    api_ = std::make_unique<NodeApi>(*this);
    http_ = new http::HttpFrontend(api_.get(), this);
    http_->setMaxUpload(opt_.maxUpload);
    http_->setMaxConnections(opt_.maxConnections);
    http_->setMaxConcurrentUploads(opt_.maxConcurrentUploads);
    http_->setMaxUploadBytesInFlight(opt_.maxUploadInflight);
    http_->setMinBodyRate(opt_.minUploadRate);
    http_->setHeadTimeoutMs(opt_.headTimeoutMs);
    if (!http_->listen(QHostAddress(opt_.http.host), opt_.http.port, &err))
        return fail(QStringLiteral("HTTP listener on %1: %2").arg(opt_.http.toString(), err));
    httpAddress_ = HostPort{host, http_->port()}.toString();

    connect(rpc_, &net::RpcTransport::raftMessageReceived, this, &Node::receiveRaft);
    connect(rpc_, &net::RpcTransport::appRequestReceived, this, &Node::receiveRequest);
    connect(channel_, &net::MulticastChannel::probeReceived, this,
            [this](const net::Probe& p, const net::FrameHeader& h, const QHostAddress&) {
                receiveProbe(p, h.sender);
            });
    connect(channel_, &net::MulticastChannel::announceReceived, this,
            [this](const net::Announce& a, const net::FrameHeader& h, const QHostAddress&) {
                receiveAnnounce(a, h.sender);
            });
    connect(channel_, &net::MulticastChannel::helloReceived, this,
            [this](const net::Hello& hl, const net::FrameHeader& h, const QHostAddress&) {
                receiveHello(hl, h.sender);
            });

    // 4. Consensus, jobs, timers.
    return startCore({}, error);
}

bool Node::startWith(NodeIo io, QString* error) {
    if (!io.store || !io.env || !io.peers || !io.discovery)
        return failWith(error, QStringLiteral("startWith: incomplete I/O"));
    env_ = io.env;
    link_ = io.peers;
    disco_ = io.discovery;
    if (!adopt(std::move(io.store), error)) return false;
    rpcAddress_ = io.rpcAddress;
    httpAddress_ = io.httpAddress;
    return startCore(std::move(io.persist), error);
}

bool Node::adopt(std::unique_ptr<storage::RaftLogStore> store, QString* error) {
    auto fail = [error](const QString& m) { return failWith(error, m); };
    store_ = std::move(store);
    auto blobs = storage::BlobStore::open(storage::FileOps::posix(), opt_.dataDir.toStdString());
    if (!blobs.ok()) return fail(QString::fromStdString(blobs.status().message()));
    blobs_ = std::shared_ptr<storage::BlobStore>(blobs.take().release());
    auto tables = storage::BlobStore::open(storage::FileOps::posix(), opt_.dataDir.toStdString(), "tables");
    if (!tables.ok()) return fail(QString::fromStdString(tables.status().message()));
    tables_ = std::shared_ptr<storage::BlobStore>(tables.take().release());
    // The node id is generated once and kept in the data dir.
    id_ = store_->nodeId();
    if (opt_.nodeId != 0 && id_ != 0 && opt_.nodeId != id_)
        return fail(QStringLiteral("data directory %1 belongs to node %2, not %3")
                        .arg(opt_.dataDir, nodeIdString(id_), nodeIdString(opt_.nodeId)));
    if (id_ == 0) id_ = opt_.nodeId;
    while (id_ == 0)
        id_ = QRandomGenerator::system()->generate64();
    emit identified(nodeIdString(id_));
    peers_ = PeerBook(id_, opt_.aliveMs());
    discovery_ = Discovery(id_, opt_.bootstrapExpect, opt_.discoveryMs);
    clusterId_ = QString::fromStdString(store_->clusterId());
    if (!clusterId_.isEmpty() && store_->lastIndex() == 0 && store_->hardState().term == 0) {
        // The identity is written before the first entries (a bootstrap's configuration, or what a joiner
        // receives first) and those are written asynchronously: a node stopped in between holds a cluster
        // id and nothing else. Nothing of that cluster ever became durable here, so no vote was cast, no
        // entry acknowledged and no leadership held on it: the node starts fresh (it would otherwise wait
        // for ever, neither bootstrapping nor finding its cluster).
        qWarning().noquote()
            << QStringLiteral(
                   "data dir names cluster %1 but holds no log entry and no term: the "
                   "bootstrap or join did not complete before the node stopped; starting fresh")
                   .arg(clusterId_);
        clusterId_.clear();
        if (auto st = store_->setIdentity(std::string(), id_); !st.ok())
            return fail(QString::fromStdString(st.message()));
    }
    if (store_->nodeId() != id_) {
        if (auto st = store_->setIdentity(store_->clusterId(), id_); !st.ok())
            return fail(QString::fromStdString(st.message()));
    }
    return true;
}

bool Node::startCore(LogWriter::Persist persist, QString* error) {
    raft::Config rc = opt_.raftConfig(id_, env_->random64() | 1);
    rc.checkInvariants = false;
    rc.asyncStorageWrites = true;  // the event loop never waits for an fdatasync (log_writer.h)
    rc.idToString = [](raft::NodeId id) { return nodeIdString(id).toStdString(); };
    rc.onEvent = [this](const raft::ElectionEvent& e) { onElectionEvent(e); };
    rc.logger = [](raft::LogLevel level, std::string_view msg) {
        const QString m = QString::fromUtf8(msg.data(), qsizetype(msg.size()));
        if (level == raft::LogLevel::Debug)
            qDebug().noquote() << "raft:" << m;
        else if (level == raft::LogLevel::Info)
            qInfo().noquote() << "raft:" << m;
        else
            qWarning().noquote() << "raft:" << m;
    };
    if (!restoreAtStart(rc, error)) return false;
    try {
        raft_ = std::make_unique<raft::RawNode>(rc, *store_);
    } catch (const std::exception& e) {  // stored state the core refuses (docs/STORAGE.md, recovery rules)
        return failWith(error, QString::fromStdString(e.what()));
    }
    LogWriter::Post post = [env = env_](std::function<void()> f) { env->post(std::move(f)); };
    LogWriter::Done done = [this](WrittenReady w, const storage::Status& st) { onWritten(std::move(w), st); };
    writer_ = persist ? std::make_unique<LogWriter>(std::move(persist), std::move(post), std::move(done))
                      : std::make_unique<LogWriter>(*store_, std::move(post), std::move(done));
    const bool hasData = store_->lastIndex() > 0;
    discovery_.start(hasData, nowMs());

    worker_ = new ShardWorker(*this, this);
    coordinator_ = new JobCoordinator(*this, this);

    // Addresses of members we already know from our own log.
    for (const raft::Entry& e : store_->confEntries())
        learnAddresses({e});

    tickTimer_.start(*env_, opt_.tickMs, [this] { onTick(); });
    announceTimer_.start(*env_, opt_.heartbeatMs, [this] { onAnnounceTimer(); });
    discoveryTimer_.start(*env_, 250, [this] { onDiscoveryTimer(); });
    sweepTimer_.start(*env_, 500, [this] { sweepPending(); });
    eventTimer_.start(*env_, 250, [this] { flushLogEvent(); });

    logStartup();
    onDiscoveryTimer();
    scheduleReady();
    return true;
}

void Node::logStartup() const {
    const raft::Status st = raft_->status();
    qInfo().noquote() << QStringLiteral("raftwc node %1 starting").arg(nodeIdString(id_));
    qInfo().noquote() << QStringLiteral("  data dir   %1 (%2 entries, term %3%4)")
                             .arg(opt_.dataDir)
                             .arg(store_->lastIndex())
                             .arg(st.term)
                             .arg(clusterId_.isEmpty() ? QString()
                                                       : QStringLiteral(", cluster ") + clusterId_);
    qInfo().noquote()
        << QStringLiteral("  http       %1  (http://%2/)").arg(opt_.http.toString(), httpAddress_);
    qInfo().noquote()
        << QStringLiteral("  rpc        %1  (advertised %2)").arg(opt_.rpc.toString(), rpcAddress_);
    if (!channel_)
        qInfo().noquote() << QStringLiteral("  discovery  given by the embedding (simulation)");
    else if (channel_->staticPeersMode())
        qInfo().noquote() << QStringLiteral("  discovery  static peers (%1), udp port %2")
                                 .arg(opt_.peers.size())
                                 .arg(opt_.group.port);
    else
        qInfo().noquote() << QStringLiteral("  discovery  multicast %1 on %2, ttl %3")
                                 .arg(opt_.group.toString(), channel_->interfaceName())
                                 .arg(opt_.ttl);
    qInfo().noquote() << QStringLiteral("  elections  timeout %1-%2 ms, heartbeat %3 ms, tick %4 ms")
                             .arg(opt_.electionMinMs)
                             .arg(opt_.electionMaxMs)
                             .arg(opt_.heartbeatMs)
                             .arg(opt_.tickMs);
    qInfo().noquote() << (opt_.clusterKey.isEmpty()
                              ? QStringLiteral("  security   OPEN MODE: no cluster key; any host on the "
                                               "network can join or forge traffic")
                              : QStringLiteral("  security   cluster key loaded: every datagram and frame is "
                                               "HMAC-SHA256 authenticated"));
    if (discovery_.phase() == Discovery::Phase::Discovering && opt_.bootstrapExpect > 0)
        qInfo().noquote()
            << QStringLiteral(
                   "no data yet: looking for a leader for %1 ms, then bootstrapping with %2 node(s)")
                   .arg(opt_.discoveryMs)
                   .arg(opt_.bootstrapExpect);
    else if (discovery_.phase() == Discovery::Phase::Discovering)
        qInfo().noquote() << QStringLiteral(
            "no data yet: looking for a cluster to join (this node never forms one "
            "alone; see --bootstrap-expect and --single)");
    else
        qInfo().noquote() << QStringLiteral("rejoining as the member this data dir belongs to");
}

}  // namespace raftwc::node
