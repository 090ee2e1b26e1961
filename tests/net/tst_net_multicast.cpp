// MulticastChannel over loopback multicast inside a private network namespace (NETNS).
#include <QNetworkDatagram>
#include <QSignalSpy>
#include <QUdpSocket>
#include <QtTest>

#include "net/multicast_channel.h"
#include "netns_guard.h"

using namespace raftwc;
using namespace raftwc::net;

namespace {

const QByteArray kKey = QByteArrayLiteral("multicast test key");
constexpr quint16 kPort = 10000;

MulticastConfig mcConfig(quint16 port = kPort) {
    MulticastConfig c;
    c.port = port;
    c.interfaceName = QStringLiteral("lo");
    return c;
}

AuthConfig auth(NodeId id, const QByteArray& key = kKey) {
    AuthConfig a;
    a.key = key;
    a.self = id;
    a.incarnation = randomIncarnation();
    return a;
}

Probe probeOf(NodeId id) {
    return Probe{id, QStringLiteral("127.0.0.1:%1").arg(7000 + id),
                 QStringLiteral("127.0.0.1:%1").arg(8000 + id), QStringLiteral("cluster-x"), id % 2 == 0};
}

/// A raw socket in the group, to capture and inject datagrams like an attacker on the LAN.
std::unique_ptr<QUdpSocket> rawGroupSocket(quint16 port = kPort) {
    auto s = std::make_unique<QUdpSocket>();
    const QNetworkInterface lo = QNetworkInterface::interfaceFromName(QStringLiteral("lo"));
    if (!s->bind(QHostAddress::AnyIPv4, port,
                 QAbstractSocket::ShareAddress | QAbstractSocket::ReuseAddressHint))
        return nullptr;
    s->setMulticastInterface(lo);
    if (!s->joinMulticastGroup(QHostAddress(QStringLiteral("239.0.0.1")), lo)) return nullptr;
    return s;
}

}  // namespace

class tst_NetMulticast : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase();
    void twoChannelsExchangeDatagrams();
    void defaultInterfaceFallsBackToLo();
    void forgedAndReplayedDatagramsDropped();
    void wrongKeyAndImpersonationDropped();
    void openModeExchanges();
    void staticPeersUnicast();
    void oversizedSendRefused();
};

void tst_NetMulticast::initTestCase() {
    RAFTWC_REQUIRE_NETNS();
    qRegisterMetaType<Probe>();
    qRegisterMetaType<Announce>();
    qRegisterMetaType<Hello>();
    qRegisterMetaType<FrameHeader>();
}

void tst_NetMulticast::twoChannelsExchangeDatagrams() {
    MulticastChannel a(mcConfig(), auth(1));
    MulticastChannel b(mcConfig(), auth(2));
    QString err;
    QVERIFY2(a.open(&err), qPrintable(err));
    QVERIFY2(b.open(&err), qPrintable(err));
    QCOMPARE(a.interfaceName(), QStringLiteral("lo"));
    QSignalSpy bProbes(&b, &MulticastChannel::probeReceived);
    QSignalSpy aProbes(&a, &MulticastChannel::probeReceived);
    QSignalSpy aAnnounces(&a, &MulticastChannel::announceReceived);
    QSignalSpy aHellos(&a, &MulticastChannel::helloReceived);

    QVERIFY(a.sendProbe(probeOf(1)));
    QTRY_COMPARE(bProbes.size(), 1);
    QCOMPARE(bProbes.at(0).at(0).value<Probe>(), probeOf(1));
    QCOMPARE(bProbes.at(0).at(1).value<FrameHeader>().sender, NodeId{1});
    // A hears its own datagram (loopback) and drops it as an echo, never emitting it.
    QTRY_COMPARE(a.dropCounters().count(DropReason::OwnEcho), 1u);
    QCOMPARE(aProbes.size(), 0);

    const Announce ann{5,
                       2,
                       QStringLiteral("127.0.0.1:7002"),
                       QStringLiteral("127.0.0.1:8002"),
                       42,
                       QStringLiteral("cluster-x"),
                       3,
                       3};
    QVERIFY(b.sendAnnounce(ann));
    QTRY_COMPARE(aAnnounces.size(), 1);
    QCOMPARE(aAnnounces.at(0).at(0).value<Announce>(), ann);
    const Hello hello{2, QStringLiteral("127.0.0.1:7002"), QStringLiteral("127.0.0.1:8002"), false, {}};
    QVERIFY(b.sendHello(hello));
    QTRY_COMPARE(aHellos.size(), 1);
    QCOMPARE(aHellos.at(0).at(0).value<Hello>(), hello);
    QCOMPARE(a.stats().datagramsReceived, 2u);
    QCOMPARE(b.stats().datagramsSent, 2u);
    QCOMPARE(a.stats().drops.count(DropReason::BadMac), 0u);
}

