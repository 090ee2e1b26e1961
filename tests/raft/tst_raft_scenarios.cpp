#include <QtTest>

#include "cluster.h"

using namespace raftwc::raftsim;

class tst_RaftScenarios : public QObject {
    Q_OBJECT
private slots:
    void initialElection();
};

void tst_RaftScenarios::initialElection() {
    Cluster c(ClusterOptions{});
    QVERIFY(c.runUntil([&] { return c.leader() != 0; }, 10 * kSec));
}

QTEST_GUILESS_MAIN(tst_RaftScenarios)
#include "tst_raft_scenarios.moc"
