// RpcTransport over loopback TCP inside a private network namespace (NETNS).
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <memory>

#include "net/rpc_transport.h"
#include "netns_guard.h"

using namespace raftwc;
using namespace raftwc::net;

namespace {

const QByteArray kKey = QByteArrayLiteral("rpc test key");

RpcConfig rpcConfig(quint16 port = 0) {
    RpcConfig c;
    c.listenAddress = QHostAddress::LocalHost;
    c.listenPort = port;
    c.backoffInitialMs = 20;
    c.backoffMaxMs = 200;
    c.connectTimeoutMs = 2000;
    c.seed = 7;
    return c;
}

AuthConfig auth(NodeId id, const QByteArray& key = kKey) {
    AuthConfig a;
    a.key = key;
    a.self = id;
    a.incarnation = randomIncarnation();
    return a;
}

raft::Message appendMsg(NodeId from, NodeId to, raft::Index index, std::size_t dataBytes = 10) {
    raft::Message m;
    m.type = raft::MessageType::Append;
    m.from = from;
    m.to = to;
    m.term = 3;
    m.logTerm = 3;
    m.index = index;
    m.commit = index;
    m.entries.push_back({3, index + 1, raft::EntryType::Normal, std::string(dataBytes, 'x')});
    return m;
}

QString addr(const RpcTransport& t) {
    return QStringLiteral("127.0.0.1:%1").arg(t.serverPort());
}

/// Records callback invocations of one request.
struct Outcome {
    int calls = 0;
    RpcResult last;
    RpcTransport::Callback cb() {
        return [this](const RpcResult& r) {
            ++calls;
            last = r;
        };
    }
};

/// A port nothing listens on (bound then released).
quint16 freePort() {
    QTcpServer s;
    if (!s.listen(QHostAddress::LocalHost, 0)) return 0;
    return s.serverPort();
}

}  // namespace

class tst_NetRpc : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase();
    void raftMessagesBothWays();
    void appRequestResponseOnSameConnection();
    void reconnectAfterServerRecreated();
    void restartedPeerAnswersBeforeLearningItsAddress();
    void idleConnectionClosedThenUsedBothWays();
    void raftFrameOnOutboundConnectionChecked();
    void sendQueueBoundWhilePeerDown();
    void requestTimeoutFiresExactlyOnce();
    void unknownPeerFailsAsynchronously();
    void disconnectFailsInflightRequest();
    void shutdownFailsPendingWithShutdown();
    void destructorDropsCallbacksUncalled();
    void unauthenticatedInboundClosed();
    void idleConnectionsClosedButNotWhileAwaitingReply();
    void wrongKeyRejected();
    void replayedTcpFrameRejected();
    void garbageAndImpersonationCloseConnection();
    void openModeWorks();
};

void tst_NetRpc::initTestCase() {
    RAFTWC_REQUIRE_NETNS();
    qRegisterMetaType<raft::Message>();
    qRegisterMetaType<InboundRequest>();
    qRegisterMetaType<raft::NodeId>("raftwc::raft::NodeId");
}

void tst_NetRpc::raftMessagesBothWays() {
    RpcTransport a(rpcConfig(), auth(1));
    RpcTransport b(rpcConfig(), auth(2));
    QVERIFY(a.listen());
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));
    b.setPeerAddress(1, addr(a));
    QSignalSpy bGot(&b, &RpcTransport::raftMessageReceived);
    QSignalSpy aGot(&a, &RpcTransport::raftMessageReceived);
    QSignalSpy aConnected(&a, &RpcTransport::peerConnected);

    QList<raft::Message> sent;
    for (raft::Index i = 1; i <= 50; ++i) {
        sent.append(appendMsg(1, 2, i, 100 * i));
        QVERIFY(a.send(sent.back()));
    }
    QTRY_COMPARE(bGot.size(), 50);
    for (int i = 0; i < 50; ++i)
        QVERIFY(bGot.at(i).at(0).value<raft::Message>() == sent[i]);  // in order
    QCOMPARE(aConnected.size(), 1);
    QCOMPARE(aConnected.at(0).at(0).value<raft::NodeId>(), raft::NodeId{2});

    raft::Message resp;
    resp.type = raft::MessageType::AppendResp;
    resp.from = 2;
    resp.to = 1;
    resp.index = 50;
    resp.reject = true;
    resp.rejectHint = 40;
    QVERIFY(b.send(resp));
    QTRY_COMPARE(aGot.size(), 1);
    QVERIFY(aGot.at(0).at(0).value<raft::Message>() == resp);
    QCOMPARE(a.stats().connectsSucceeded, 1u);  // one reused connection
    QCOMPARE(a.stats().raftSent, 50u);
    QCOMPARE(b.stats().raftReceived, 50u);
    QCOMPARE(b.dropCounters().total(), 0u);
    // A message for a peer without an address is refused and counted.
    QVERIFY(!a.send(appendMsg(1, 99, 1)));
    QCOMPARE(a.stats().raftDroppedNoPeer, 1u);
}

