// The node simulation's scenarios (node_sim.h): the real node logic — discovery and bootstrap, proposal
// forwarding, the job coordinator and shard workers, the durable log — under planned and random faults,
// every run checked for exact answers, identical replicas and election safety.
//
// RAFTWC_NODESIM_SEEDS=N runs N random-fault seeds (default 24), RAFTWC_NODESIM_SEED=S only seed S;
// RAFTWC_NODESIM_LOG=1 shows the nodes' log lines.
#include <QJsonArray>
#include <QtTest>

#include "node_sim.h"

using namespace raftwc;
using namespace raftwc::nodesim;

namespace {

bool showLogs() {
    return qEnvironmentVariableIntValue("RAFTWC_NODESIM_LOG") != 0;
}

void quietHandler(QtMsgType type, const QMessageLogContext&, const QString& msg) {
    if (showLogs() || type == QtFatalMsg) fprintf(stderr, "%s\n", qPrintable(msg));
}

/// The job's progress as its coordinator shows it (GET /api/jobs/{id}).
QJsonObject progressOf(Cluster& c, int coordinator, const QString& jobId) {
    if (!c.up(coordinator)) return {};
    return c.node(coordinator).coordinator().progress(jobId.toLatin1()).value_or(QJsonObject{});
}

QString failureReport(const Cluster& c, const QString& what) {
    return what + QStringLiteral("\n") + QString::fromStdString(c.trace());
}

/// After healing: one leader, identical replicas, exact answers, no invariant broken.
void verifyHealed(Cluster& c) {
    QVERIFY2(c.converge(), qPrintable(failureReport(c, QStringLiteral("the cluster did not converge"))));
    QVERIFY2(c.violation().isEmpty(), qPrintable(failureReport(c, c.violation())));
    const QString wrong = c.checkConsistent();
    QVERIFY2(wrong.isEmpty(), qPrintable(failureReport(c, wrong)));
}

/// Rows "seed 1" .. "seed n" of a column `seed`.
void addSeedRows(std::uint64_t n) {
    QTest::addColumn<std::uint64_t>("seed");
    for (std::uint64_t s = 1; s <= n; ++s)
        QTest::newRow(qPrintable(QStringLiteral("seed %1").arg(s))) << s;
}

std::uint64_t num(const QJsonObject& o, const char* key) {
    return std::uint64_t(o.value(QLatin1String(key)).toInteger());
}

}  // namespace

class tst_NodeSim : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() { qInstallMessageHandler(quietHandler); }

    void formsAClusterThroughDiscoveryAndCountsExactly_data();
    void formsAClusterThroughDiscoveryAndCountsExactly();
    void sameSeedSameHistory();
    void leaderChangeDuringUpload_data();
    void leaderChangeDuringUpload();
    void memberDiesMidShard_data();
    void memberDiesMidShard();
    void forwardedProposalToDeposedLeader_data();
    void forwardedProposalToDeposedLeader();
    void randomFaults_data();
    void randomFaults();
    void laggingMemberCatchesUpBySnapshot_data() { addSeedRows(6); }
    void laggingMemberCatchesUpBySnapshot();
};

void tst_NodeSim::formsAClusterThroughDiscoveryAndCountsExactly_data() {
    QTest::addColumn<int>("nodes");
    QTest::newRow("3 nodes") << 3;
    QTest::newRow("5 nodes") << 5;
}

void tst_NodeSim::formsAClusterThroughDiscoveryAndCountsExactly() {
    QFETCH(int, nodes);
    Cluster c({nodes, 7});
    QVERIFY2(c.form(), qPrintable(failureReport(c, QStringLiteral("no cluster formed"))));
    // Fresh nodes heard each other; the lowest id bootstrapped; the others joined as learners and were
    // promoted: one term's leader leads every node as a voter.
    Rng rng(3);
    for (int i = 0; i < nodes; ++i) {
        const std::size_t k = c.upload(i, makeText(rng, std::size_t(700000 + 9000 * i)));
        QVERIFY(c.world().runUntil([&] { return c.uploads()[k].outcome.has_value(); }, 20000));
        QVERIFY2(c.uploads()[k].outcome->ok(), qPrintable(c.uploads()[k].outcome->message));
        // Every live member counted a part (shards are cut at 64 KiB multiples: the file makes 2 per node).
        const QJsonArray shards = c.uploads()[k].outcome->result.value(QLatin1String("shards")).toArray();
        std::set<QString> counted;
        for (const QJsonValue& s : shards)
            counted.insert(s.toObject().value(QLatin1String("node")).toString());
        QCOMPARE(int(counted.size()), nodes);
    }
    // An empty file is a job too.
    const std::size_t empty = c.upload(0, QByteArray());
    QVERIFY(c.world().runUntil([&] { return c.uploads()[empty].outcome.has_value(); }, 20000));
    QVERIFY(c.uploads()[empty].outcome->ok());
    QCOMPARE(num(c.uploads()[empty].outcome->result, "words"), 0u);
    verifyHealed(c);
}