void tst_NetMulticast::defaultInterfaceFallsBackToLo() {
    MulticastConfig cfg = mcConfig();
    cfg.interfaceName.clear();  // namespace has no default route → lo
    MulticastChannel a(cfg, auth(1));
    QVERIFY(a.open());
    QCOMPARE(a.interfaceName(), QStringLiteral("lo"));
    MulticastConfig bad = mcConfig();
    bad.interfaceName = QStringLiteral("nonexistent0");
    MulticastChannel b(bad, auth(2));
    QString err;
    QVERIFY(!b.open(&err));
    QVERIFY(err.contains(QStringLiteral("nonexistent0")));
    QVERIFY(!b.isOpen());
    QVERIFY(!b.sendProbe(probeOf(2)));
}

void tst_NetMulticast::forgedAndReplayedDatagramsDropped() {
    MulticastChannel a(mcConfig(), auth(1));
    MulticastChannel b(mcConfig(), auth(2));
    QVERIFY(a.open());
    QVERIFY(b.open());
    auto raw = rawGroupSocket();
    QVERIFY(raw);
    QSignalSpy bProbes(&b, &MulticastChannel::probeReceived);
    const QHostAddress group(QStringLiteral("239.0.0.1"));

    // Capture a genuine datagram from A.
    QVERIFY(a.sendProbe(probeOf(1)));
    QTRY_COMPARE(bProbes.size(), 1);
    QTRY_VERIFY(raw->hasPendingDatagrams());
    const QByteArray genuine = raw->receiveDatagram().data();
    QVERIFY(genuine.startsWith("RWC1"));

    // Garbage.
    raw->writeDatagram(QByteArrayLiteral("hello, is this a raft cluster?"), group, kPort);
    QTRY_COMPARE(b.dropCounters().count(DropReason::BadMagic), 1u);
    // The genuine datagram replayed.
    raw->writeDatagram(genuine, group, kPort);
    QTRY_COMPARE(b.dropCounters().count(DropReason::Replayed), 1u);
    // A modified copy (one bit of the payload flipped).
    QByteArray modified = genuine;
    modified[kHeaderSize + 3] = static_cast<char>(modified[kHeaderSize + 3] ^ 0x01);
    raw->writeDatagram(modified, group, kPort);
    QTRY_COMPARE(b.dropCounters().count(DropReason::BadMac), 1u);
    // A truncated copy.
    raw->writeDatagram(genuine.chopped(1), group, kPort);
    QTRY_COMPARE(b.dropCounters().count(DropReason::Truncated), 1u);
    QCOMPARE(bProbes.size(), 1);  // nothing forged got through
    // The channel still works afterwards.
    QVERIFY(a.sendProbe(probeOf(1)));
    QTRY_COMPARE(bProbes.size(), 2);
}