void tst_NetRpc::appRequestResponseOnSameConnection() {
    RpcTransport a(rpcConfig(), auth(1));
    RpcTransport b(rpcConfig(), auth(2));
    QVERIFY(a.listen());
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));  // B has NO address for A: the reply must use the inbound connection
    connect(&b, &RpcTransport::appRequestReceived, &b, [&b](const InboundRequest& r) {
        QByteArray p = r.envelope.payload;
        std::reverse(p.begin(), p.end());
        QVERIFY(b.reply(r, r.envelope.method == 7 ? 0 : 101, p));
    });
    QSignalSpy bReq(&b, &RpcTransport::appRequestReceived);
    Outcome o1, o2;
    a.request(2, 7, QByteArrayLiteral("abc"), 5000, o1.cb());
    a.request(2, 9, QByteArray(100'000, 'z') + "!", 5000, o2.cb());
    QTRY_COMPARE(o1.calls, 1);
    QTRY_COMPARE(o2.calls, 1);
    QVERIFY(o1.last.ok());
    QCOMPARE(o1.last.response.payload, QByteArrayLiteral("cba"));
    QCOMPARE(o1.last.response.status, 0);
    QCOMPARE(o1.last.response.method, 7);
    QVERIFY(o2.last.ok());
    QCOMPARE(o2.last.response.status, 101);
    QCOMPARE(o2.last.response.payload.left(2), QByteArrayLiteral("!z"));
    QCOMPARE(bReq.size(), 2);
    QCOMPARE(bReq.at(0).at(0).value<InboundRequest>().from, NodeId{1});
    QCOMPARE(a.pendingRequests(), 0);
    QCOMPARE(a.stats().connectsSucceeded, 1u);
}

void tst_NetRpc::reconnectAfterServerRecreated() {
    RpcTransport a(rpcConfig(), auth(1));
    QVERIFY(a.listen());
    auto b = std::make_unique<RpcTransport>(rpcConfig(), auth(2));
    QVERIFY(b->listen());
    const quint16 port = b->serverPort();
    a.setPeerAddress(2, addr(*b));
    QSignalSpy connected(&a, &RpcTransport::peerConnected);
    QSignalSpy disconnected(&a, &RpcTransport::peerDisconnected);
    {
        QSignalSpy got(b.get(), &RpcTransport::raftMessageReceived);
        QVERIFY(a.send(appendMsg(1, 2, 1)));
        QTRY_COMPARE(got.size(), 1);
    }
    b.reset();  // the peer process goes away
    QTRY_COMPARE(disconnected.size(), 1);
    QVERIFY(!a.isConnected(2));
    // Sent while the peer is down: queued, retried with backoff.
    QVERIFY(a.send(appendMsg(1, 2, 2)));
    QTRY_VERIFY(a.stats().connectsFailed >= 1);
    b = std::make_unique<RpcTransport>(rpcConfig(port), auth(2));  // restarted: new incarnation, same port
    QVERIFY(b->listen());
    QSignalSpy got2(b.get(), &RpcTransport::raftMessageReceived);
    QTRY_COMPARE(got2.size(), 1);
    QCOMPARE(got2.at(0).at(0).value<raft::Message>().index, raft::Index{2});
    QCOMPARE(connected.size(), 2);
    QVERIFY(a.isConnected(2));
    QVERIFY(a.send(appendMsg(1, 2, 3)));
    QTRY_COMPARE(got2.size(), 2);
}

// Regression (failover benchmark, 800-1300 ms failovers): a node that restarts does not know the
// address of a peer whose address is not in the log (the bootstrap node) until discovery repeats it,
// about once a second. Its answers to that peer (pre-vote grants) were dropped as "no peer" without a
// log line, so the peer's elections failed until the restarted node learned the address. They must go
// back on the authenticated connection the peer opened to us.
void tst_NetRpc::restartedPeerAnswersBeforeLearningItsAddress() {
    RpcTransport a(rpcConfig(), auth(1));
    QVERIFY(a.listen());
    auto b = std::make_unique<RpcTransport>(rpcConfig(), auth(2));
    QVERIFY(b->listen());
    const quint16 port = b->serverPort();
    a.setPeerAddress(2, addr(*b));
    b->setPeerAddress(1, addr(a));
    QSignalSpy aGot(&a, &RpcTransport::raftMessageReceived);
    QSignalSpy aDisconnected(&a, &RpcTransport::peerDisconnected);
    {
        QSignalSpy bGot(b.get(), &RpcTransport::raftMessageReceived);
        QVERIFY(a.send(appendMsg(1, 2, 1)));
        QVERIFY(b->send(appendMsg(2, 1, 1)));
        QTRY_COMPARE(bGot.size(), 1);
        QTRY_COMPARE(aGot.size(), 1);
    }
    for (int round = 0; round < 2; ++round) {
        // B is killed and restarted on the same port with a new incarnation and an empty address book.
        b.reset();
        QTRY_COMPARE(aDisconnected.size(), round + 1);
        const bool queuedWhileDown = round == 0;  // round 1: A is idle until B is back
        if (queuedWhileDown) {
            QVERIFY(a.send(appendMsg(1, 2, 10)));
            QTRY_VERIFY(a.stats().connectsFailed >= 1);
        }
        b = std::make_unique<RpcTransport>(rpcConfig(port), auth(2));
        QVERIFY(b->listen());
        QSignalSpy bGot(b.get(), &RpcTransport::raftMessageReceived);
        if (!queuedWhileDown) QVERIFY(a.send(appendMsg(1, 2, 10)));
        QTRY_COMPARE(bGot.size(), 1);
        QCOMPARE(bGot.at(0).at(0).value<raft::Message>().index, raft::Index{10});
        QCOMPARE(b->peerAddress(1), QString());

        // B answers A without knowing A's address: on the connection A opened.
        const int before = int(aGot.size());
        raft::Message resp = appendMsg(2, 1, 11);
        resp.type = raft::MessageType::PreVoteResp;
        resp.entries.clear();
        QVERIFY(b->send(resp));
        QVERIFY(b->send(appendMsg(2, 1, 12)));
        QTRY_COMPARE(int(aGot.size()), before + 2);
        QVERIFY(aGot.at(before).at(0).value<raft::Message>() == resp);  // in order
        QCOMPARE(aGot.at(before + 1).at(0).value<raft::Message>().index, raft::Index{12});
        QCOMPARE(b->stats().raftSentReverse, 2u);
        QCOMPARE(b->stats().raftDroppedNoPeer, 0u);

        // Once B learns A's address it uses its own connection again.
        b->setPeerAddress(1, addr(a));
        QVERIFY(b->send(appendMsg(2, 1, 13)));
        QTRY_COMPARE(int(aGot.size()), before + 3);
        QCOMPARE(aGot.at(before + 2).at(0).value<raft::Message>().index, raft::Index{13});
        QCOMPARE(b->stats().raftSentReverse, 2u);
        QCOMPARE(b->stats().connectsSucceeded, 1u);
    }
    QCOMPARE(a.dropCounters().total(), 0u);
    QCOMPARE(b->dropCounters().total(), 0u);
    QCOMPARE(a.stats().raftDroppedQueueFull, 0u);
}

// An idle connection is closed by both sides; the next message reconnects at once (no backoff), and a
// peer without our address can no longer answer on it (counted as "no peer", never a stuck queue).
void tst_NetRpc::idleConnectionClosedThenUsedBothWays() {
    RpcConfig ca = rpcConfig();
    ca.idleTimeoutMs = 200;
    RpcConfig cb = ca;
    RpcTransport a(ca, auth(1));
    RpcTransport b(cb, auth(2));
    QVERIFY(a.listen());
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));  // B has no address for A
    QSignalSpy aGot(&a, &RpcTransport::raftMessageReceived);
    QSignalSpy bGot(&b, &RpcTransport::raftMessageReceived);
    QSignalSpy aDisconnected(&a, &RpcTransport::peerDisconnected);
    QVERIFY(a.send(appendMsg(1, 2, 1)));
    QTRY_COMPARE(bGot.size(), 1);
    QVERIFY(b.send(appendMsg(2, 1, 1)));
    QTRY_COMPARE(aGot.size(), 1);
    // Both sides close the idle connection.
    QTRY_COMPARE(aDisconnected.size(), 1);
    QVERIFY(!a.isConnected(2));
    QTRY_VERIFY(!b.send(appendMsg(2, 1, 2)));
    QVERIFY(b.stats().raftDroppedNoPeer >= 1);
    // Used again: a fresh connection at once, and B answers on it.
    QVERIFY(a.send(appendMsg(1, 2, 3)));
    QTRY_COMPARE(bGot.size(), 2);
    QCOMPARE(bGot.at(1).at(0).value<raft::Message>().index, raft::Index{3});
    QVERIFY(b.send(appendMsg(2, 1, 4)));
    QTRY_COMPARE(aGot.size(), 2);
    QCOMPARE(aGot.at(1).at(0).value<raft::Message>().index, raft::Index{4});
    QCOMPARE(a.stats().connectsSucceeded, 2u);
    QCOMPARE(a.stats().connectsFailed, 0u);
}