void tst_NodeSim::sameSeedSameHistory() {
    // The simulation is only worth its seeds if a seed replays: two runs, one history.
    auto run = [](std::uint64_t seed) {
        Cluster c({3, seed});
        c.form();
        Rng rng(seed);
        c.upload(1, makeText(rng, 60000));
        c.world().runFor(700);
        c.crash(c.leader() < 0 ? 0 : c.leader());
        c.world().runFor(8000);
        return std::make_pair(c.world().eventsRun(), c.trace());
    };
    const auto a = run(11), b = run(11), other = run(12);
    QCOMPARE(a.first, b.first);
    QCOMPARE(QString::fromStdString(a.second), QString::fromStdString(b.second));
    QVERIFY(a.second != other.second);
}

void tst_NodeSim::leaderChangeDuringUpload_data() {
    QTest::addColumn<std::uint64_t>("seed");
    QTest::addColumn<bool>("kill");  // the leader's process dies, or it is cut off and keeps running
    for (std::uint64_t s = 1; s <= 6; ++s)
        QTest::newRow(qPrintable(QStringLiteral("seed %1 %2")
                                     .arg(s)
                                     .arg(s % 2 ? QStringLiteral("kill") : QStringLiteral("cut off"))))
            << s << bool(s % 2);
}

void tst_NodeSim::leaderChangeDuringUpload() {
    QFETCH(std::uint64_t, seed);
    QFETCH(bool, kill);
    Cluster c({3, seed});
    QVERIFY(c.form());
    const int oldLeader = c.leader();
    const int coordinator = (oldLeader + 1) % 3;  // a follower: its chunks go through the leader
    const raft::Term oldTerm = c.node(oldLeader).status().term;
    Rng rng(seed);
    const QByteArray text = makeText(rng, 300000);
    const std::size_t k = c.upload(coordinator, text);
    const QString jobId = c.uploads()[k].jobId;
    // Part of the file is in the log, part is not.
    QVERIFY(c.world().runUntil(
        [&] {
            const std::uint64_t stored = num(progressOf(c, coordinator, jobId), "storedBytes");
            return stored > 0 && stored < std::uint64_t(text.size()) / 2;
        },
        20000));
    if (kill)
        c.crash(oldLeader);
    else
        c.isolate(oldLeader);
    QVERIFY2(c.world().runUntil([&] { return c.uploads()[k].outcome.has_value(); }, 60000),
             qPrintable(failureReport(c, QStringLiteral("no answer"))));
    const node::JobOutcome& o = *c.uploads()[k].outcome;
    QVERIFY2(o.ok(), qPrintable(failureReport(c, o.message)));
    // It was stored and counted under a new leader, in a later term.
    const int newLeader = c.leader();
    QVERIFY(newLeader >= 0 && newLeader != oldLeader);
    QVERIFY(c.node(newLeader).status().term > oldTerm);
    QCOMPARE(num(o.result, "words"), referenceCount(text).words);
    verifyHealed(c);
}

void tst_NodeSim::memberDiesMidShard_data() {
    addSeedRows(6);
}

void tst_NodeSim::memberDiesMidShard() {
    QFETCH(std::uint64_t, seed);
    Cluster c({3, seed});
    QVERIFY(c.form());
    const int coordinator = int(seed % 3);
    Rng rng(seed);
    const QByteArray text = makeText(rng, 200000);
    const std::size_t k = c.upload(coordinator, text);
    const QString jobId = c.uploads()[k].jobId;
    // Wait until another member is counting a shard, then kill it.
    int victim = -1;
    QVERIFY(c.world().runUntil(
        [&] {
            const QJsonObject p = progressOf(c, coordinator, jobId);
            for (const QJsonValue& v : p.value(QLatin1String("shards")).toArray()) {
                const QJsonObject s = v.toObject();
                if (s.value(QLatin1String("state")).toString() != QLatin1String("running")) continue;
                const QString who = s.value(QLatin1String("node")).toString();
                for (int i = 0; i < 3; ++i)
                    if (i != coordinator && node::nodeIdString(c.id(i)) == who) victim = i;
            }
            return victim >= 0;
        },
        20000));
    c.crash(victim);
    QVERIFY2(c.world().runUntil([&] { return c.uploads()[k].outcome.has_value(); }, 60000),
             qPrintable(failureReport(c, QStringLiteral("no answer"))));
    const node::JobOutcome& o = *c.uploads()[k].outcome;
    QVERIFY2(o.ok(), qPrintable(failureReport(c, o.message)));
    // The dead member's shards were counted elsewhere, exactly.
    for (const QJsonValue& v : o.result.value(QLatin1String("shards")).toArray())
        QVERIFY(v.toObject().value(QLatin1String("node")).toString() != node::nodeIdString(c.id(victim)));
    const Reference ref = referenceCount(text);
    QCOMPARE(num(o.result, "words"), ref.words);
    QCOMPARE(num(o.result, "uniqueWords"), ref.unique);
    verifyHealed(c);
}

