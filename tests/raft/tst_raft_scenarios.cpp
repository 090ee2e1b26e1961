// Scenario tests of the Raft core in the spirit of MIT 6.824's Raft lab (2A/2B/2C), run on the
// deterministic simulation (tests/raft/sim): virtual time, scripted partitions and crashes, and the
// simulation's safety checks (one leader per term, log matching, leader completeness, state machine
// safety) after every event. Plus message bounds for elections and idle heartbeats.
#include <QtTest>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cluster.h"

using namespace raftwc::raftsim;
using raftwc::raft::ConfChange;
using raftwc::raft::ConfChangeType;
using raftwc::raft::kNoNode;
using raftwc::raft::ProposeResult;
using raftwc::raft::Role;

namespace {

ClusterOptions options(int voters, std::uint64_t seed = 1) {
    ClusterOptions o;
    o.voters = voters;
    // RAFTWC_SIM_SEED_OFFSET shifts every scenario's seed (to check that a scenario does not depend on
    // one lucky schedule); the default 0 is what CI runs.
    o.seed = seed + static_cast<std::uint64_t>(qEnvironmentVariableIntValue("RAFTWC_SIM_SEED_OFFSET")) * 1000;
    o.net.delayMin = 1 * kMs;
    o.net.delayMax = 5 * kMs;
    if (qEnvironmentVariableIntValue("RAFTWC_SIM_TRACE"))
        o.trace = [](std::string_view s) { std::fprintf(stderr, "%.*s\n", int(s.size()), s.data()); };
    return o;
}

std::vector<NodeId> upNodes(const Cluster& c) {
    std::vector<NodeId> v;
    for (NodeId id : c.nodeIds())
        if (c.isUp(id)) v.push_back(id);
    return v;
}

NodeId waitLeader(Cluster& c, const std::vector<NodeId>& group, Micros timeout = 15 * kSec) {
    NodeId l = kNoNode;
    c.runUntil([&] { return (l = c.agreedLeader(group)) != kNoNode; }, timeout);
    return l;
}

std::size_t leadersAmong(const Cluster& c, const std::vector<NodeId>& group) {
    return static_cast<std::size_t>(std::count_if(
        group.begin(), group.end(), [&](NodeId id) { return c.status(id).role == Role::Leader; }));
}

/// Up nodes that have applied index `idx` (the simulation checks they all applied the same entry).
int nApplied(const Cluster& c, raftwc::raft::Index idx) {
    int n = 0;
    for (NodeId id : upNodes(c))
        if (c.applied(id).size() >= idx) ++n;
    return n;
}

/// 6.824's one(): proposes `data` through whoever is leader (retrying) until `expected` up nodes have
/// applied it. Returns its index, or 0 after `timeout`.
raftwc::raft::Index one(Cluster& c, const std::string& data, int expected, Micros timeout = 10 * kSec) {
    const Micros deadline = c.now() + timeout;
    while (c.ok() && c.now() < deadline) {
        const NodeId l = c.leader();
        if (l != kNoNode) {
            const ProposeResult r = c.propose(l, data);
            if (r.ok()) {
                const std::size_t slot = c.proposals().size() - 1;
                c.runUntil([&] { return c.proposals()[slot].acked && nApplied(c, r.index) >= expected; },
                           2 * kSec);
                if (c.proposals()[slot].acked && nApplied(c, r.index) >= expected) return r.index;
            }
        }
        c.runFor(50 * kMs);
    }
    return 0;
}

bool convergedAll(Cluster& c, Micros timeout = 30 * kSec) {
    std::vector<NodeId> live;
    for (NodeId id : c.nodeIds())
        if (!c.isGone(id)) live.push_back(id);
    return c.runUntil([&] { return c.converged(live); }, timeout);
}

#define CHECK_SAFE(c) QVERIFY2((c).ok(), (c).violation() ? (c).violation()->c_str() : "")

}  // namespace

class tst_RaftScenarios : public QObject {
    Q_OBJECT