// Raft frames coming back on our outbound connection get the same checks as inbound ones.
void tst_NetRpc::raftFrameOnOutboundConnectionChecked() {
    RpcTransport a(rpcConfig(), auth(1));
    QVERIFY(a.listen());
    QTcpServer fake;  // plays node 2 (holds the key)
    QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
    FrameAuth node2(auth(2));
    a.setPeerAddress(2, QStringLiteral("127.0.0.1:%1").arg(fake.serverPort()));
    QSignalSpy aGot(&a, &RpcTransport::raftMessageReceived);
    QSignalSpy aDisconnected(&a, &RpcTransport::peerDisconnected);
    QVERIFY(a.send(appendMsg(1, 2, 1)));
    QTRY_VERIFY(fake.hasPendingConnections());
    std::unique_ptr<QTcpSocket> s(fake.nextPendingConnection());
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    s->write(node2.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(2, 1, 5)), now));
    QTRY_COMPARE(aGot.size(), 1);
    QCOMPARE(aGot.at(0).at(0).value<raft::Message>().index, raft::Index{5});
    // A raft message claiming another sender than the frame's: dropped, connection closed.
    s->write(node2.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(3, 1, 6)), now));
    QTRY_COMPARE(a.dropCounters().count(DropReason::SenderMismatch), 1u);
    QTRY_COMPARE(aDisconnected.size(), 1);
    QCOMPARE(aGot.size(), 1);
}