void tst_NodeSim::forwardedProposalToDeposedLeader_data() {
    addSeedRows(6);
}

void tst_NodeSim::forwardedProposalToDeposedLeader() {
    QFETCH(std::uint64_t, seed);
    Cluster c({3, seed});
    QVERIFY(c.form());
    const int oldLeader = c.leader();
    const int follower = (oldLeader + 1 + int(seed % 2)) % 3;
    // The moment the leader receives a proposal the follower forwarded, it is cut off: it appends the
    // entry but can never commit it; the others elect a new leader. The follower must not wait for the
    // forward's 20 s timeout: the leader change fails it at once and the job retries with the new leader.
    bool forwarded = false;
    c.onRequestDelivered = [&](int from, int to, quint16 method) {
        if (!forwarded && from == follower && to == oldLeader &&
            method == quint16(node::RpcMethod::ForwardPropose)) {
            forwarded = true;
        }
    };
    Rng rng(seed);
    const QByteArray text = makeText(rng, 100000);
    const std::size_t k = c.upload(follower, text);
    QVERIFY(c.world().runUntil([&] { return forwarded; }, 20000));
    c.isolate(oldLeader);
    const qint64 cutAt = c.world().now();
    QVERIFY2(c.world().runUntil([&] { return c.uploads()[k].outcome.has_value(); }, 60000),
             qPrintable(failureReport(c, QStringLiteral("no answer"))));
    const node::JobOutcome& o = *c.uploads()[k].outcome;
    QVERIFY2(o.ok(), qPrintable(failureReport(c, o.message)));
    QVERIFY2(c.uploads()[k].answeredMs - cutAt < node::Node::kForwardTimeoutMs / 2,
             qPrintable(failureReport(
                 c, QStringLiteral("answered %1 ms after the cut").arg(c.uploads()[k].answeredMs - cutAt))));
    QCOMPARE(num(o.result, "words"), referenceCount(text).words);
    // The deposed leader comes back: its uncommitted entry is replaced, every replica agrees.
    verifyHealed(c);
}

void tst_NodeSim::randomFaults_data() {
    QTest::addColumn<std::uint64_t>("seed");
    const std::uint64_t one = std::uint64_t(qEnvironmentVariableIntValue("RAFTWC_NODESIM_SEED"));
    const int n = qEnvironmentVariableIsSet("RAFTWC_NODESIM_SEEDS")
                      ? qEnvironmentVariableIntValue("RAFTWC_NODESIM_SEEDS")
                      : 24;
    if (one) {
        QTest::newRow(qPrintable(QStringLiteral("seed %1").arg(one))) << one;
        return;
    }
    for (int s = 1; s <= n; ++s)
        QTest::newRow(qPrintable(QStringLiteral("seed %1").arg(s))) << std::uint64_t(s);
}