  private slots:
    // ---- 2A: elections --------------------------------------------------------------------------
    void initialElection();
    void reElection();
    void oldLeaderRejoinsWithoutDisruption();
    void noLeaderWithoutQuorum();
    void manyElectionsSevenNodes();
    void electionTakesAHandfulOfMessages();
    void idleLeaderSendsAtHeartbeatRate();
    // ---- 2B: agreement --------------------------------------------------------------------------
    void basicAgreement();
    void followerFailure();
    void leaderFailure();
    void noCommitWithoutMajority();
    void concurrentProposals();
    void rejoinPartitionedLeaderWithStaleEntries();
    void backupQuicklyOverDivergentLogs();
    // ---- 2C: persistence ------------------------------------------------------------------------
    void persistenceFullRestart();
    void persistenceRollingRestarts();
    void crashWhilePersistingLosesTheReady();
    void figure8();
    void figure8Unreliable();
    void churn();
    // ---- membership ------------------------------------------------------------------------------
    void addLearnerIsPromotedAndRemovedNodeStops();
};

void tst_RaftScenarios::initialElection() {
    for (int n : {3, 5, 7}) {
        Cluster c(options(n));
        const auto all = c.nodeIds();
        const NodeId l = waitLeader(c, all, 10 * kSec);
        QVERIFY2(l != kNoNode, "no leader within 10 s virtual");
        const auto term = c.status(l).term;
        QVERIFY(term >= 2);
        // No faults: the same leader and term for a long time (a minute of virtual time).
        QVERIFY(c.runFor(60 * kSec));
        QCOMPARE(c.agreedLeader(all), l);
        for (NodeId id : all)
            QCOMPARE(c.status(id).term, term);
        CHECK_SAFE(c);
    }
}

