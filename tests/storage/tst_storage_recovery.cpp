// raftwc recover (storage/recovery.h): a survivor's data directory rewritten after a permanent loss of
// quorum restarts as the only voter, keeps every entry, elects itself and commits new entries; refusals.
#include <QTemporaryDir>
#include <QtTest>

#include "raft/rawnode.h"
#include "storage/raft_log_store.h"
#include "storage/recovery.h"

using namespace raftwc;
using namespace raftwc::storage;

namespace {

std::unique_ptr<RaftLogStore> openStore(const QString& dir) {
    RaftLogStoreOptions o;
    o.dir = dir.toStdString();
    auto r = RaftLogStore::open(std::move(o));
    if (!r.ok()) qWarning("open failed: %s", r.status().message().c_str());
    return r.ok() ? r.take() : nullptr;
}

raft::Entry confEntry(raft::Term t, raft::Index i, raft::ConfChangeType type, raft::NodeId n) {
    return {t, i, raft::EntryType::ConfChange, raft::encodeConfChange({type, n, "addr"})};
}
raft::Entry normal(raft::Term t, raft::Index i, std::string data) {
    return {t, i, raft::EntryType::Normal, std::move(data)};
}

/// A three-voter cluster {1,2,3} with learner 4 at index 7, normal entries, one uncommitted (index 8).
void fillThreeNodeLog(RaftLogStore& s, raft::NodeId self) {
    QVERIFY(s.setIdentity("cluster-a", self).ok());
    std::vector<raft::Entry> ents{confEntry(1, 1, raft::ConfChangeType::AddVoter, 1),
                                  confEntry(1, 2, raft::ConfChangeType::AddVoter, 2),
                                  confEntry(1, 3, raft::ConfChangeType::AddVoter, 3),
                                  normal(2, 4, "upload-a"),
                                  normal(2, 5, "upload-b"),
                                  normal(3, 6, "result-a"),
                                  confEntry(3, 7, raft::ConfChangeType::AddLearner, 4),
                                  normal(3, 8, "not-yet-committed")};
    QVERIFY(s.persist(raft::HardState{3, 1, 7}, ents).ok());
}

/// Drives a RawNode synchronously over `s`; returns the payloads of the committed Normal entries.
std::vector<std::string> drive(raft::RawNode& n, RaftLogStore& s) {
    std::vector<std::string> applied;
    while (n.hasReady()) {
        raft::Ready rd = n.ready();
        if (!s.persist(rd.hardState, rd.entries).ok()) qFatal("persist failed");
        for (const raft::Entry& e : rd.committedEntries)
            if (e.type == raft::EntryType::Normal) applied.push_back(e.data);
        n.advance();
    }
    return applied;
}

}  // namespace