void tst_NodeSim::randomFaults() {
    // A minute of cluster life: uploads to random nodes while processes die and restart, nodes are cut
    // off and messages are lost or duplicated; then heal and check everything.
    QFETCH(std::uint64_t, seed);
    Rng rng(raftsim::mixSeed(seed, 0x0de));
    const int nodes = rng.chance(0.5) ? 3 : 5;
    Cluster::Options opt{nodes, seed};
    // Half the runs snapshot and compact every 96 KiB of log: restarts load snapshots, members that were
    // down or cut off catch up by InstallSnapshot.
    if (rng.chance(0.5)) opt.snapshotBytes = 96 << 10;
    Cluster c(opt);
    QVERIFY2(c.form(), qPrintable(failureReport(c, QStringLiteral("no cluster formed"))));
    const int maxDown = (nodes - 1) / 2;
    std::set<int> cutOff;
    const qint64 end = c.world().now() + 60000;
    while (c.world().now() < end) {
        c.world().runFor(qint64(rng.range(100, 1500)));
        int down = 0;
        for (int i = 0; i < nodes; ++i)
            down += c.up(i) ? 0 : 1;
        const int i = int(rng.below(std::uint64_t(nodes)));
        const std::uint64_t what = rng.below(100);
        if (what < 40) {
            const std::size_t bytes = rng.chance(0.1) ? 0 : std::size_t(rng.range(1, 250000));
            c.upload(i, makeText(rng, bytes));
        } else if (what < 55) {
            if (c.up(i) && down + int(cutOff.size()) < maxDown) c.crash(i);
        } else if (what < 70) {
            c.restart(i);
        } else if (what < 78) {
            if (!cutOff.count(i) && down + int(cutOff.size()) < maxDown) {
                c.isolate(i);
                cutOff.insert(i);
            }
        } else if (what < 90) {
            c.heal();
            cutOff.clear();
        } else {
            c.net().loss = rng.chance(0.5) ? 0.2 : 0.0;
            c.net().duplicate = rng.chance(0.5) ? 0.1 : 0.0;
        }
    }
    verifyHealed(c);
    // Every upload whose node stayed up got an answer (none hangs), and no answer was a node fault.
    c.world().runFor(60000);
    for (std::size_t k = 0; k < c.uploads().size(); ++k) {
        const UploadRecord& u = c.uploads()[k];
        if (u.outcome) {
            QVERIFY2(
                u.outcome->kind != node::JobOutcome::Kind::Internal,
                qPrintable(failureReport(c, QStringLiteral("upload %1: %2").arg(k).arg(u.outcome->message))));
        } else if (c.incarnation(u.node) == u.incarnation && u.incarnation > 0) {
            QFAIL(qPrintable(failureReport(c, QStringLiteral("upload %1 was never answered").arg(k))));
        }
    }
    // The healed cluster serves a new upload.
    const QByteArray last = makeText(rng, 50000);
    const std::size_t k = c.upload(int(rng.below(std::uint64_t(nodes))), last);
    QVERIFY(c.world().runUntil([&] { return c.uploads()[k].outcome.has_value(); }, 30000));
    QVERIFY2(c.uploads()[k].outcome->ok(), qPrintable(failureReport(c, c.uploads()[k].outcome->message)));
    verifyHealed(c);
}

void tst_NodeSim::laggingMemberCatchesUpBySnapshot() {
    // A member down while the others compact their logs past where it stopped comes back to a leader that
    // can only send it a snapshot: it fetches the files and tables, installs it, and holds the same state.
    QFETCH(std::uint64_t, seed);
    Rng rng(raftsim::mixSeed(seed, 0x5a4));
    Cluster::Options opt{3, seed};
    opt.snapshotBytes = 64 << 10;
    Cluster c(opt);
    QVERIFY2(c.form(), qPrintable(failureReport(c, QStringLiteral("no cluster formed"))));
    // Every node knows all three are voters (with two voters known, losing the leader loses the quorum).
    QVERIFY(c.world().runUntil(
        [&] {
            for (int i = 0; i < 3; ++i) {
                const node::NodeStatus s = c.node(i).status();
                if (s.members.size() != 3 ||
                    std::any_of(s.members.begin(), s.members.end(),
                                [](const node::MemberStatus& m) { return !m.voter; }))
                    return false;
            }
            return true;
        },
        10000));
    const int away = int(rng.below(3));
    c.crash(away);
    QVERIFY(c.world().runUntil([&] { return c.leader() >= 0 && c.leader() != away; }, 10000));
    for (int k = 0; k < 6; ++k) {
        const QByteArray text = makeText(rng, std::size_t(rng.range(40000, 120000)));
        // The first may meet the election that follows the crash: tried again, like a client would.
        for (int attempt = 0;; ++attempt) {
            const int to = (away + 1 + int(rng.below(2))) % 3;
            const std::size_t u = c.upload(to, text);
            QVERIFY(c.world().runUntil([&] { return c.uploads()[u].outcome.has_value(); }, 30000));
            if (c.uploads()[u].outcome->ok()) break;
            QVERIFY2(attempt < 5, qPrintable(failureReport(c, c.uploads()[u].outcome->message)));
            c.world().runFor(1000);
        }
    }
    const int other = (away + 1) % 3;
    QVERIFY2(c.world().runUntil([&] { return c.node(other).status().snapshotIndex > 0; }, 10000),
             qPrintable(failureReport(c, QStringLiteral("no snapshot was taken"))));
    if (rng.chance(0.5)) c.isolate(other);  // sometimes the leader changes while it installs
    c.restart(away);
    QVERIFY2(
        c.world().runUntil([&] { return c.up(away) && c.node(away).status().snapshotsInstalled > 0; }, 60000),
        qPrintable(failureReport(c, QStringLiteral("the returning member installed no snapshot"))));
    verifyHealed(c);
}

QTEST_GUILESS_MAIN(tst_NodeSim)
#include "tst_node_sim.moc"