void tst_RaftScenarios::reElection() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    const NodeId l1 = waitLeader(c, all);
    QVERIFY(l1 != kNoNode);
    c.isolate(l1);
    std::vector<NodeId> rest;
    for (NodeId id : all)
        if (id != l1) rest.push_back(id);
    const NodeId l2 = waitLeader(c, rest);
    QVERIFY2(l2 != kNoNode && l2 != l1, "the connected majority must elect a new leader");
    QVERIFY(c.status(l2).term > c.status(l1).term || c.status(l1).role != Role::Leader);
    // The cut-off leader steps down (check-quorum) within an election timeout or two.
    QVERIFY(c.runUntil([&] { return c.status(l1).role != Role::Leader; }, 5 * kSec));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::oldLeaderRejoinsWithoutDisruption() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    const NodeId l1 = waitLeader(c, all);
    QVERIFY(l1 != kNoNode);
    c.isolate(l1);
    std::vector<NodeId> rest;
    for (NodeId id : all)
        if (id != l1) rest.push_back(id);
    const NodeId l2 = waitLeader(c, rest);
    QVERIFY(l2 != kNoNode);
    QVERIFY(one(c, "after-split", 2) > 0);
    const auto term2 = c.status(l2).term;
    c.runFor(10 * kSec);  // the old leader keeps (pre-)campaigning alone meanwhile
    c.reconnect(l1);
    // It rejoins as a follower of l2: same leader, same term (pre-vote keeps it from disrupting).
    QVERIFY(waitLeader(c, all) == l2);
    QCOMPARE(c.status(l2).term, term2);
    QVERIFY(one(c, "after-rejoin", 3) > 0);
    QCOMPARE(c.agreedLeader(all), l2);
    QCOMPARE(c.status(l2).term, term2);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::noLeaderWithoutQuorum() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    const NodeId l = waitLeader(c, all);
    QVERIFY(l != kNoNode);
    const NodeId f = all[0] == l ? all[1] : all[0];
    c.isolate(l);
    c.isolate(f);
    // Nobody has a quorum: the old leader steps down and no one is elected, however long we wait.
    QVERIFY(c.runUntil([&] { return leadersAmong(c, all) == 0; }, 5 * kSec));
    for (int i = 0; i < 20; ++i) {
        c.runFor(1 * kSec);
        QCOMPARE(leadersAmong(c, all), std::size_t{0});
    }
    c.reconnect(f);
    std::vector<NodeId> pair;
    for (NodeId id : all)
        if (id != l) pair.push_back(id);
    QVERIFY(waitLeader(c, pair) != kNoNode);
    c.reconnect(l);
    QVERIFY(waitLeader(c, all) != kNoNode);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::manyElectionsSevenNodes() {
    Cluster c(options(7, 42));
    const auto all = c.nodeIds();
    QVERIFY(waitLeader(c, all) != kNoNode);
    for (int iter = 0; iter < 10; ++iter) {
        // Disconnect three random nodes: the other four must (still) have a leader.
        std::vector<NodeId> shuffled = all;
        for (std::size_t i = shuffled.size(); i > 1; --i)
            std::swap(shuffled[i - 1], shuffled[c.rng().below(i)]);
        const std::vector<NodeId> out(shuffled.begin(), shuffled.begin() + 3);
        const std::vector<NodeId> in(shuffled.begin() + 3, shuffled.end());
        for (NodeId id : out)
            c.isolate(id);
        QVERIFY2(waitLeader(c, in) != kNoNode, qPrintable(QStringLiteral("iteration %1").arg(iter)));
        c.healAll();
    }
    QVERIFY(waitLeader(c, all) != kNoNode);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::electionTakesAHandfulOfMessages() {
    // Healthy 3-node cluster, first election: one pre-vote round trip and one vote round trip to each
    // peer (at most 8 messages) when one node times out first; never more than 8 per campaign.
    int single = 0;
    const int runs = 40;
    for (int seed = 1; seed <= runs; ++seed) {
        Cluster c(options(3, static_cast<std::uint64_t>(seed)));
        const auto all = c.nodeIds();
        const NodeId l = waitLeader(c, all, 10 * kSec);
        QVERIFY(l != kNoNode);
        const MessageStats& s = c.stats();
        const std::uint64_t electionMsgs = s.byType(MessageType::PreVote) +
                                           s.byType(MessageType::PreVoteResp) + s.byType(MessageType::Vote) +
                                           s.byType(MessageType::VoteResp);
        std::uint64_t campaigns = 0;
        for (NodeId id : all)
            campaigns += c.status(id).electionsStarted;
        QVERIFY2(campaigns >= 1 && electionMsgs <= 8 * campaigns,
                 qPrintable(QStringLiteral("seed %1: %2 election messages for %3 campaigns")
                                .arg(seed)
                                .arg(electionMsgs)
                                .arg(campaigns)));
        if (campaigns == 1) {
            // 2 PreVotes, 2 Votes, and their answers (one answer may still be in flight: a quorum of 3 is
            // the candidate plus one vote, and a late Vote request can arrive after the first Append).
            QVERIFY2(electionMsgs >= 6 && electionMsgs <= 8,
                     qPrintable(QStringLiteral("seed %1: %2 election messages").arg(seed).arg(electionMsgs)));
            ++single;
        }
        CHECK_SAFE(c);
    }
    // Randomized timeouts make split pre-votes rare.
    QVERIFY2(single >= runs * 8 / 10,
             qPrintable(QStringLiteral("only %1 of %2 single-round").arg(single).arg(runs)));
}

void tst_RaftScenarios::idleLeaderSendsAtHeartbeatRate() {
    for (int n : {3, 5}) {
        Cluster c(options(n));
        const auto all = c.nodeIds();
        const NodeId l = waitLeader(c, all);
        QVERIFY(l != kNoNode);
        QVERIFY(one(c, "x", n) > 0);
        c.runFor(2 * kSec);
        c.resetStats();
        const int seconds = 20;
        c.runFor(seconds * kSec);
        // Heartbeat every 2 ticks of 50 ms = 10 per second per follower, and nothing else when idle.
        const double perSecondPerFollower = double(c.sentBy(l)) / seconds / (n - 1);
        QVERIFY2(perSecondPerFollower <= 10.0 + 0.1 && perSecondPerFollower >= 5.0,
                 qPrintable(QStringLiteral("leader sends %1 msgs/s per follower").arg(perSecondPerFollower)));
        for (NodeId id : all)
            if (id != l) QVERIFY(double(c.sentBy(id)) / seconds <= 10.0 + 0.1);
        QCOMPARE(c.stats().byType(MessageType::Append), std::uint64_t{0});
        QCOMPARE(c.agreedLeader(all), l);
        CHECK_SAFE(c);
    }
}

void tst_RaftScenarios::basicAgreement() {
    Cluster c(options(3));
    QVERIFY(convergedAll(c));  // the leader's no-op is committed
    const auto base = c.committed().size();
    for (int i = 1; i <= 3; ++i) {
        QCOMPARE(nApplied(c, base + static_cast<std::size_t>(i) + 1), 0);  // nothing committed before start
        const auto idx = one(c, "cmd" + std::to_string(i), 3);
        QVERIFY(idx > 0);
        // The leader's no-op of the term comes first, then one entry per proposal, in order.
        QCOMPARE(idx, base + static_cast<std::size_t>(i));
        for (NodeId id : c.nodeIds())
            QCOMPARE(c.applied(id)[idx - 1].data, "cmd" + std::to_string(i));
    }
    CHECK_SAFE(c);
}

void tst_RaftScenarios::followerFailure() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "101", 3) > 0);
    NodeId l = c.leader();
    const NodeId f1 = all[0] == l ? all[1] : all[0];
    c.isolate(f1);
    QVERIFY(one(c, "102", 2) > 0);
    QVERIFY(one(c, "103", 2) > 0);
    // Lose the other follower: the leader can append but nothing commits.
    l = c.leader();
    NodeId f2 = kNoNode;
    for (NodeId id : all)
        if (id != l && id != f1) f2 = id;
    c.isolate(f2);
    const ProposeResult r = c.propose(l, "104");
    QVERIFY(r.ok());
    c.runFor(5 * kSec);
    QCOMPARE(c.proposals().back().acked, false);
    QCOMPARE(nApplied(c, r.index), 0);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::leaderFailure() {
    Cluster c(options(3));
    QVERIFY(one(c, "101", 3) > 0);
    const NodeId l1 = c.leader();
    c.crash(l1);
    QVERIFY(one(c, "102", 2) > 0);
    const NodeId l2 = c.leader();
    QVERIFY(l2 != l1);
    c.crash(l2);
    // One node left of three: no commit.
    c.runFor(5 * kSec);
    const auto up = upNodes(c);
    QCOMPARE(up.size(), std::size_t{1});
    const auto before = c.applied(up[0]).size();
    c.propose(up[0], "103");
    c.runFor(5 * kSec);
    QCOMPARE(c.applied(up[0]).size(), before);
    c.restart(l1);
    c.restart(l2);
    QVERIFY(one(c, "104", 3) > 0);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::noCommitWithoutMajority() {
    Cluster c(options(5));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "10", 5) > 0);
    const NodeId l = c.leader();
    std::vector<NodeId> followers;
    for (NodeId id : all)
        if (id != l) followers.push_back(id);
    for (int i = 0; i < 3; ++i)
        c.isolate(followers[static_cast<std::size_t>(i)]);
    const ProposeResult r = c.propose(l, "20");
    QVERIFY(r.ok());
    c.runFor(5 * kSec);
    QCOMPARE(nApplied(c, r.index), 0);
    QVERIFY(!c.proposals().back().acked);
    c.healAll();
    // The uncommitted entry may survive or not; the cluster must go on and agree.
    QVERIFY(one(c, "30", 5) > 0);
    QVERIFY(one(c, "1000", 5) > 0);
    QVERIFY(convergedAll(c));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::concurrentProposals() {
    Cluster c(options(3));
    QVERIFY(waitLeader(c, c.nodeIds()) != kNoNode);
    const NodeId l = c.leader();
    std::vector<raftwc::raft::Index> idx;
    for (int i = 0; i < 50; ++i) {
        const ProposeResult r = c.propose(l, "c" + std::to_string(i));
        QVERIFY(r.ok());
        idx.push_back(r.index);
    }
    for (std::size_t i = 1; i < idx.size(); ++i)
        QCOMPARE(idx[i], idx[i - 1] + 1);
    QVERIFY(c.runUntil(
        [&] {
            return std::all_of(c.proposals().begin(), c.proposals().end(), [](auto& p) { return p.acked; });
        },
        5 * kSec));
    QVERIFY(convergedAll(c));
    for (NodeId id : c.nodeIds())
        for (int i = 0; i < 50; ++i)
            QCOMPARE(c.applied(id)[idx[static_cast<std::size_t>(i)] - 1].data, "c" + std::to_string(i));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::rejoinPartitionedLeaderWithStaleEntries() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "101", 3) > 0);
    const NodeId l1 = c.leader();
    c.isolate(l1);
    // The cut-off leader takes proposals it can never commit.
    std::vector<std::size_t> stale;
    for (const char* d : {"102", "103", "104"}) {
        QVERIFY(c.propose(l1, d).ok());
        stale.push_back(c.proposals().size() - 1);
    }
    QVERIFY(one(c, "103b", 2) > 0);
    const NodeId l2 = c.leader();
    QVERIFY(l2 != l1);
    c.isolate(l2);
    c.reconnect(l1);
    QVERIFY(one(c, "104b", 2) > 0);
    c.healAll();
    QVERIFY(one(c, "105", 3) > 0);
    QVERIFY(convergedAll(c));
    for (std::size_t s : stale) {
        QVERIFY(!c.proposals()[s].acked);
        QVERIFY(c.proposals()[s].lost);
    }
    CHECK_SAFE(c);
}