void tst_NetMulticast::wrongKeyAndImpersonationDropped() {
    MulticastChannel b(mcConfig(), auth(2));
    MulticastChannel intruder(mcConfig(), auth(3, QByteArrayLiteral("not the cluster key")));
    MulticastChannel insider(mcConfig(), auth(4));
    QVERIFY(b.open());
    QVERIFY(intruder.open());
    QVERIFY(insider.open());
    QSignalSpy bProbes(&b, &MulticastChannel::probeReceived);
    QVERIFY(intruder.sendProbe(probeOf(3)));
    QTRY_COMPARE(b.dropCounters().count(DropReason::BadMac), 1u);
    // A key holder claiming another node's id in the payload is refused.
    QVERIFY(insider.sendProbe(probeOf(1)));
    QTRY_COMPARE(b.dropCounters().count(DropReason::SenderMismatch), 1u);
    QCOMPARE(bProbes.size(), 0);
    QVERIFY(insider.sendProbe(probeOf(4)));
    QTRY_COMPARE(bProbes.size(), 1);
}

void tst_NetMulticast::openModeExchanges() {
    MulticastChannel a(mcConfig(), auth(1, {}));
    MulticastChannel b(mcConfig(), auth(2, {}));
    MulticastChannel keyed(mcConfig(), auth(3));
    QVERIFY(a.open());
    QVERIFY(b.open());
    QVERIFY(keyed.open());
    QSignalSpy bProbes(&b, &MulticastChannel::probeReceived);
    QVERIFY(a.sendProbe(probeOf(1)));
    QTRY_COMPARE(bProbes.size(), 1);
    QTRY_COMPARE(keyed.dropCounters().count(DropReason::Unauthenticated), 1u);
}

void tst_NetMulticast::staticPeersUnicast() {
    MulticastConfig ca;
    ca.port = 10101;
    ca.bindAddress = QHostAddress::LocalHost;
    ca.staticPeers = {HostPort{QStringLiteral("127.0.0.1"), 10102},
                      HostPort{QStringLiteral("localhost"), 10103}};
    MulticastConfig cb = ca;
    cb.port = 10102;
    cb.staticPeers = {HostPort{QStringLiteral("127.0.0.1"), 10101}};
    MulticastConfig cc = ca;
    cc.port = 10103;
    cc.staticPeers = {HostPort{QStringLiteral("127.0.0.1"), 10101}};
    MulticastChannel a(ca, auth(1));
    MulticastChannel b(cb, auth(2));
    MulticastChannel c(cc, auth(3));
    QString err;
    QVERIFY2(a.open(&err), qPrintable(err));
    QVERIFY2(b.open(&err), qPrintable(err));
    QVERIFY2(c.open(&err), qPrintable(err));
    QVERIFY(a.staticPeersMode());
    QSignalSpy bHellos(&b, &MulticastChannel::helloReceived);
    QSignalSpy cHellos(&c, &MulticastChannel::helloReceived);
    QSignalSpy aAnn(&a, &MulticastChannel::announceReceived);
    const Hello h{1, QStringLiteral("127.0.0.1:7001"), {}, false, {}};
    QVERIFY(a.sendHello(h));
    QTRY_COMPARE(bHellos.size(), 1);
    QTRY_COMPARE(cHellos.size(), 1);
    QCOMPARE(bHellos.at(0).at(0).value<Hello>(), h);
    QVERIFY(b.sendAnnounce(Announce{1, 2, {}, {}, 0, {}, 0, 1}));
    QTRY_COMPARE(aAnn.size(), 1);
    QCOMPARE(cHellos.size(), 1);  // unicast: C got nothing from B
}

void tst_NetMulticast::oversizedSendRefused() {
    MulticastChannel a(mcConfig(), auth(1));
    QVERIFY(a.open());
    Probe p = probeOf(1);
    p.rpcAddress = QString(500, QLatin1Char('a'));
    p.httpAddress = QString(500, QLatin1Char('b'));
    p.clusterId = QString(500, QLatin1Char('c'));
    QVERIFY(!a.sendProbe(p));
    QCOMPARE(a.stats().sendErrors, 1u);
}

QTEST_GUILESS_MAIN(tst_NetMulticast)
#include "tst_net_multicast.moc"
