// PeerBook: addresses, last contact, fresh hellos, and the one definition of "alive" (from the options).
#include <QtTest>

#include "node/options.h"
#include "node/peer_book.h"

using namespace raftwc;
using node::NodeOptions;
using node::PeerBook;

class tst_NodePeerBook : public QObject {
    Q_OBJECT

  private slots:
    void aliveFollowsTheOptions();
    void addressesAndContact();
    void freshHellosWithinTheWindow();
};

void tst_NodePeerBook::aliveFollowsTheOptions() {
    NodeOptions o;
    o.electionMaxMs = 2000;
    QCOMPARE(o.aliveMs(), qint64(2500));  // 2.5 hello periods: followers hear each other only by hellos
    o.electionMaxMs = 6000;
    QCOMPARE(o.aliveMs(), qint64(6000));
    PeerBook b(1, o.aliveMs());
    b.heard(2, 1000);
    QVERIFY(b.alive(2, 1000));
    QVERIFY(b.alive(2, 1000 + 5999));
    QVERIFY(!b.alive(2, 1000 + 6000));
    QVERIFY(!b.alive(3, 1000));  // never heard
    b.heard(1, 1000);            // this node is never in its own book
    QVERIFY(!b.find(1));
}

void tst_NodePeerBook::addressesAndContact() {
    PeerBook b(1, 2500);
    QVERIFY(b.setAddress(2, QStringLiteral("10.0.0.2:7000"), QStringLiteral("10.0.0.2:3000")));
    QVERIFY(
        !b.setAddress(2, QStringLiteral("10.0.0.2:7000"), {}));  // unchanged: nothing to tell the transport
    QVERIFY(b.setAddress(2, QStringLiteral("10.0.0.9:7000"), {}));
    QCOMPARE(b.find(2)->http, QStringLiteral("10.0.0.2:3000"));  // an empty address keeps the known one
    QCOMPARE(b.sinceHeardMs(2, 50), qint64(-1));
    b.heard(2, 100);
    QCOMPARE(b.sinceHeardMs(2, 350), qint64(250));
    b.forget(2);
    QVERIFY(!b.find(2));
    QVERIFY(!b.setAddress(raft::kNoNode, QStringLiteral("x:1"), {}));
}

void tst_NodePeerBook::freshHellosWithinTheWindow() {
    PeerBook b(1, 2500);
    b.hello(3, true, 1000);
    b.hello(2, true, 2500);
    b.hello(4, false, 2500);  // has data or a cluster: not a bootstrap candidate
    QCOMPARE(b.freshHellos(2999, 2000), (std::vector<raft::NodeId>{2, 3}));
    QCOMPARE(b.freshHellos(3500, 2000), (std::vector<raft::NodeId>{2}));
}

QTEST_GUILESS_MAIN(tst_NodePeerBook)
#include "tst_node_peerbook.moc"