void tst_RaftScenarios::backupQuicklyOverDivergentLogs() {
    // 6.824 TestBackup2B: divergent 50-entry suffixes in several terms; the new leader must bring the
    // stale followers back with a few probes per divergent term, not one per entry.
    Cluster c(options(5, 7));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "start", 5) > 0);
    const NodeId l1 = c.leader();
    std::vector<NodeId> others;
    for (NodeId id : all)
        if (id != l1) others.push_back(id);
    // Leader plus one follower in a minority: 50 entries that never commit.
    c.partition({{l1, others[0]}, {others[1], others[2], others[3]}});
    for (int i = 0; i < 50; ++i)
        QVERIFY(c.propose(l1, "lost-a" + std::to_string(i)).ok());
    c.runFor(2 * kSec);
    // The majority side elects a leader and commits 50 entries.
    const NodeId l2 = waitLeader(c, {others[1], others[2], others[3]});
    QVERIFY(l2 != kNoNode);
    for (int i = 0; i < 50; ++i)
        QVERIFY(c.propose(l2, "ok-b" + std::to_string(i)).ok());
    QVERIFY(c.runUntil([&] { return nApplied(c, c.proposals().back().index) >= 3; }, 10 * kSec));
    // Cut one of the majority off: its leader takes 50 more that never commit.
    NodeId other = kNoNode;
    for (NodeId id : {others[1], others[2], others[3]})
        if (id != l2) other = id;
    c.isolate(other);
    for (int i = 0; i < 50; ++i)
        QVERIFY(c.propose(l2, "lost-c" + std::to_string(i)).ok());
    c.runFor(2 * kSec);
    // The old minority plus `other` form a majority: elect a leader, commit 50.
    std::vector<NodeId> rest2;
    for (NodeId id : {others[1], others[2], others[3]})
        if (id != other) rest2.push_back(id);
    c.partition({{l1, others[0], other}, rest2});
    c.resetStats();  // from here on, two rounds of repairing 50-entry divergent suffixes
    const NodeId l3 = waitLeader(c, {l1, others[0], other});
    QVERIFY(l3 != kNoNode);
    for (int i = 0; i < 50; ++i)
        QVERIFY(c.propose(l3, "ok-d" + std::to_string(i)).ok());
    QVERIFY(c.runUntil([&] { return nApplied(c, c.proposals().back().index) >= 3; }, 10 * kSec));
    // Everyone together: the leader must repair the divergent followers quickly.
    c.healAll();
    QVERIFY(one(c, "end", 5) > 0);
    QVERIFY(convergedAll(c));
    const std::uint64_t rejects = c.stats().appendRejects;
    qInfo("backing up: %llu rejected appends, %llu appends, %llu messages in all",
          static_cast<unsigned long long>(rejects),
          static_cast<unsigned long long>(c.stats().byType(MessageType::Append)),
          static_cast<unsigned long long>(c.stats().sent));
    // Three divergent logs, at most two divergent terms each: a few rejects, not ~50 per node.
    QVERIFY2(rejects <= 12, qPrintable(QStringLiteral("%1 rejected appends to back up").arg(rejects)));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::persistenceFullRestart() {
    Cluster c(options(3));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "11", 3) > 0);
    for (NodeId id : all)
        c.crash(id);
    c.runFor(1 * kSec);
    for (NodeId id : all)
        c.restart(id);
    QVERIFY(one(c, "12", 3) > 0);
    // Crash everyone again, restart in another order; committed entries are re-applied from the log.
    const NodeId l = c.leader();
    c.crash(l);
    c.runFor(1 * kSec);
    c.restart(l);
    QVERIFY(one(c, "13", 3) > 0);
    for (NodeId id : all)
        c.crash(id);
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        c.restart(*it);
    QVERIFY(one(c, "14", 3) > 0);
    QVERIFY(convergedAll(c));
    for (NodeId id : all) {
        std::vector<std::string> datas;
        for (const auto& e : c.applied(id))
            if (e.type == raftwc::raft::EntryType::Normal) datas.push_back(e.data);
        QCOMPARE(datas, (std::vector<std::string>{"11", "12", "13", "14"}));
    }
    CHECK_SAFE(c);
}