void tst_NetRpc::sendQueueBoundWhilePeerDown() {
    RpcConfig cfg = rpcConfig();
    cfg.maxQueueBytes = 20'000;
    RpcTransport a(cfg, auth(1));
    const quint16 port = freePort();
    QVERIFY(port != 0);
    a.setPeerAddress(2, QStringLiteral("127.0.0.1:%1").arg(port));
    qint64 maxSeen = 0;
    for (raft::Index i = 1; i <= 1000; ++i) {
        QVERIFY(a.send(appendMsg(1, 2, i, 200)));
        maxSeen = std::max(maxSeen, a.queuedBytes(2));
    }
    QVERIFY(maxSeen <= cfg.maxQueueBytes);
    QVERIFY(a.queuedBytes(2) > cfg.maxQueueBytes / 2);
    const quint64 dropped = a.stats().raftDroppedQueueFull;
    QVERIFY(dropped > 800);
    // An app request that does not fit is refused with Backpressure (asynchronously), not queued.
    Outcome big;
    a.request(2, 1, QByteArray(30'000, 'q'), 5000, big.cb());
    QCOMPARE(big.calls, 0);
    QTRY_COMPARE(big.calls, 1);
    QCOMPARE(big.last.error, RpcError::Backpressure);
    // A single message larger than the whole bound is refused.
    QVERIFY(!a.send(appendMsg(1, 2, 5000, 30'000)));
    QVERIFY(a.queuedBytes(2) <= cfg.maxQueueBytes);

    // When the peer comes up, the newest messages are delivered, oldest first, none duplicated.
    RpcTransport b(rpcConfig(port), auth(2));
    QVERIFY(b.listen());
    QSignalSpy got(&b, &RpcTransport::raftMessageReceived);
    const quint64 expected = 1000 - dropped;
    QTRY_COMPARE(static_cast<quint64>(got.size()), expected);
    for (qsizetype i = 0; i < got.size(); ++i)
        QCOMPARE(got.at(i).at(0).value<raft::Message>().index,
                 raft::Index{dropped + 1 + static_cast<quint64>(i)});
    QCOMPARE(a.queuedBytes(2), 0);
}

void tst_NetRpc::requestTimeoutFiresExactlyOnce() {
    RpcTransport a(rpcConfig(), auth(1));
    RpcTransport b(rpcConfig(), auth(2));
    QVERIFY(a.listen());
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));
    std::optional<InboundRequest> held;
    connect(&b, &RpcTransport::appRequestReceived, &b, [&](const InboundRequest& r) {
        if (r.envelope.method == 1)
            held = r;  // answered late, after the timeout
        else
            b.reply(r, 0, QByteArrayLiteral("prompt"));
    });
    Outcome slow;
    QElapsedTimer t;
    t.start();
    a.request(2, 1, QByteArrayLiteral("?"), 200, slow.cb());
    QTRY_COMPARE(slow.calls, 1);
    QVERIFY(t.elapsed() >= 150);
    QCOMPARE(slow.last.error, RpcError::Timeout);
    QVERIFY(held.has_value());
    // The late response arrives before the next one on the same connection and must be ignored.
    QVERIFY(b.reply(*held, 0, QByteArrayLiteral("late")));
    Outcome prompt;
    a.request(2, 2, QByteArrayLiteral("?"), 5000, prompt.cb());
    QTRY_COMPARE(prompt.calls, 1);
    QVERIFY(prompt.last.ok());
    QCOMPARE(prompt.last.response.payload, QByteArrayLiteral("prompt"));
    QCOMPARE(slow.calls, 1);
    QCOMPARE(a.pendingRequests(), 0);
}

void tst_NetRpc::unknownPeerFailsAsynchronously() {
    RpcTransport a(rpcConfig(), auth(1));
    Outcome o;
    a.request(42, 1, {}, 1000, o.cb());
    QCOMPARE(o.calls, 0);  // never from inside request()
    QTRY_COMPARE(o.calls, 1);
    QCOMPARE(o.last.error, RpcError::UnknownPeer);
}

void tst_NetRpc::disconnectFailsInflightRequest() {
    RpcTransport a(rpcConfig(), auth(1));
    auto b = std::make_unique<RpcTransport>(rpcConfig(), auth(2));
    QVERIFY(b->listen());
    a.setPeerAddress(2, addr(*b));
    QSignalSpy bReq(b.get(), &RpcTransport::appRequestReceived);
    Outcome o;
    a.request(2, 1, QByteArrayLiteral("never answered"), 60'000, o.cb());
    QTRY_COMPARE(bReq.size(), 1);
    b.reset();
    QTRY_COMPARE(o.calls, 1);
    QCOMPARE(o.last.error, RpcError::Disconnected);
}

void tst_NetRpc::shutdownFailsPendingWithShutdown() {
    Outcome queued, after;
    RpcTransport a(rpcConfig(), auth(1));
    a.setPeerAddress(2, QStringLiteral("127.0.0.1:%1").arg(freePort()));
    a.request(2, 1, {}, 60'000, queued.cb());
    QVERIFY(a.send(appendMsg(1, 2, 1)));
    a.shutdown();
    QCOMPARE(queued.calls, 1);  // synchronously, exactly once
    QCOMPARE(queued.last.error, RpcError::Shutdown);
    QCOMPARE(a.queuedBytes(2), 0);
    QVERIFY(!a.send(appendMsg(1, 2, 2)));
    a.request(2, 1, {}, 60'000, after.cb());
    QTRY_COMPARE(after.calls, 1);
    QCOMPARE(after.last.error, RpcError::Shutdown);
    a.shutdown();  // idempotent
    QCOMPARE(queued.calls, 1);
}

void tst_NetRpc::destructorDropsCallbacksUncalled() {
    auto calls = std::make_shared<int>(0);
    {
        RpcTransport a(rpcConfig(), auth(1));
        a.setPeerAddress(2, QStringLiteral("127.0.0.1:%1").arg(freePort()));
        a.request(2, 1, {}, 60'000, [calls](const RpcResult&) { ++*calls; });
        a.request(99, 1, {}, 60'000, [calls](const RpcResult&) { ++*calls; });  // already decided
    }
    QCoreApplication::processEvents();
    QCOMPARE(*calls, 0);
}

void tst_NetRpc::unauthenticatedInboundClosed() {
    RpcConfig cfg = rpcConfig();
    cfg.connectTimeoutMs = 200;
    RpcTransport b(cfg, auth(2));
    QVERIFY(b.listen());
    QTcpSocket silent;
    silent.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(silent.waitForConnected(5000));
    QElapsedTimer t;
    t.start();
    QTRY_VERIFY(silent.state() == QAbstractSocket::UnconnectedState);
    QVERIFY(t.elapsed() >= 100);
}

void tst_NetRpc::idleConnectionsClosedButNotWhileAwaitingReply() {
    RpcConfig cfg = rpcConfig();
    cfg.idleTimeoutMs = 200;
    RpcTransport a(cfg, auth(1));
    RpcTransport b(cfg, auth(2));
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));
    // B answers only after three idle periods: neither side may drop the connection meanwhile.
    connect(&b, &RpcTransport::appRequestReceived, &b, [&b](const InboundRequest& r) {
        QTimer::singleShot(600, &b, [&b, r] { QVERIFY(b.reply(r, 0, QByteArrayLiteral("slow"))); });
    });
    QSignalSpy disconnected(&a, &RpcTransport::peerDisconnected);
    Outcome o;
    a.request(2, 1, {}, 10'000, o.cb());
    QTRY_COMPARE_WITH_TIMEOUT(o.calls, 1, 5000);
    QVERIFY(o.last.ok());
    QCOMPARE(o.last.response.payload, QByteArrayLiteral("slow"));
    QCOMPARE(disconnected.size(), 0);
    // Then, with no traffic, the idle connection is closed.
    QTRY_COMPARE(disconnected.size(), 1);
    QVERIFY(!a.isConnected(2));
    QCOMPARE(a.stats().connectsSucceeded, 1u);
}

void tst_NetRpc::wrongKeyRejected() {
    RpcTransport b(rpcConfig(), auth(2));
    RpcTransport intruder(rpcConfig(), auth(3, QByteArrayLiteral("wrong key")));
    QVERIFY(b.listen());
    intruder.setPeerAddress(2, addr(b));
    QSignalSpy got(&b, &RpcTransport::raftMessageReceived);
    QVERIFY(intruder.send(appendMsg(3, 2, 1)));
    QTRY_COMPARE(b.dropCounters().count(DropReason::BadMac), 1u);
    QCOMPARE(got.size(), 0);
}

void tst_NetRpc::replayedTcpFrameRejected() {
    RpcTransport b(rpcConfig(), auth(2));
    QVERIFY(b.listen());
    QSignalSpy got(&b, &RpcTransport::raftMessageReceived);
    // Frames as node 1 would send them (same key), recorded by an attacker.
    FrameAuth node1(auth(1));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QByteArray f1 = node1.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(1, 2, 1)), now);
    const QByteArray f2 = node1.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(1, 2, 2)), now);

    QTcpSocket c1;
    c1.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c1.waitForConnected(5000));
    c1.write(f1);
    c1.write(f2);
    QTRY_COMPARE(got.size(), 2);
    // Replayed on the same connection: dropped and the connection closed.
    c1.write(f1);
    QTRY_COMPARE(b.dropCounters().count(DropReason::BehindWindow), 1u);
    QTRY_VERIFY(c1.state() == QAbstractSocket::UnconnectedState);
    // Replayed on a fresh connection: the per-sender window refuses it.
    QTcpSocket c2;
    c2.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c2.waitForConnected(5000));
    c2.write(f2);
    QTRY_COMPARE(b.dropCounters().count(DropReason::Replayed), 1u);
    QTRY_VERIFY(c2.state() == QAbstractSocket::UnconnectedState);
    // A stale (old timestamp) frame is refused too.
    QTcpSocket c3;
    c3.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c3.waitForConnected(5000));
    c3.write(node1.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(1, 2, 3)), now - 31'000));
    QTRY_COMPARE(b.dropCounters().count(DropReason::Stale), 1u);
    QCOMPARE(got.size(), 2);
}

