// ProposalTracker: proposals answered by what commits at their index, forwards failed when their leader is
// replaced, apply waiters, deadlines.
#include <QtTest>

#include "node/proposal_tracker.h"

using namespace raftwc;
using node::ProposalTracker;
using node::ProposeOutcome;

class tst_NodeProposals : public QObject {
    Q_OBJECT

  private slots:
    void committedOnlyWithTheirTerm();
    void forwardsFailWhenTheirLeaderIsReplaced();
    void applyWaitersAndDeadlines();
};

void tst_NodeProposals::committedOnlyWithTheirTerm() {
    ProposalTracker t;
    std::vector<ProposeOutcome> got;
    t.proposed(
        5, 2, [&](ProposeOutcome o) { got.push_back(o); }, 1000);
    t.proposed(
        6, 2, [&](ProposeOutcome o) { got.push_back(o); }, 1000);
    t.applied(5, 2, 5);
    QCOMPARE(got.size(), std::size_t(1));
    QVERIFY(got[0].ok());
    QCOMPARE(got[0].index, raft::Index(5));
    t.applied(6, 3, 6);  // a new leader's entry took index 6
    QCOMPARE(got.size(), std::size_t(2));
    QVERIFY(!got[1].ok());
    QCOMPARE(t.pending(), std::size_t(0));
}

void tst_NodeProposals::forwardsFailWhenTheirLeaderIsReplaced() {
    ProposalTracker t;
    std::vector<ProposeOutcome> got;
    const auto a = t.forwarded(7, [&](ProposeOutcome o) { got.push_back(o); });
    const auto b = t.forwarded(8, [&](ProposeOutcome o) { got.push_back(o); });
    t.leaderChanged(7);
    QCOMPARE(got.size(), std::size_t(1));
    QVERIFY(got[0].code == ProposeOutcome::Code::NoLeader);
    // The deposed leader's late answer is dropped: the caller was answered once already.
    QVERIFY(!t.forwardAnswered(a, {ProposeOutcome::Code::Committed, 3, 9, {}}));
    QCOMPARE(got.size(), std::size_t(1));
    QVERIFY(t.forwardAnswered(b, {ProposeOutcome::Code::Committed, 3, 10, {}}));
    QCOMPARE(got.size(), std::size_t(2));
    QVERIFY(got[1].ok());
    QCOMPARE(t.pending(), std::size_t(0));
}

void tst_NodeProposals::applyWaitersAndDeadlines() {
    ProposalTracker t;
    std::vector<std::pair<int, bool>> waits;
    t.whenApplied(
        3, 4,
        [&](bool ok) {
            waits.push_back({3, ok});
        },
        100);  // already applied: at once
    QCOMPARE(waits.size(), std::size_t(1));
    t.whenApplied(
        10, 4,
        [&](bool ok) {
            waits.push_back({10, ok});
        },
        100);
    t.whenApplied(
        20, 4,
        [&](bool ok) {
            waits.push_back({20, ok});
        },
        500);
    std::vector<ProposeOutcome> got;
    t.proposed(
        30, 1, [&](ProposeOutcome o) { got.push_back(o); }, 200);
    t.applied(10, 1, 10);
    QCOMPARE(waits.back(), std::make_pair(10, true));
    t.sweep(199);
    QCOMPARE(got.size(), std::size_t(0));
    t.sweep(200);  // the proposal's deadline
    QCOMPARE(got.size(), std::size_t(1));
    QVERIFY(!got[0].ok());
    t.sweep(500);
    QCOMPARE(waits.back(), std::make_pair(20, false));
    QCOMPARE(t.pending(), std::size_t(0));
}

QTEST_GUILESS_MAIN(tst_NodeProposals)
#include "tst_node_proposals.moc"