void tst_RaftScenarios::persistenceRollingRestarts() {
    Cluster c(options(5, 3));
    const auto all = c.nodeIds();
    QVERIFY(one(c, "r0", 5) > 0);
    for (int round = 0; round < 3; ++round) {
        for (NodeId id : all) {
            c.crash(id);
            QVERIFY(one(c, "r" + std::to_string(round) + "-" + std::to_string(id), 4) > 0);
            c.restart(id);
            QVERIFY(convergedAll(c));
        }
    }
    QVERIFY(one(c, "end", 5) > 0);
    CHECK_SAFE(c);
}

void tst_RaftScenarios::crashWhilePersistingLosesTheReady() {
    // Slow disk: a crash between ready() and the end of the sync loses that Ready and its messages; the
    // node restarts from what was synced and the cluster stays safe and converges.
    ClusterOptions o = options(3, 11);
    o.disk = {5 * kMs, 30 * kMs, 0, 0};
    Cluster c(o);
    QVERIFY(one(c, "a", 3) > 0);
    int lost = 0;
    for (int i = 0; i < 3000 && lost < 20 && c.ok(); ++i) {
        const NodeId l = c.leader();
        if (l != kNoNode) c.propose(l, "p" + std::to_string(i));
        c.runFor(c.rng().range(1, 40) * kMs);
        for (NodeId id : c.nodeIds()) {
            if (c.isBusy(id)) {  // a Ready is being synced: crash now and it is lost
                c.crash(id);
                ++lost;
                c.runFor(c.rng().range(10, 500) * kMs);
                c.restart(id);
                break;
            }
        }
    }
    QVERIFY(lost >= 10);
    QVERIFY(convergedAll(c));
    QVERIFY(one(c, "z", 3) > 0);
    CHECK_SAFE(c);
}