void tst_NetRpc::garbageAndImpersonationCloseConnection() {
    RpcTransport b(rpcConfig(), auth(2));
    QVERIFY(b.listen());
    QSignalSpy got(&b, &RpcTransport::raftMessageReceived);
    QTcpSocket c1;
    c1.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c1.waitForConnected(5000));
    c1.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_COMPARE(b.dropCounters().count(DropReason::BadMagic), 1u);
    QTRY_VERIFY(c1.state() == QAbstractSocket::UnconnectedState);
    // A key holder (node 3) sending a raft message that claims to come from node 1.
    FrameAuth node3(auth(3));
    QTcpSocket c2;
    c2.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c2.waitForConnected(5000));
    c2.write(node3.seal(FrameKind::Raft, encodeRaftMessage(appendMsg(1, 2, 1)),
                        QDateTime::currentMSecsSinceEpoch()));
    QTRY_COMPARE(b.dropCounters().count(DropReason::SenderMismatch), 1u);
    QTRY_VERIFY(c2.state() == QAbstractSocket::UnconnectedState);
    // A header announcing a frame over the limit is refused before any payload is buffered.
    QTcpSocket c3;
    c3.connectToHost(QHostAddress::LocalHost, b.serverPort());
    QVERIFY(c3.waitForConnected(5000));
    QByteArray huge = node3.seal(FrameKind::Raft, {}, QDateTime::currentMSecsSinceEpoch()).left(kHeaderSize);
    huge[40] = '\x10';  // payload length 0x10000000 = 256 MiB
    c3.write(huge);
    QTRY_COMPARE(b.dropCounters().count(DropReason::TooLarge), 1u);
    QTRY_VERIFY(c3.state() == QAbstractSocket::UnconnectedState);
    QCOMPARE(got.size(), 0);
}

void tst_NetRpc::openModeWorks() {
    RpcTransport a(rpcConfig(), auth(1, {}));
    RpcTransport b(rpcConfig(), auth(2, {}));
    QVERIFY(a.listen());
    QVERIFY(b.listen());
    a.setPeerAddress(2, addr(b));
    QSignalSpy got(&b, &RpcTransport::raftMessageReceived);
    QVERIFY(a.send(appendMsg(1, 2, 1)));
    QTRY_COMPARE(got.size(), 1);
}

QTEST_GUILESS_MAIN(tst_NetRpc)
#include "tst_net_rpc.moc"