class TestRecovery : public QObject {
    Q_OBJECT
  private slots:
    void survivorBecomesSoleVoterAndKeepsEverything() {
        QTemporaryDir dir;
        {
            auto s = openStore(dir.path());
            QVERIFY(s);
            fillThreeNodeLog(*s, 2);
            const raft::ConfState before = lastConfiguration(*s);
            QCOMPARE(before.voters, (std::vector<raft::NodeId>{1, 2, 3}));
            QCOMPARE(before.learners, (std::vector<raft::NodeId>{4}));
            auto r = forceNewCluster(*s);
            QVERIFY2(r.ok(), r.status().message().c_str());
            const RecoveryPlan& p = r.value();
            QCOMPARE(p.changes.size(), std::size_t(3));  // remove 1, 3, 4
            QCOMPARE(p.changes[0].node, raft::NodeId(1));
            QCOMPARE(p.changes[1].node, raft::NodeId(3));
            QCOMPARE(p.changes[2].node, raft::NodeId(4));
            QCOMPARE(p.uncommittedKept, raft::Index(1));
            QCOMPARE(p.newHardState, (raft::HardState{4, 2, 11}));
        }
        // Reopened: the rewrite is durable, the old entries untouched.
        auto s = openStore(dir.path());
        QVERIFY(s);
        QCOMPARE(s->hardState(), (raft::HardState{4, 2, 11}));
        QCOMPARE(s->lastIndex(), raft::Index(11));
        QCOMPARE(s->term(8), raft::Term(3));
        QCOMPARE(s->term(9), raft::Term(4));
        QCOMPARE(lastConfiguration(*s).voters, (std::vector<raft::NodeId>{2}));
        QVERIFY(lastConfiguration(*s).learners.empty());
        QCOMPARE(s->clusterId(), std::string("cluster-a"));

        // The node restarts alone: every entry (the uncommitted one too) is applied, it elects itself at a
        // term above any old member's vote and commits new work without anyone else.
        raft::Config cfg;
        cfg.id = 2;
        cfg.checkInvariants = true;
        raft::RawNode n(cfg, *s);
        std::vector<std::string> applied = drive(n, *s);
        QCOMPARE(applied,
                 (std::vector<std::string>{"upload-a", "upload-b", "result-a", "not-yet-committed"}));
        for (int i = 0; i < 200 && n.status().role != raft::Role::Leader; ++i) {
            n.tick();
            drive(n, *s);
        }
        QVERIFY(n.status().role == raft::Role::Leader);
        QVERIFY(n.status().term > 4);
        QVERIFY(n.propose("after-recovery").ok());
        applied = drive(n, *s);
        QCOMPARE(applied, (std::vector<std::string>{"after-recovery"}));
        // And it can grow again: a new member joins as a learner.
        for (int i = 0; i < 5 && !n.proposeConfChange({raft::ConfChangeType::AddLearner, 7, "addr"}).ok();
             ++i)
            drive(n, *s);
        drive(n, *s);
        QVERIFY(lastConfiguration(*s).isLearner(7));
    }

    void learnerSurvivorIsPromoted() {
        QTemporaryDir dir;
        auto s = openStore(dir.path());
        QVERIFY(s);
        fillThreeNodeLog(*s, 4);
        auto r = forceNewCluster(*s);
        QVERIFY2(r.ok(), r.status().message().c_str());
        QCOMPARE(r.value().changes.back().type, raft::ConfChangeType::PromoteLearner);
        QCOMPARE(lastConfiguration(*s).voters, (std::vector<raft::NodeId>{4}));
        QVERIFY(lastConfiguration(*s).learners.empty());
    }

    void planChangesNothing() {
        QTemporaryDir dir;
        auto s = openStore(dir.path());
        QVERIFY(s);
        fillThreeNodeLog(*s, 3);
        auto r = planForceNewCluster(*s);
        QVERIFY(r.ok());
        QCOMPARE(s->lastIndex(), raft::Index(8));
        QCOMPARE(s->hardState(), (raft::HardState{3, 1, 7}));
    }

    void refusesWhatItCannotRecover() {
        {  // never started a node
            QTemporaryDir dir;
            auto s = openStore(dir.path());
            QVERIFY(s);
            auto r = forceNewCluster(*s);
            QVERIFY(!r.ok());
            QVERIFY(r.status().message().find("node id") != std::string::npos);
        }
        {  // identity but never joined
            QTemporaryDir dir;
            auto s = openStore(dir.path());
            QVERIFY(s);
            QVERIFY(s->setIdentity("", 5).ok());
            auto r = forceNewCluster(*s);
            QVERIFY(!r.ok());
            QVERIFY(r.status().message().find("no configuration") != std::string::npos);
            QCOMPARE(s->lastIndex(), raft::Index(0));
        }
        {  // removed earlier: not a member of its own log's configuration
            QTemporaryDir dir;
            auto s = openStore(dir.path());
            QVERIFY(s);
            fillThreeNodeLog(*s, 9);
            auto r = forceNewCluster(*s);
            QVERIFY(!r.ok());
            QVERIFY(r.status().message().find("not a member") != std::string::npos);
            QCOMPARE(s->lastIndex(), raft::Index(8));
        }
    }

    void runningNodeHoldsTheLock() {
        QTemporaryDir dir;
        auto s = openStore(dir.path());
        QVERIFY(s);
        // A second open (what `raftwc recover` does while the node runs) is refused by the lock.
        RaftLogStoreOptions o;
        o.dir = dir.path().toStdString();
        auto second = RaftLogStore::open(std::move(o));
        QVERIFY(!second.ok());
    }
};

QTEST_GUILESS_MAIN(TestRecovery)
#include "tst_storage_recovery.moc"