namespace {

void runFigure8(Cluster& c, int iterations, bool unreliable) {
    const auto all = c.nodeIds();
    int up = static_cast<int>(all.size());
    for (int iter = 0; iter < iterations && c.ok(); ++iter) {
        NodeId leader = kNoNode;
        for (NodeId id : all)
            if (c.isUp(id) && c.propose(id, "f" + std::to_string(iter)).ok()) leader = id;
        if (c.rng().chance(0.1))
            c.runFor(c.rng().range(0, 1000) * kMs);  // up to half an election timeout
        else
            c.runFor(c.rng().range(0, 13) * kMs);
        if (leader != kNoNode && c.isUp(leader) && (!unreliable || c.rng().chance(0.5))) {
            c.crash(leader);
            --up;
        }
        if (up < 3) {
            const NodeId s = all[c.rng().below(all.size())];
            if (!c.isUp(s)) {
                c.restart(s);
                ++up;
            }
        }
    }
    for (NodeId id : all)
        c.restart(id);
}

}  // namespace

void tst_RaftScenarios::figure8() {
    Cluster c(options(5, 8));
    QVERIFY(one(c, "start", 1) > 0);
    runFigure8(c, 1000, false);
    qInfo("figure 8: %.1f s virtual, %zu proposals accepted, %llu crashes", double(c.now()) / kSec,
          c.proposals().size(), static_cast<unsigned long long>(c.crashes()));
    QVERIFY(one(c, "end", 5, 30 * kSec) > 0);
    QVERIFY(convergedAll(c));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::figure8Unreliable() {
    ClusterOptions o = options(5, 88);
    o.net.drop = 0.1;
    o.net.reorder = 0.1;
    o.net.reorderMax = 2000 * kMs;  // long reordering, as in 6.824's "long reordering" network
    Cluster c(o);
    QVERIFY(one(c, "start", 1) > 0);
    runFigure8(c, 1000, true);
    qInfo("figure 8 unreliable: %.1f s virtual, %zu proposals accepted, %llu crashes", double(c.now()) / kSec,
          c.proposals().size(), static_cast<unsigned long long>(c.crashes()));
    c.net().drop = 0;
    c.net().reorder = 0;
    QVERIFY(one(c, "end", 5, 30 * kSec) > 0);
    QVERIFY(convergedAll(c));
    CHECK_SAFE(c);
}

void tst_RaftScenarios::churn() {
    for (bool unreliable : {false, true}) {
        ClusterOptions o = options(5, unreliable ? 99 : 9);
        if (unreliable) {
            o.net.drop = 0.1;
            o.net.duplicate = 0.05;
            o.net.reorder = 0.2;
        }
        Cluster c(o);
        const auto all = c.nodeIds();
        std::set<NodeId> isolated, down;
        for (int i = 0; i < 400 && c.ok(); ++i) {
            for (NodeId id : all)
                if (c.isUp(id) && c.rng().chance(0.5))
                    c.propose(id, "ch" + std::to_string(i) + "-" + std::to_string(id));
            c.runFor(c.rng().range(10, 100) * kMs);
            // Nodes are cut off, reconnected, crashed and restarted at random, at most two of the five at
            // once, so three are always up and connected (the leader among them or not).
            const NodeId victim = all[c.rng().below(all.size())];
            const auto dice = c.rng().below(100);
            if (dice < 30) {
                if (isolated.count(victim)) {
                    c.reconnect(victim);
                    isolated.erase(victim);
                } else if (isolated.size() + down.size() < 2) {
                    c.isolate(victim);
                    isolated.insert(victim);
                }
            } else if (dice < 45) {
                if (c.isUp(victim) && isolated.size() + down.size() < 2) {
                    c.crash(victim);
                    down.insert(victim);
                } else if (!c.isUp(victim)) {
                    c.restart(victim);
                    down.erase(victim);
                }
            }
        }
        c.healAll();
        c.net().drop = c.net().duplicate = c.net().reorder = 0;
        for (NodeId id : all)
            c.restart(id);
        const auto ackedDuringChurn = std::count_if(c.proposals().begin(), c.proposals().end(),
                                                    [](const Proposal& p) { return p.acked; });
        QVERIFY2(ackedDuringChurn >= 10, "the churn should let proposals through");
        QVERIFY(one(c, "end", 5, 30 * kSec) > 0);
        QVERIFY(convergedAll(c));  // includes: every acknowledged proposal applied on every node
        qInfo("churn (%s): %lld proposals acknowledged during the churn, %llu crashes",
              unreliable ? "unreliable" : "reliable", static_cast<long long>(ackedDuringChurn),
              static_cast<unsigned long long>(c.crashes()));
        CHECK_SAFE(c);
    }
}

void tst_RaftScenarios::addLearnerIsPromotedAndRemovedNodeStops() {
    ClusterOptions o = options(3);
    o.stopRemovedNodes = true;  // an operator shuts the removed node down as soon as its removal applies
    Cluster c(o);
    QVERIFY(one(c, "a", 3) > 0);
    NodeId l = c.leader();
    const NodeId fresh = c.createNode();
    QVERIFY(c.proposeConfChange(l, ConfChange{ConfChangeType::AddLearner, fresh, {}}).ok());
    // The learner catches up and the leader promotes it by itself.
    QVERIFY(c.runUntil(
        [&] {
            l = c.leader();
            return l != kNoNode && c.status(l).conf.isVoter(fresh) &&
                   c.applied(fresh).size() == c.committed().size();
        },
        10 * kSec));
    QCOMPARE(c.status(l).conf.voters.size(), std::size_t{4});
    QVERIFY(one(c, "b", 4) > 0);
    // Remove the leader itself: it is stopped once the removal applies, the other three go on.
    const NodeId old = c.leader();
    QVERIFY(c.runUntil(
        [&] {
            return c.proposeConfChange(old, ConfChange{ConfChangeType::RemoveNode, old, {}}).ok();
        },
        5 * kSec));
    QVERIFY(c.runUntil([&] { return c.isGone(old); }, 10 * kSec));
    std::vector<NodeId> rest;
    for (NodeId id : c.nodeIds())
        if (!c.isGone(id)) rest.push_back(id);
    QCOMPARE(rest.size(), std::size_t{3});
    QVERIFY(waitLeader(c, rest) != kNoNode);
    QVERIFY(one(c, "c", 3) > 0);
    QVERIFY(!c.status(c.leader()).conf.contains(old));
    QVERIFY(convergedAll(c));
    CHECK_SAFE(c);
}

QTEST_GUILESS_MAIN(tst_RaftScenarios)
#include "tst_raft_scenarios.moc"
