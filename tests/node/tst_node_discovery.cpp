// Discovery: the phases around membership and the decisions of the discovery timer, without sockets.
#include <QtTest>

#include "node/discovery.h"
#include "node/peer_book.h"

using namespace raftwc;
using node::Discovery;
using node::PeerBook;

class tst_NodeDiscovery : public QObject {
    Q_OBJECT

  private slots:
    void onlyTheLowestOfEnoughFreshNodesBootstraps();
    void aNodeWithDataOrAClusterNeverBootstraps();
    void byDefaultANodeNeverBootstrapsAlone();
    void anAnnouncedLeaderIsAskedToJoinOnceASecond();
    void phasesFollowTheLog();
};

void tst_NodeDiscovery::onlyTheLowestOfEnoughFreshNodesBootstraps() {
    PeerBook peers(5, 2500);
    Discovery d(5, 3, 3000);
    d.start(false, 0);
    Discovery::Step s = d.onTimer(1000, false, true, peers);
    QVERIFY(s.hello && s.probe && !s.bootstrap);  // still listening
    s = d.onTimer(3000, false, true, peers);
    QCOMPARE(s.candidates, 1);
    QVERIFY(!s.bootstrap);  // alone: waits for 3 (a node never forms a cluster alone unless told)
    peers.hello(7, true, 2900);
    peers.hello(9, true, 2950);
    s = d.onTimer(3100, false, true, peers);
    QCOMPARE(s.candidates, 3);
    QVERIFY(s.bootstrap);  // 5 is the lowest of {5, 7, 9}
    Discovery other(7, 3, 3000);
    other.start(false, 0);
    PeerBook peers7(7, 2500);
    peers7.hello(5, true, 2900);
    peers7.hello(9, true, 2950);
    QVERIFY(!other.onTimer(3100, false, true, peers7).bootstrap);  // 7 waits for 5's cluster
    // Hellos older than the window do not count.
    QVERIFY(!d.onTimer(3000 + 3000, false, true, peers).bootstrap);
}

void tst_NodeDiscovery::aNodeWithDataOrAClusterNeverBootstraps() {
    PeerBook peers(1, 2500);
    Discovery d(1, 1, 1000);
    d.start(false, 0);
    QVERIFY(!d.onTimer(5000, false, false, peers).bootstrap);  // not fresh
    QVERIFY(d.onTimer(5000, false, true, peers).bootstrap);
    Discovery m(1, 1, 1000);
    m.start(true, 0);  // has data: a member already
    QVERIFY(m.phase() == Discovery::Phase::Member);
    const Discovery::Step s = m.onTimer(5000, true, false, peers);
    QVERIFY(s.hello && !s.probe && !s.bootstrap && !s.join);
    QVERIFY(!m.onTimer(5500, true, false, peers).hello);  // members say hello once a period
    QVERIFY(m.onTimer(6000, true, false, peers).hello);
}

void tst_NodeDiscovery::byDefaultANodeNeverBootstrapsAlone() {
    // Issue 12: with the default (bootstrapExpect 0) nodes that hear no cluster keep looking, however many
    // fresh nodes they hear, and say so; they join as soon as a leader is announced.
    PeerBook peers(1, 2500);
    peers.hello(2, true, 9000);
    peers.hello(3, true, 9000);
    Discovery d(1, 0, 3000);
    d.start(false, 0);
    const Discovery::Step s = d.onTimer(10000, false, true, peers);
    QVERIFY(!s.bootstrap);
    QCOMPARE(s.candidates, -1);
    QVERIFY(d.announced({2, 3, QStringLiteral("b:7000"), {}, QStringLiteral("c"), 10100}));
    QVERIFY(d.onTimer(10200, false, true, peers).join);
}

void tst_NodeDiscovery::anAnnouncedLeaderIsAskedToJoinOnceASecond() {
    PeerBook peers(4, 2500);
    Discovery d(4, 1, 3000);
    d.start(false, 0);
    QVERIFY(
        d.announced({2, 5, QStringLiteral("a:7000"), QStringLiteral("a:3000"), QStringLiteral("c"), 100}));
    QVERIFY(d.mayJoin(100));
    d.joinStarted(100);
    QVERIFY(!d.mayJoin(150));  // in flight
    d.joinFinished(false);
    QVERIFY(!d.mayJoin(900));  // at most once a second
    Discovery::Step s = d.onTimer(1200, false, true, peers);
    QVERIFY(s.join && !s.bootstrap);
    // An older term's announcement does not replace the leader.
    d.announced({3, 4, QStringLiteral("b:7000"), {}, QStringLiteral("c"), 1300});
    QCOMPARE(d.leader().id, raft::NodeId(2));
    // With no announcement for 3 s, a fresh node falls back to bootstrapping.
    s = d.onTimer(4200, false, true, peers);
    QVERIFY(!s.join && s.bootstrap);
}

void tst_NodeDiscovery::phasesFollowTheLog() {
    PeerBook peers(4, 2500);
    Discovery d(4, 1, 3000);
    d.start(false, 0);
    d.appendReceived();
    QVERIFY(d.phase() == Discovery::Phase::Joining);
    const Discovery::Step s = d.onTimer(100, true, false, peers);
    QVERIFY(s.becameMember);
    QVERIFY(d.phase() == Discovery::Phase::Member);
    d.removed();
    QCOMPARE(QString::fromLatin1(Discovery::phaseName(d.phase())), QStringLiteral("removed"));
}

QTEST_GUILESS_MAIN(tst_NodeDiscovery)
#include "tst_node_discovery.moc"
