// Unit tests of the Raft core (src/core/raft): one test per rule of the Raft paper, in the style of
// etcd's raft_paper_test.go. Several RawNodes are driven in-process by routing Ready messages through
// the tiny Cluster helper below (the randomized simulation lives in tests/raft/sim/).
#include <QtTest>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "raft/memory_storage.h"
#include "raft/rawnode.h"

using namespace raftwc::raft;

// QTest::toString specializations, so QCOMPARE prints readable values.
namespace QTest {
template <>
char* toString(const EntryType& t) {
    return qstrdup(std::to_string(int(t)).c_str());
}
template <>
char* toString(const ProposeResult::Code& c) {
    return qstrdup(std::to_string(int(c)).c_str());
}
}  // namespace QTest

namespace {
QString name(Role r) {
    return QString::fromLatin1(toString(r).data(), qsizetype(toString(r).size()));
}
QString name(MessageType t) {
    return QString::fromLatin1(toString(t).data(), qsizetype(toString(t).size()));
}
}  // namespace

namespace {

Config testConfig(NodeId id) {
    Config c;
    c.id = id;
    c.electionTicksMin = 10;
    c.electionTicksMax = 20;
    c.heartbeatTicks = 2;
    c.seed = 1000 + id;
    c.checkInvariants = true;
    return c;
}

Entry confEntry(Term t, Index i, ConfChangeType type, NodeId n) {
    return Entry{t, i, EntryType::ConfChange, encodeConfChange(ConfChange{type, n, {}})};
}

/// A storage whose log starts like bootstrap(voters) (term 1) followed by Normal entries of `terms`.
std::unique_ptr<MemoryStorage> storageWith(const std::vector<NodeId>& voters, const std::vector<Term>& terms,
                                           Term hardTerm) {
    auto st = std::make_unique<MemoryStorage>();
    std::vector<Entry> ents;
    for (NodeId v : voters)
        ents.push_back(confEntry(1, ents.size() + 1, ConfChangeType::AddVoter, v));
    for (Term t : terms)
        ents.push_back(Entry{t, ents.size() + 1, EntryType::Normal, "e" + std::to_string(ents.size() + 1)});
    st->append(ents);
    st->setHardState(HardState{hardTerm, kNoNode, static_cast<Index>(voters.size())});
    return st;
}

/// Persists a Ready the way the ordering rule says, and returns its messages.
std::vector<Message> drain(RawNode& n, MemoryStorage& st, std::vector<Entry>* applied = nullptr) {
    std::vector<Message> out;
    while (n.hasReady()) {
        Ready rd = n.ready();
        st.append(rd.entries);
        if (rd.hardState) st.setHardState(*rd.hardState);
        out.insert(out.end(), rd.messages.begin(), rd.messages.end());
        if (applied) applied->insert(applied->end(), rd.committedEntries.begin(), rd.committedEntries.end());
        n.advance();
    }
    return out;
}

std::vector<Message> ofType(const std::vector<Message>& ms, MessageType t) {
    std::vector<Message> out;
    for (const Message& m : ms)
        if (m.type == t) out.push_back(m);
    return out;
}

Message msg(MessageType type, NodeId from, NodeId to, Term term) {
    Message m;
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

/// In-process network of RawNodes over MemoryStorage. Routing is FIFO; links can be cut; a predicate
/// can hold messages back. It checks the Ready ordering rule and state machine safety as it goes.
class Cluster {
  public:
    struct Peer {
        std::unique_ptr<MemoryStorage> storage;
        std::unique_ptr<RawNode> node;
        std::vector<Entry> applied;    ///< Since the last snapshot loaded (if any).
        std::vector<Snapshot> loaded;  ///< Snapshots received and loaded, in order.
        bool down = false;
    };

    std::function<void(Config&)> tweak;        ///< Applied to every node's Config.
    std::function<bool(const Message&)> hold;  ///< Messages for which this is true are parked in `held`.
    std::vector<Message> held;
    std::vector<Message> sent;  ///< Every message ever sent.
    std::set<std::pair<NodeId, NodeId>> cuts;

    RawNode& add(NodeId id, std::unique_ptr<MemoryStorage> st = {}) {
        Peer& p = peers_[id];
        p.storage = st ? std::move(st) : std::make_unique<MemoryStorage>();
        p.node = std::make_unique<RawNode>(config(id), *p.storage);
        p.applied.clear();
        p.loaded.clear();
        p.down = false;
        return *p.node;
    }
    Config config(NodeId id) const {
        Config c = testConfig(id);
        if (tweak) tweak(c);
        return c;
    }
    void bootstrap(const std::vector<NodeId>& voters) {
        for (NodeId v : voters) {
            add(v);
            if (!node(v).bootstrap(voters)) throw std::runtime_error("bootstrap refused");
            flush(v);
        }
    }
    RawNode& node(NodeId id) { return *peers_.at(id).node; }
    MemoryStorage& storage(NodeId id) { return *peers_.at(id).storage; }
    Peer& peer(NodeId id) { return peers_.at(id); }
    Status st(NodeId id) const { return peers_.at(id).node->status(); }

    void flush(NodeId id) {
        Peer& p = peers_.at(id);
        if (p.down) return;
        while (p.node->hasReady()) {
            Ready rd = p.node->ready();
            if (rd.snapshot) {
                if (rd.snapshot->meta.index > rd.hardState.value_or(HardState{}).commit)
                    throw std::runtime_error("snapshot handed out past the commit index");
                p.storage->applySnapshot(*rd.snapshot);
                p.applied.clear();  // the state machine is replaced by the snapshot's
                p.loaded.push_back(*rd.snapshot);
            }
            p.storage->append(rd.entries);
            if (rd.hardState) p.storage->setHardState(*rd.hardState);
            for (const Message& m : rd.messages) {
                // Ready ordering: a granted vote and an acknowledgement are already on "disk".
                if (m.type == MessageType::VoteResp && !m.reject &&
                    (p.storage->hardState().vote != m.to || p.storage->hardState().term != m.term))
                    throw std::runtime_error("vote granted before it was persisted");
                if (m.type == MessageType::AppendResp && !m.reject && m.index > p.storage->lastIndex())
                    throw std::runtime_error("append acknowledged before it was persisted");
                sent.push_back(m);
                queue_.push_back(m);
            }
            for (const Entry& e : rd.committedEntries) {
                const MemoryStorage& ms = *p.storage;
                if (e.index < ms.firstIndex() || e.index > ms.lastIndex() ||
                    !(ms.all()[e.index - ms.firstIndex()] == e))
                    throw std::runtime_error("committed entry handed out before it was persisted");
                const Index after = p.applied.empty()
                                        ? (p.loaded.empty() ? e.index - 1 : p.loaded.back().meta.index)
                                        : p.applied.back().index;
                if (after + 1 != e.index) throw std::runtime_error("committed entries out of order");
                p.applied.push_back(e);
                checkSafety(e);
            }
            p.node->advance();
        }
    }
    void deliver(const Message& m) {
        auto it = peers_.find(m.to);
        if (it == peers_.end() || it->second.down || cuts.count({m.from, m.to})) return;
        it->second.node->step(m);
        flush(m.to);
    }
    /// Delivers until nothing moves.
    void stabilize() {
        for (auto& [id, p] : peers_)
            flush(id);
        int guard = 0;
        while (!queue_.empty()) {
            if (++guard > 1000000) throw std::runtime_error("stabilize does not converge");
            Message m = std::move(queue_.front());
            queue_.pop_front();
            if (hold && hold(m)) {
                held.push_back(std::move(m));
                continue;
            }
            deliver(m);
        }
    }
    void releaseHeld() {
        auto h = std::move(held);
        held.clear();
        for (auto& m : h)
            queue_.push_back(std::move(m));
        stabilize();
    }
    void tick(NodeId id, int n = 1) {
        for (int i = 0; i < n; ++i) {
            if (!peers_.at(id).down) {
                node(id).tick();
                flush(id);
            }
            stabilize();
        }
    }
    void tickAll(int n) {
        for (int i = 0; i < n; ++i) {
            for (auto& [id, p] : peers_)
                if (!p.down) {
                    p.node->tick();
                    flush(id);
                }
            stabilize();
        }
    }
    void isolate(NodeId id) {
        for (auto& [other, p] : peers_) {
            cuts.insert({id, other});
            cuts.insert({other, id});
        }
    }
    void heal() { cuts.clear(); }
    void crash(NodeId id) { peers_.at(id).down = true; }
    /// Restarts from what was persisted (a copy of the storage, as after a crash).
    void restart(NodeId id) {
        auto copy = std::make_unique<MemoryStorage>(*peers_.at(id).storage);
        add(id, std::move(copy));
        flush(id);
    }
    /// The leader with the highest term among live nodes, or kNoNode.
    NodeId leader() const {
        NodeId best = kNoNode;
        Term bestTerm = 0;
        for (const auto& [id, p] : peers_)
            if (!p.down && p.node->status().role == Role::Leader && p.node->status().term >= bestTerm) {
                best = id;
                bestTerm = p.node->status().term;
            }
        return best;
    }
    /// Elects `id` (campaign + deliver).
    void elect(NodeId id) {
        node(id).campaign();
        flush(id);
        stabilize();
    }
    /// The application snapshots node `id` at `i` (it applied that far) and compacts its log.
    Snapshot compact(NodeId id, Index i) {
        MemoryStorage& ms = storage(id);
        Snapshot s;
        s.meta.index = i;
        s.meta.term = ms.term(i);
        s.meta.conf = st(id).conf;
        s.data = "state@" + std::to_string(i);
        ms.compact(s);
        return s;
    }
    std::size_t count(MessageType t, NodeId to, bool withEntries = false) const {
        std::size_t n = 0;
        for (const Message& m : sent)
            if (m.type == t && m.to == to && (!withEntries || !m.entries.empty())) ++n;
        return n;
    }

  private:
    void checkSafety(const Entry& e) {
        auto [it, inserted] = committed_.emplace(e.index, e);
        if (!inserted && !(it->second == e))
            throw std::runtime_error("state machine safety violated at index " + std::to_string(e.index));
    }

    std::map<NodeId, Peer> peers_;
    std::deque<Message> queue_;
    std::map<Index, Entry> committed_;
};

}  // namespace

class tst_RaftCore : public QObject {
    Q_OBJECT

  private slots:
    // encoding and configuration values
    void confChangeRoundTrip();
    void decodeMalformedNeverCrashes();
    void applyConfChangeRules();
    // bootstrap and restart
    void bootstrapSingleNodeElectsAndCommits();
    void bootstrapRefusedOnNonEmptyStorage();
    void restartFromMemoryStorageKeepsState();
    void restartWholeClusterKeepsCommittedEntries();
    void restartAfterTornWriteAdoptsAndPersistsLogTerm();
    // §5.1 terms
    void higherTermMakesFollower_data();
    void higherTermMakesFollower();
    void staleTermMessageIsRejected();
    // §5.2 elections
    void electionTimeoutIsRandomizedInRange();
    void leaderElectedWithMajorityOnly();
    void oneVotePerTermPersistedBeforeResponse();
    void candidateStepsDownOnAppendOfSameTerm();
    void leaderSendsHeartbeatsEveryHeartbeatTicks();
    void nonVotersNeverCampaign();
    // §5.4.1 election restriction
    void voteOnlyForUpToDateLog_data();
    void voteOnlyForUpToDateLog();
    // §5.3 replication
    void leaderAppendsNoOpAtTermStart();
    void leaderCountsOwnEntriesOnlyOncePersisted();
    void followerTruncatesConflictingSuffix();
    void fastBacktrackingOverDivergentLog();
    void heartbeatCommitBoundedByMatch();
    void probeSendsOneMessageAtATime();
    void flowControlBoundsInflight_data();
    void flowControlBoundsInflight();
    void lostAppendIsRecovered();
    // §5.4.2 Figure 8
    void leaderCommitsOnlyOwnTermEntriesByCounting();
    // pre-vote and check-quorum
    void preVotePreventsDisruption_data();
    void preVotePreventsDisruption();
    void followerInLeaseIgnoresVotes();
    void checkQuorumStepsDown_data();
    void checkQuorumStepsDown();
    // membership
    void confChangeNeedsOwnTermCommitAndNoPending();
    void learnerReceivesLogButDoesNotCount();
    void learnerAutoPromotion_data();
    void learnerAutoPromotion();
    void configurationRevertsOnTruncation();
    void removedLeaderStepsDown();
    void serverWithUncommittedRemovalCanStillLead();
    void pendingPromotionDoesNotBlockEveryMajority();
    void lostAppendsDoNotShutTheWindowForEver();
    void followerAcksAndCommitsOnlyUpToLastNewEntry();
    void removedLeaderLeadsUntilTheOthersKnowItsRemoval();
    void promotedMemberThatForgotTheCommitLearnsItFromVoteRequests();
    // async storage writes
    void asyncWritesHoldWhatDependsOnTheDisk();
    // snapshots and compaction
    void snapshotCatchesUpALaggingFollower();
    void snapshotInFlightWaitsForAnswerReportOrTimeout();
    void followerIgnoresStaleSnapshotAndFastForwardsKnownOne();
    void restartFromCompactedStorage();
    void restartAfterSnapshotWithoutItsHardState();
    void compactionPastAppliedIsCaught();
    void asyncWritesApplyNothingPastAnUnpersistedSnapshot();
    // leadership transfer
    void leadershipTransferToLaggingFollower();
    void leadershipTransferAbortsAfterTimeout();
    // robustness
    void garbageMessagesNeverCrash();
    void readyTwiceWithoutAdvanceIsAnError();
    void termChangeDropsObsoleteOutbox();
    void statusAndLoggerReportState();
    void electionEventsDescribeTheCampaign();
};

// ---- encoding and configuration values ----------------------------------------------------------------

void tst_RaftCore::confChangeRoundTrip() {
    for (auto type : {ConfChangeType::AddLearner, ConfChangeType::PromoteLearner, ConfChangeType::RemoveNode,
                      ConfChangeType::AddVoter}) {
        ConfChange cc{type, 0x0102030405060708ull, std::string("addr\0with nul", 13)};
        auto back = decodeConfChange(encodeConfChange(cc));
        QVERIFY(back.has_value());
        QCOMPARE(*back == cc, true);
    }
    QVERIFY(toString(MessageType::TimeoutNow) == "TimeoutNow");
    QVERIFY(toString(Role::PreCandidate) == "PreCandidate");
}

void tst_RaftCore::decodeMalformedNeverCrashes() {
    const std::string good = encodeConfChange(ConfChange{ConfChangeType::AddLearner, 7, "ctx"});
    for (std::size_t n = 0; n < good.size(); ++n)
        QVERIFY(!decodeConfChange(good.substr(0, n)).has_value());
    QVERIFY(!decodeConfChange(good + "x").has_value());  // trailing garbage
    std::string badVersion = good;
    badVersion[0] = 9;
    QVERIFY(!decodeConfChange(badVersion).has_value());
    std::string badType = good;
    badType[1] = 0;
    QVERIFY(!decodeConfChange(badType).has_value());
    badType[1] = 5;
    QVERIFY(!decodeConfChange(badType).has_value());
    QVERIFY(!decodeConfChange(encodeConfChange(ConfChange{ConfChangeType::AddLearner, 0, {}})).has_value());
    std::string hugeLen = good;
    hugeLen[10] = hugeLen[11] = hugeLen[12] = hugeLen[13] = static_cast<char>(0xff);
    QVERIFY(!decodeConfChange(hugeLen).has_value());
    // Random bytes and random mutations: never a crash, and whatever decodes re-encodes identically.
    std::uint64_t x = 12345;
    auto rnd = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    int decoded = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string b = (i % 2) ? good : std::string();
        const std::size_t len = rnd() % 40;
        if (b.empty())
            for (std::size_t k = 0; k < len; ++k)
                b.push_back(static_cast<char>(rnd()));
        else
            b[rnd() % b.size()] = static_cast<char>(rnd());
        auto cc = decodeConfChange(b);
        if (cc) {
            ++decoded;
            QCOMPARE(encodeConfChange(*cc), b);
        }
    }
    QVERIFY(decoded > 0);  // mutations of the context or node still decode
}

void tst_RaftCore::applyConfChangeRules() {
    ConfState cs;
    QVERIFY(applyConfChange(cs, {ConfChangeType::AddVoter, 3, {}}));
    QVERIFY(applyConfChange(cs, {ConfChangeType::AddVoter, 1, {}}));
    QVERIFY(!applyConfChange(cs, {ConfChangeType::AddVoter, 1, {}}));
    QVERIFY(applyConfChange(cs, {ConfChangeType::AddLearner, 2, {}}));
    QVERIFY(!applyConfChange(cs, {ConfChangeType::AddLearner, 3, {}}));
    QVERIFY(!applyConfChange(cs, {ConfChangeType::PromoteLearner, 3, {}}));
    QVERIFY(!applyConfChange(cs, {ConfChangeType::RemoveNode, 9, {}}));
    QVERIFY(!applyConfChange(cs, {ConfChangeType::AddLearner, kNoNode, {}}));
    QCOMPARE(cs.voters, (std::vector<NodeId>{1, 3}));
    QCOMPARE(cs.learners, (std::vector<NodeId>{2}));
    QVERIFY(applyConfChange(cs, {ConfChangeType::PromoteLearner, 2, {}}));
    QCOMPARE(cs.voters, (std::vector<NodeId>{1, 2, 3}));
    QVERIFY(cs.learners.empty());
    QVERIFY(applyConfChange(cs, {ConfChangeType::RemoveNode, 2, {}}));
    QCOMPARE(cs.voters, (std::vector<NodeId>{1, 3}));
    QVERIFY(cs.isVoter(3) && !cs.isVoter(2) && !cs.contains(2));
}

// ---- bootstrap and restart ----------------------------------------------------------------------------

void tst_RaftCore::bootstrapSingleNodeElectsAndCommits() {
    MemoryStorage st;
    RawNode n(testConfig(1), st);
    QVERIFY(n.bootstrap({1}));
    QVERIFY(n.hasReady());
    Ready rd = n.ready();
    QCOMPARE(rd.entries.size(), std::size_t(1));
    QCOMPARE(rd.entries[0].type, EntryType::ConfChange);
    QVERIFY(rd.hardState.has_value());
    QCOMPARE(rd.hardState->commit, Index(1));
    QCOMPARE(rd.committedEntries.size(), std::size_t(1));
    QVERIFY(rd.mustSync);
    st.append(rd.entries);
    st.setHardState(*rd.hardState);
    n.advance();
    QCOMPARE(n.status().conf.voters, (std::vector<NodeId>{1}));

    // A single voter elects itself when its election timeout fires.
    std::vector<Entry> applied;
    int ticks = 0;
    while (n.status().role != Role::Leader && ticks < 100) {
        n.tick();
        ++ticks;
        drain(n, st, &applied);
    }
    QCOMPARE(name(n.status().role), name(Role::Leader));
    QVERIFY(ticks >= 10 && ticks <= 20);
    auto r = n.propose("hello");
    QVERIFY(r.ok());
    drain(n, st, &applied);
    QVERIFY(!applied.empty());
    QCOMPARE(applied.back().data, std::string("hello"));
    QCOMPARE(applied.back().index, r.index);
    QCOMPARE(n.status().commit, r.index);
    QCOMPARE(n.status().applied, r.index);
}

void tst_RaftCore::bootstrapRefusedOnNonEmptyStorage() {
    auto st = storageWith({1, 2}, {}, 1);
    RawNode n(testConfig(1), *st);
    QVERIFY(!n.bootstrap({1}));
    QCOMPARE(n.status().conf.voters, (std::vector<NodeId>{1, 2}));
    MemoryStorage empty;
    RawNode m(testConfig(1), empty);
    QVERIFY(!m.bootstrap({}));
    QVERIFY(!m.bootstrap({1, 1}));
    QVERIFY(m.bootstrap({1, 2, 3}));
    QVERIFY(!m.bootstrap({1}));  // already bootstrapped (entries not yet persisted)
}

void tst_RaftCore::restartFromMemoryStorageKeepsState() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    for (int i = 0; i < 5; ++i)
        QVERIFY(c.node(1).propose("v" + std::to_string(i)).ok());
    c.stabilize();
    c.tickAll(2);  // heartbeats carry the commit index
    const Status before = c.st(2);
    QCOMPARE(before.commit, before.lastIndex);
    const std::size_t appliedBefore = c.peer(2).applied.size();
    QCOMPARE(appliedBefore, std::size_t(before.commit));

    c.crash(2);
    c.restart(2);
    const Status after = c.st(2);
    QCOMPARE(after.term, before.term);
    QCOMPARE(after.vote, before.vote);
    QCOMPARE(after.commit, before.commit);
    QCOMPARE(after.lastIndex, before.lastIndex);
    QCOMPARE(after.lastTerm, before.lastTerm);
    QCOMPARE(after.conf == before.conf, true);
    QCOMPARE(name(after.role), name(Role::Follower));
    // Applied = 0 by default: every committed entry is replayed in order.
    QCOMPARE(c.peer(2).applied.size(), appliedBefore);
    QCOMPARE(c.peer(2).applied.front().index, Index(1));

    // With Config::applied, replay starts after it.
    MemoryStorage copy = c.storage(2);
    Config cfg = testConfig(2);
    cfg.applied = before.commit;
    RawNode again(cfg, copy);
    std::vector<Entry> applied;
    drain(again, copy, &applied);
    QVERIFY(applied.empty());
    QCOMPARE(again.status().applied, before.commit);
}

void tst_RaftCore::restartWholeClusterKeepsCommittedEntries() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    auto r = c.node(1).propose("keep me");
    QVERIFY(r.ok());
    c.stabilize();
    for (NodeId id : {1, 2, 3})
        c.crash(id);
    for (NodeId id : {1, 2, 3})
        c.restart(id);
    c.tickAll(60);
    const NodeId l = c.leader();
    QVERIFY(l != kNoNode);
    QVERIFY(c.st(l).term > r.term);
    bool found = false;
    for (const Entry& e : c.peer(l).applied)
        found = found || (e.index == r.index && e.data == "keep me");
    QVERIFY(found);
}

void tst_RaftCore::restartAfterTornWriteAdoptsAndPersistsLogTerm() {
    // Entries of term 7 reached the disk, their hard state (term 7) did not (found by the simulation, F3).
    auto st = storageWith({1, 2, 3}, {6, 7}, 6);
    st->setHardState(HardState{6, 2, 4});
    RawNode n(testConfig(1), *st);
    QCOMPARE(n.status().term, Term(7));
    QCOMPARE(n.status().vote, kNoNode);
    QVERIFY(n.hasReady());
    Ready rd = n.ready();
    QVERIFY(rd.hardState.has_value());
    QCOMPARE(rd.hardState->term, Term(7));
    QCOMPARE(rd.hardState->vote, kNoNode);
    QCOMPARE(rd.hardState->commit, Index(4));
    QVERIFY(rd.mustSync);
    n.advance();
    // An intact store produces no hard state at start.
    auto ok = storageWith({1, 2, 3}, {6, 7}, 7);
    RawNode m(testConfig(1), *ok);
    while (m.hasReady()) {
        Ready r = m.ready();
        QVERIFY(!r.hardState.has_value());
        m.advance();
    }
}

// ---- §5.1 terms ---------------------------------------------------------------------------------------

void tst_RaftCore::higherTermMakesFollower_data() {
    QTest::addColumn<int>("role");
    QTest::newRow("follower") << int(Role::Follower);
    QTest::newRow("pre-candidate") << int(Role::PreCandidate);
    QTest::newRow("candidate") << int(Role::Candidate);
    QTest::newRow("leader") << int(Role::Leader);
}

void tst_RaftCore::higherTermMakesFollower() {
    QFETCH(int, role);
    auto st = storageWith({1, 2, 3}, {}, 1);
    Config cfg = testConfig(1);
    cfg.preVote = Role(role) == Role::PreCandidate;
    RawNode n(cfg, *st);
    if (Role(role) != Role::Follower) n.campaign();
    if (Role(role) == Role::Leader) {
        Message v = msg(MessageType::VoteResp, 2, 1, n.status().term);
        n.step(v);
    }
    drain(n, *st);
    QCOMPARE(name(n.status().role), name(Role(role)));
    const Term t = n.status().term;

    Message m = msg(MessageType::Heartbeat, 3, 1, t + 5);
    n.step(m);
    QCOMPARE(name(n.status().role), name(Role::Follower));
    QCOMPARE(n.status().term, t + 5);
    QCOMPARE(n.status().leader, NodeId(3));
    QCOMPARE(n.status().vote, kNoNode);
    drain(n, *st);
    QCOMPARE(st->hardState().term, t + 5);  // the new term is persisted
}

void tst_RaftCore::staleTermMessageIsRejected() {
    auto st = storageWith({1, 2, 3}, {}, 5);
    RawNode n(testConfig(1), *st);
    Message app = msg(MessageType::Append, 2, 1, 3);
    app.index = 3;
    app.logTerm = 1;
    app.entries = {Entry{3, 4, EntryType::Normal, "stale"}};
    n.step(app);
    auto out = drain(n, *st);
    QCOMPARE(n.status().lastIndex, Index(3));  // not appended
    QCOMPARE(n.status().leader, kNoNode);
    QCOMPARE(n.status().term, Term(5));
    auto resps = ofType(out, MessageType::AppendResp);
    QCOMPARE(resps.size(), std::size_t(1));
    QCOMPARE(resps[0].term, Term(5));  // tells the stale leader the current term

    // And a stale leader receiving it steps down.
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    const Term t1 = c.st(1).term;
    c.isolate(1);
    c.tickAll(60);  // 2 or 3 takes over in a later term
    QVERIFY(c.leader() == 2 || c.leader() == 3);
    QVERIFY(c.st(c.leader()).term > t1);
    c.heal();
    c.tickAll(3);
    QVERIFY(c.st(1).role != Role::Leader);
    QVERIFY(c.st(1).term > t1);
}

// ---- §5.2 elections -----------------------------------------------------------------------------------

void tst_RaftCore::electionTimeoutIsRandomizedInRange() {
    auto st = storageWith({1, 2, 3}, {}, 1);
    RawNode n(testConfig(1), *st);  // nobody answers: it keeps (pre-)campaigning
    std::set<int> seen;
    int since = 0;
    std::uint64_t elections = 0;
    for (int i = 0; i < 3000; ++i) {
        n.tick();
        ++since;
        drain(n, *st);
        if (n.status().electionsStarted != elections) {
            elections = n.status().electionsStarted;
            QVERIFY2(since >= 10 && since <= 20, qPrintable(QString::number(since)));
            seen.insert(since);
            since = 0;
        }
    }
    QVERIFY(elections >= 100);
    QVERIFY(seen.size() >= 6);           // drawn afresh each period, not a constant
    QCOMPARE(n.status().term, Term(1));  // pre-vote: never raised its term alone
}

void tst_RaftCore::leaderElectedWithMajorityOnly() {
    Cluster c;
    c.tweak = [](Config& cfg) { cfg.preVote = false; };
    c.bootstrap({1, 2, 3, 4, 5});
    c.crash(4);
    c.crash(5);
    c.elect(1);
    QCOMPARE(name(c.st(1).role), name(Role::Leader));  // 3 of 5
    QCOMPARE(c.st(2).leader, NodeId(1));

    Cluster d;
    d.tweak = [](Config& cfg) { cfg.preVote = false; };
    d.bootstrap({1, 2, 3, 4, 5});
    d.crash(3);
    d.crash(4);
    d.crash(5);
    d.elect(1);
    QCOMPARE(name(d.st(1).role), name(Role::Candidate));  // 2 of 5 is not a majority
    d.tick(1, 25);
    QVERIFY(d.leader() == kNoNode);
}

void tst_RaftCore::oneVotePerTermPersistedBeforeResponse() {
    auto st = storageWith({1, 2, 3}, {}, 1);
    RawNode n(testConfig(1), *st);
    Message v2 = msg(MessageType::Vote, 2, 1, 2);
    v2.logTerm = 1;
    v2.index = 3;
    n.step(v2);
    Ready rd = n.ready();
    QVERIFY(rd.hardState.has_value());
    QCOMPARE(rd.hardState->vote, NodeId(2));
    QCOMPARE(rd.hardState->term, Term(2));
    QVERIFY(rd.mustSync);  // the vote is in the same Ready, persisted before the message goes out
    QCOMPARE(rd.messages.size(), std::size_t(1));
    QCOMPARE(name(rd.messages[0].type), name(MessageType::VoteResp));
    QVERIFY(!rd.messages[0].reject);
    st->setHardState(*rd.hardState);
    n.advance();

    Message v3 = v2;
    v3.from = 3;
    n.step(v3);  // same term, other candidate
    auto out = drain(n, *st);
    QCOMPARE(out.size(), std::size_t(1));
    QVERIFY(out[0].reject);
    QCOMPARE(n.status().vote, NodeId(2));
    n.step(v2);  // the same candidate again: granted again
    out = drain(n, *st);
    QCOMPARE(out.size(), std::size_t(1));
    QVERIFY(!out[0].reject);
}

void tst_RaftCore::candidateStepsDownOnAppendOfSameTerm() {
    auto st = storageWith({1, 2, 3}, {}, 1);
    Config cfg = testConfig(1);
    cfg.preVote = false;
    RawNode n(cfg, *st);
    n.campaign();
    drain(n, *st);
    QCOMPARE(name(n.status().role), name(Role::Candidate));
    Message app = msg(MessageType::Append, 2, 1, n.status().term);
    app.index = 3;
    app.logTerm = 1;
    n.step(app);
    QCOMPARE(name(n.status().role), name(Role::Follower));
    QCOMPARE(n.status().leader, NodeId(2));
    QCOMPARE(n.status().term, Term(2));
}

void tst_RaftCore::leaderSendsHeartbeatsEveryHeartbeatTicks() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    const std::size_t before = c.count(MessageType::Heartbeat, 2);
    c.tick(1, 9);
    QCOMPARE(c.count(MessageType::Heartbeat, 2) - before, std::size_t(4));  // every 2 ticks
    QCOMPARE(c.count(MessageType::Heartbeat, 3) - before, std::size_t(4));
    c.tickAll(100);
    QCOMPARE(c.leader(), NodeId(1));  // heartbeats keep followers from campaigning
    QCOMPARE(c.st(2).electionsStarted, std::uint64_t(0));
}

void tst_RaftCore::nonVotersNeverCampaign() {
    MemoryStorage empty;  // not bootstrapped: no configuration
    RawNode n(testConfig(7), empty);
    for (int i = 0; i < 200; ++i) {
        n.tick();
        drain(n, empty);
    }
    QCOMPARE(n.status().electionsStarted, std::uint64_t(0));
    QCOMPARE(n.status().term, Term(0));

    auto st = storageWith({1}, {}, 1);
    st->append({confEntry(1, 2, ConfChangeType::AddLearner, 2)});
    st->setHardState(HardState{1, kNoNode, 2});  // the AddLearner is committed: in force
    RawNode learner(testConfig(2), *st);
    QVERIFY(learner.status().conf.isLearner(2));
    for (int i = 0; i < 200; ++i) {
        learner.tick();
        drain(learner, *st);
    }
    learner.campaign();
    QCOMPARE(learner.status().electionsStarted, std::uint64_t(0));
    QCOMPARE(name(learner.status().role), name(Role::Follower));
}

// ---- §5.4.1 election restriction ----------------------------------------------------------------------

void tst_RaftCore::voteOnlyForUpToDateLog_data() {
    QTest::addColumn<quint64>("logTerm");
    QTest::addColumn<quint64>("index");
    QTest::addColumn<bool>("granted");
    // The voter's log: 3 bootstrap entries (term 1), then index 4 and 5 of term 2.
    QTest::newRow("older last term, longer log") << quint64(1) << quint64(10) << false;
    QTest::newRow("same term, shorter") << quint64(2) << quint64(4) << false;
    QTest::newRow("same term, same length") << quint64(2) << quint64(5) << true;
    QTest::newRow("same term, longer") << quint64(2) << quint64(6) << true;
    QTest::newRow("newer term, shorter") << quint64(3) << quint64(4) << true;
}

void tst_RaftCore::voteOnlyForUpToDateLog() {
    QFETCH(quint64, logTerm);
    QFETCH(quint64, index);
    QFETCH(bool, granted);
    for (auto type : {MessageType::Vote, MessageType::PreVote}) {
        auto st = storageWith({1, 2, 3}, {2, 2}, 2);
        RawNode n(testConfig(1), *st);
        Message v = msg(type, 2, 1, 3);
        v.logTerm = logTerm;
        v.index = index;
        n.step(v);
        auto out = drain(n, *st);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(name(out[0].type),
                 name(type == MessageType::Vote ? MessageType::VoteResp : MessageType::PreVoteResp));
        QCOMPARE(!out[0].reject, granted);
        if (type == MessageType::Vote) QCOMPARE(n.status().vote, granted ? NodeId(2) : kNoNode);
        if (type == MessageType::PreVote)
            QCOMPARE(n.status().term, Term(2));  // pre-vote never moves the term
    }
}

// ---- §5.3 replication ---------------------------------------------------------------------------------

void tst_RaftCore::leaderAppendsNoOpAtTermStart() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(2);
    const Status s = c.st(2);
    QCOMPARE(name(s.role), name(Role::Leader));
    const Entry& last = c.storage(2).all().back();
    QCOMPARE(last.type, EntryType::NoOp);
    QCOMPARE(last.term, s.term);
    QCOMPARE(s.commit, last.index);  // committing the NoOp commits everything before it
    QCOMPARE(c.storage(1).all().back() == last, true);
}

void tst_RaftCore::leaderCountsOwnEntriesOnlyOncePersisted() {
    MemoryStorage st;
    RawNode n(testConfig(1), st);
    QVERIFY(n.bootstrap({1}));
    drain(n, st);
    n.campaign();
    QCOMPARE(name(n.status().role), name(Role::Leader));
    const Index noop = n.status().lastIndex;
    Ready rd = n.ready();
    QCOMPARE(rd.entries.size(), std::size_t(1));
    QVERIFY(n.status().commit < noop);  // a one-node "majority", but not yet persisted
    st.append(rd.entries);
    if (rd.hardState) st.setHardState(*rd.hardState);
    n.advance();
    QCOMPARE(n.status().commit, noop);
    QVERIFY(n.hasReady());
    rd = n.ready();
    QCOMPARE(rd.committedEntries.size(), std::size_t(1));
    QCOMPARE(rd.committedEntries[0].type, EntryType::NoOp);
    n.advance();
}

void tst_RaftCore::followerTruncatesConflictingSuffix() {
    // Figure 7 style: 2 holds an uncommitted suffix of term 2 that the new leader does not have.
    Cluster c;
    c.add(1, storageWith({1, 2, 3}, {2, 3}, 3));
    c.add(2, storageWith({1, 2, 3}, {2, 2, 2, 2, 2}, 2));
    c.add(3, storageWith({1, 2, 3}, {2, 3}, 3));
    c.elect(1);
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    c.tickAll(3);
    QCOMPARE(c.storage(2).all(), c.storage(1).all());
    QCOMPARE(c.storage(3).all(), c.storage(1).all());
    QCOMPARE(c.st(2).commit, c.st(1).commit);
    QCOMPARE(c.storage(2).all().size(), std::size_t(6));  // 3 conf + 2 + NoOp of term 4
}

void tst_RaftCore::fastBacktrackingOverDivergentLog() {
    std::vector<Term> leaderLog(10, 2), followerLog(10, 2);
    leaderLog.insert(leaderLog.end(), 50, 4);
    followerLog.insert(followerLog.end(), 60, 3);
    Cluster c;
    c.add(1, storageWith({1, 2, 3}, leaderLog, 4));
    c.add(2, storageWith({1, 2, 3}, followerLog, 4));
    c.add(3, storageWith({1, 2, 3}, leaderLog, 4));
    c.elect(1);
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    c.tickAll(3);
    QCOMPARE(c.storage(2).all(), c.storage(1).all());
    std::size_t rejects = 0;
    for (const Message& m : c.sent)
        if (m.type == MessageType::AppendResp && m.from == 2 && m.reject) ++rejects;
    QVERIFY2(rejects >= 1 && rejects <= 2, qPrintable(QString::number(rejects)));  // not one per entry
}

void tst_RaftCore::heartbeatCommitBoundedByMatch() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.crash(3);
    c.node(1).propose("x");
    c.stabilize();
    const Index commit = c.st(1).commit;
    c.peer(3).down = false;  // back, but behind: it has not got the last entries
    const std::size_t from = c.sent.size();
    c.hold = [](const Message& m) { return m.type == MessageType::Append && m.to == 3; };
    c.tick(1, 2);
    bool sawHeartbeat = false;
    for (std::size_t i = from; i < c.sent.size(); ++i) {
        const Message& m = c.sent[i];
        if (m.type == MessageType::Heartbeat && m.to == 3) {
            sawHeartbeat = true;
            QVERIFY(m.commit < commit);  // min(commit, match of 3)
        }
        if (m.type == MessageType::Heartbeat && m.to == 2) QCOMPARE(m.commit, commit);
    }
    QVERIFY(sawHeartbeat);
    QVERIFY(c.st(3).commit <= c.st(3).lastIndex);
}

void tst_RaftCore::probeSendsOneMessageAtATime() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.hold = [](const Message& m) { return m.to == 3; };  // 3 stays in Probe
    c.elect(1);
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    const std::size_t before = c.count(MessageType::Append, 3);
    for (int i = 0; i < 10; ++i)
        QVERIFY(c.node(1).propose("p").ok());
    c.stabilize();
    QCOMPARE(c.count(MessageType::Append, 3), before);  // the probe is still unanswered
    const auto prs = c.st(1).progress;
    QVERIFY(prs[2].probing);
    QVERIFY(!prs[1].probing);
    c.hold = nullptr;
    c.releaseHeld();
    c.tickAll(4);
    QCOMPARE(c.storage(3).all(), c.storage(1).all());
}

void tst_RaftCore::flowControlBoundsInflight_data() {
    QTest::addColumn<int>("maxMsgs");
    QTest::addColumn<int>("maxBytes");
    QTest::addColumn<int>("expected");
    QTest::newRow("message bound") << 3 << (1 << 20) << 3;
    QTest::newRow("byte bound") << 100 << 250 << 2;
}

void tst_RaftCore::flowControlBoundsInflight() {
    QFETCH(int, maxMsgs);
    QFETCH(int, maxBytes);
    QFETCH(int, expected);
    Cluster c;
    c.tweak = [&](Config& cfg) {
        cfg.maxInflightMsgs = std::uint32_t(maxMsgs);
        cfg.maxInflightBytes = std::uint64_t(maxBytes);
        cfg.maxMsgBytes = 100;  // one 100-byte entry per message
    };
    c.bootstrap({1, 2});
    c.elect(1);
    QVERIFY(!c.st(1).progress[1].probing);  // 2 is in Replicate
    c.hold = [](const Message& m) { return m.type == MessageType::AppendResp && m.from == 2; };
    const std::size_t before = c.count(MessageType::Append, 2, true);
    for (int i = 0; i < 20; ++i)
        QVERIFY(c.node(1).propose(std::string(100, 'x')).ok());
    c.stabilize();
    QCOMPARE(c.count(MessageType::Append, 2, true) - before, std::size_t(expected));
    const ProgressStatus p = c.st(1).progress[1];
    QCOMPARE(p.inflightMsgs, std::uint32_t(expected));
    QVERIFY(p.inflightBytes <= std::uint64_t(maxBytes));
    // Acknowledgements open the window again; everything arrives and commits.
    c.hold = nullptr;
    c.releaseHeld();
    c.tickAll(2);
    QCOMPARE(c.st(2).commit, c.st(1).lastIndex);
    QCOMPARE(c.st(1).progress[1].inflightMsgs, std::uint32_t(0));
}

void tst_RaftCore::lostAppendIsRecovered() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    bool dropped = false;
    c.hold = [&dropped](const Message& m) {
        if (!dropped && m.type == MessageType::Append && m.to == 3 && !m.entries.empty()) {
            dropped = true;
            return true;
        }
        return false;
    };
    QVERIFY(c.node(1).propose("lost for 3").ok());
    c.stabilize();
    QVERIFY(dropped);
    c.held.clear();  // the message is lost
    c.tickAll(4);
    QCOMPARE(c.storage(3).all(), c.storage(1).all());
    // The gap was detected (a rejected Append from 3) and repaired by probing.
    std::size_t rejects = 0;
    for (const Message& m : c.sent)
        rejects += (m.type == MessageType::AppendResp && m.from == 3 && m.reject);
    QVERIFY(rejects >= 1);
}

// ---- §5.4.2 Figure 8 ----------------------------------------------------------------------------------

void tst_RaftCore::leaderCommitsOnlyOwnTermEntriesByCounting() {
    // Leader 1 has an uncommitted entry of term 2 at index 4 and becomes leader in term 3.
    auto st = storageWith({1, 2, 3}, {2}, 2);
    Config cfg = testConfig(1);
    cfg.preVote = false;
    RawNode n(cfg, *st);
    n.campaign();
    drain(n, *st);
    n.step(msg(MessageType::VoteResp, 2, 1, 3));
    QCOMPARE(name(n.status().role), name(Role::Leader));
    drain(n, *st);
    QCOMPARE(n.status().lastIndex, Index(5));  // NoOp of term 3
    // A follower acknowledges index 4 (term 2): a majority stores it, yet it must not commit.
    Message ack = msg(MessageType::AppendResp, 2, 1, 3);
    ack.index = 4;
    n.step(ack);
    drain(n, *st);
    QCOMPARE(n.status().commit, Index(3));
    // Once the term-3 entry is on a majority, it commits, and index 4 with it.
    ack.index = 5;
    n.step(ack);
    std::vector<Entry> applied;
    drain(n, *st, &applied);
    QCOMPARE(n.status().commit, Index(5));
    QCOMPARE(applied.back().index, Index(5));
}

// ---- pre-vote and check-quorum ------------------------------------------------------------------------

void tst_RaftCore::preVotePreventsDisruption_data() {
    QTest::addColumn<bool>("preVote");
    QTest::newRow("pre-vote") << true;
    QTest::newRow("no pre-vote (control)") << false;
}

void tst_RaftCore::preVotePreventsDisruption() {
    QFETCH(bool, preVote);
    Cluster c;
    c.tweak = [preVote](Config& cfg) { cfg.preVote = preVote; };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    const Term t = c.st(1).term;
    c.isolate(3);
    c.tickAll(100);
    QCOMPARE(c.leader(), NodeId(1));
    QVERIFY(c.st(3).electionsStarted >= 3);
    QCOMPARE(c.st(3).term == t, preVote);  // pre-vote: the partitioned node never raised its term
    c.heal();
    c.tickAll(50);
    if (preVote) {
        QCOMPARE(c.leader(), NodeId(1));
        QCOMPARE(c.st(1).term, t);
        QCOMPARE(c.st(3).leader, NodeId(1));
    } else {
        QVERIFY(c.st(c.leader()).term > t);  // without pre-vote the returning node forced a new term
    }
}

void tst_RaftCore::followerInLeaseIgnoresVotes() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    const Term t = c.st(2).term;
    Message v = msg(MessageType::Vote, 3, 2, t + 1);
    v.logTerm = c.st(3).lastTerm;
    v.index = c.st(3).lastIndex;
    const std::size_t before = c.sent.size();
    c.deliver(v);
    QCOMPARE(c.st(2).term, t);  // heard from the leader within the election timeout
    QCOMPARE(c.st(2).leader, NodeId(1));
    QCOMPARE(c.sent.size(), before);  // no answer at all
    v.transfer = true;                // a leadership transfer bypasses the lease
    c.node(2).step(v);
    QCOMPARE(c.st(2).term, t + 1);
    QCOMPARE(c.st(2).vote, NodeId(3));
}

void tst_RaftCore::checkQuorumStepsDown_data() {
    QTest::addColumn<bool>("checkQuorum");
    QTest::newRow("check-quorum") << true;
    QTest::newRow("no check-quorum (control)") << false;
}

void tst_RaftCore::checkQuorumStepsDown() {
    QFETCH(bool, checkQuorum);
    Cluster c;
    c.tweak = [checkQuorum](Config& cfg) { cfg.checkQuorum = checkQuorum; };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.crash(2);
    c.crash(3);
    c.tick(1, 10);  // first election timeout: the followers were recently active
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    c.tick(1, 10);  // second: nobody answered during it
    QCOMPARE(c.st(1).role == Role::Leader, !checkQuorum);
}

// ---- membership ---------------------------------------------------------------------------------------

void tst_RaftCore::confChangeNeedsOwnTermCommitAndNoPending() {
    MemoryStorage st;
    RawNode n(testConfig(1), st);
    QVERIFY(n.bootstrap({1}));
    drain(n, st);
    const ConfChange add2{ConfChangeType::AddLearner, 2, "addr-2"};
    QCOMPARE(n.proposeConfChange(add2).code, ProposeResult::Code::NotLeader);
    n.campaign();
    QCOMPARE(name(n.status().role), name(Role::Leader));
    // The NoOp of this term is not committed yet.
    QCOMPARE(n.proposeConfChange(add2).code, ProposeResult::Code::ConfChangePending);
    drain(n, st);
    auto r = n.proposeConfChange(add2);
    QVERIFY(r.ok());
    QVERIFY(!n.status().conf.contains(2));  // in force once committed, not when appended
    // One change at a time: the first is not committed yet.
    QCOMPARE(n.proposeConfChange({ConfChangeType::AddLearner, 3, {}}).code,
             ProposeResult::Code::ConfChangePending);
    drain(n, st);  // single voter: commits on persistence
    QCOMPARE(n.status().commit, r.index);
    QVERIFY(n.status().conf.isLearner(2));
    QVERIFY(n.proposeConfChange({ConfChangeType::AddLearner, 3, {}}).ok());
    drain(n, st);
    // Invalid changes are refused.
    QCOMPARE(n.proposeConfChange({ConfChangeType::AddLearner, 3, {}}).code,
             ProposeResult::Code::ConfChangePending);
    QCOMPARE(n.proposeConfChange({ConfChangeType::PromoteLearner, 9, {}}).code,
             ProposeResult::Code::ConfChangePending);
    QCOMPARE(n.proposeConfChange({ConfChangeType::AddVoter, 4, {}}).code,
             ProposeResult::Code::ConfChangePending);
    QCOMPARE(n.proposeConfChange({ConfChangeType::RemoveNode, 1, {}}).code,
             ProposeResult::Code::ConfChangePending);  // would leave no voter
    // The context travels in the entry.
    bool found = false;
    for (const Entry& e : st.confEntries()) {
        auto cc = decodeConfChange(e.data);
        QVERIFY(cc.has_value());
        found = found || (*cc == add2);
    }
    QVERIFY(found);
}

void tst_RaftCore::learnerReceivesLogButDoesNotCount() {
    Cluster c;
    c.tweak = [](Config& cfg) { cfg.autoPromoteLearners = false; };
    c.bootstrap({1, 2});
    c.add(3);
    c.elect(1);
    QVERIFY(c.node(1).proposeConfChange({ConfChangeType::AddLearner, 3, {}}).ok());
    c.stabilize();
    c.tickAll(4);
    QVERIFY(c.st(3).conf.isLearner(3));
    QCOMPARE(c.storage(3).all(), c.storage(1).all());  // the learner has the whole log
    c.crash(2);
    auto r = c.node(1).propose("needs a voter");
    QVERIFY(r.ok());
    c.stabilize();
    QCOMPARE(c.st(3).lastIndex, r.index);  // the learner stored it...
    QVERIFY(c.st(1).commit < r.index);     // ...but does not count toward the majority
    c.peer(2).down = false;
    c.tickAll(4);
    QCOMPARE(c.st(1).commit, r.index);
}

void tst_RaftCore::learnerAutoPromotion_data() {
    QTest::addColumn<bool>("autoPromote");
    QTest::newRow("auto-promote") << true;
    QTest::newRow("no auto-promote (control)") << false;
}

void tst_RaftCore::learnerAutoPromotion() {
    QFETCH(bool, autoPromote);
    Cluster c;
    c.tweak = [autoPromote](Config& cfg) { cfg.autoPromoteLearners = autoPromote; };
    c.bootstrap({1});
    c.tick(1, 20);
    QCOMPARE(c.leader(), NodeId(1));
    for (int i = 0; i < 5; ++i)
        QVERIFY(c.node(1).propose("before").ok());
    c.stabilize();
    c.add(2);
    QVERIFY(c.node(1).proposeConfChange({ConfChangeType::AddLearner, 2, {}}).ok());
    c.stabilize();
    c.tickAll(6);
    const Status s = c.st(1);
    QCOMPARE(s.conf.isVoter(2), autoPromote);
    QCOMPARE(s.conf.isLearner(2), !autoPromote);
    QCOMPARE(c.st(2).conf == s.conf, true);
    if (autoPromote) {
        QCOMPARE(c.leader(), NodeId(1));
        auto r = c.node(1).propose("after");
        c.crash(2);  // now a voter: the leader alone is no longer a majority of {1, 2}
        c.stabilize();
        QVERIFY(c.st(1).commit < r.index);
    }
}

void tst_RaftCore::configurationRevertsOnTruncation() {
    // 2 holds an uncommitted AddLearner 9 at index 4 (term 2) that the leader never had.
    auto st2 = storageWith({1, 2, 3}, {}, 2);
    st2->append({confEntry(2, 4, ConfChangeType::AddLearner, 9)});
    Cluster c;
    c.add(1, storageWith({1, 2, 3}, {3}, 3));
    c.add(2, std::move(st2));
    c.add(3, storageWith({1, 2, 3}, {3}, 3));
    // Rebuilt from Storage::confEntries at start; not in force (uncommitted), and the entry is gone after
    // the truncation (checkInvariants: no configuration from a missing entry).
    QVERIFY(!c.st(2).conf.contains(9));
    c.elect(1);
    c.tickAll(2);
    QVERIFY(!c.st(2).conf.contains(9));
    QCOMPARE(c.st(2).conf.voters, (std::vector<NodeId>{1, 2, 3}));
    QCOMPARE(c.storage(2).all(), c.storage(1).all());
}

void tst_RaftCore::removedLeaderStepsDown() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    auto r = c.node(1).proposeConfChange({ConfChangeType::RemoveNode, 1, {}});
    QVERIFY(r.ok());
    c.stabilize();
    QCOMPARE(name(c.st(1).role), name(Role::Follower));  // stepped down once the removal committed
    QVERIFY(c.st(2).commit >= r.index);
    const std::uint64_t elections = c.st(1).electionsStarted;
    c.tickAll(80);
    const NodeId l = c.leader();
    QVERIFY(l == 2 || l == 3);
    QCOMPARE(c.st(l).conf.voters, (std::vector<NodeId>{2, 3}));
    QCOMPARE(c.st(1).electionsStarted, elections);  // a non-member never campaigns
    QVERIFY(c.node(l).propose("without 1").ok());
    c.stabilize();
    c.tickAll(2);
    QCOMPARE(c.st(2).commit, c.st(l).lastIndex);
}

void tst_RaftCore::pendingPromotionDoesNotBlockEveryMajority() {
    // Issue 8, defect 1 (found by the simulation with small flow-control limits, seed 1701). Voters
    // {1,2,3}, learner 4. Leader 1 appends PromoteLearner(4); only 4 receives it. 1 is cut off; 3 (or 2)
    // wins the next term, and its first entry reaches 4 (which truncates the promotion) but not the
    // other voter. That winner is then lost for good while 1, the other voter and 4 are connected: a
    // majority of {1,2,3} and of {1,2,3,4}. When a configuration counted as soon as it was appended, 1
    // needed 3 of {1,2,3,4} and 4 refused it (newer log), the other voter needed 2 of {1,2,3} and 1
    // refused it (older log), and 4 never campaigned: nobody could ever lead.
    Cluster c;
    c.tweak = [](Config& cfg) { cfg.autoPromoteLearners = false; };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    QCOMPARE(c.leader(), NodeId(1));
    c.add(4);
    QVERIFY(c.node(1).proposeConfChange({ConfChangeType::AddLearner, 4, {}}).ok());
    c.stabilize();
    QVERIFY(c.node(1).propose("x").ok());
    c.stabilize();
    QVERIFY(c.st(1).conf.isLearner(4));
    QCOMPARE(c.storage(4).all(), c.storage(1).all());
    const Term t1 = c.st(1).term;

    // The promotion reaches 4 only.
    c.cuts = {{1, 2}, {1, 3}};
    const auto promote = c.node(1).proposeConfChange({ConfChangeType::PromoteLearner, 4, {}});
    QVERIFY(promote.ok());
    c.stabilize();
    QCOMPARE(c.storage(4).lastIndex(), promote.index);
    QVERIFY(c.st(1).commit < promote.index);

    // 1 is cut off. 2 and 3 elect one of them; its entries reach 4 but never the other voter.
    c.heal();
    c.isolate(1);
    c.hold = [&](const Message& m) {
        return m.term > t1 && (m.to == 2 || m.to == 3) &&
               (m.type == MessageType::Append || m.type == MessageType::Heartbeat);
    };
    NodeId winner = kNoNode;
    for (int i = 0; i < 200 && winner == kNoNode; ++i) {
        c.tick(2);
        c.tick(3);
        for (NodeId id : {NodeId(2), NodeId(3)})
            if (c.st(id).role == Role::Leader) winner = id;
    }
    QVERIFY(winner != kNoNode);
    c.stabilize();
    const NodeId other = winner == 2 ? 3 : 2;
    const Term winnerTerm = c.st(winner).term;
    QCOMPARE(c.storage(4).lastIndex(), promote.index);  // truncated and replaced by the winner's entry
    QVERIFY(c.storage(4).all().back().term > t1);
    QVERIFY(c.storage(other).lastIndex() < promote.index);

    // The winner is lost for good; 1, the other voter and 4 are connected and must elect a leader.
    c.crash(winner);
    c.held.clear();
    c.hold = nullptr;
    c.heal();
    // (1 still believes it leads term t1 until it hears the newer term.)
    auto newLeader = [&] {
        const NodeId l = c.leader();
        return l != kNoNode && c.st(l).term > winnerTerm ? l : kNoNode;
    };
    for (int i = 0; i < 400 && newLeader() == kNoNode; ++i)
        c.tickAll(1);
    const NodeId l = newLeader();
    QVERIFY2(l == 1 || l == other, "no leader among the connected majority");
    const auto r = c.node(l).propose("after");
    QVERIFY(r.ok());
    c.stabilize();
    c.tickAll(3);
    QVERIFY(c.st(l).commit >= r.index);
}

void tst_RaftCore::promotedMemberThatForgotTheCommitLearnsItFromVoteRequests() {
    // Found by the simulation (seeds 57763, 95222). Voters {1,2,3,4} after 4's promotion committed. Leader
    // 1's last entries reach 4 only; 1 is lost for good; 4 restarts from a disk whose commit index predates
    // its promotion (Raft need not persist commit), so the promotion is the last ConfChange of 4's log and
    // not known committed: 4 thinks itself a learner and never campaigns. 2 and 3 need 3 of {1,2,3,4} and 4
    // refuses them (its log is newer): nobody could ever lead. Vote requests now carry the candidate's
    // (commit, term at commit); 4 learns that its promotion is committed, campaigns and wins.
    Cluster c;
    c.tweak = [](Config& cfg) { cfg.autoPromoteLearners = false; };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.add(4);
    const auto addLearner = c.node(1).proposeConfChange({ConfChangeType::AddLearner, 4, {}});
    QVERIFY(addLearner.ok());
    c.stabilize();
    const auto promote = c.node(1).proposeConfChange({ConfChangeType::PromoteLearner, 4, {}});
    QVERIFY(promote.ok());
    c.stabilize();
    QVERIFY(c.node(1).propose("x").ok());
    c.stabilize();
    c.tickAll(3);
    for (NodeId id : {1, 2, 3, 4}) {
        QVERIFY(c.st(id).commit >= promote.index);
        QVERIFY(c.st(id).conf.isVoter(4));
    }

    // 1's next entries reach 4 only; then 1 is lost for good.
    c.cuts = {{1, 2}, {1, 3}};
    QVERIFY(c.node(1).propose("y").ok());
    QVERIFY(c.node(1).propose("z").ok());
    c.stabilize();
    QVERIFY(c.storage(4).lastIndex() > c.storage(2).lastIndex());
    QVERIFY(c.storage(4).lastIndex() > c.storage(3).lastIndex());
    c.crash(1);

    // 4 restarts from a disk whose commit index is older than its promotion.
    c.crash(4);
    HardState hs = c.storage(4).hardState();
    hs.commit = addLearner.index;
    c.storage(4).setHardState(hs);
    c.restart(4);
    QVERIFY(c.st(4).conf.isLearner(4));
    c.heal();
    c.isolate(1);

    NodeId l = kNoNode;
    for (int i = 0; i < 400 && l == kNoNode; ++i) {
        c.tickAll(1);
        l = c.leader();
    }
    QCOMPARE(l, NodeId(4));  // the only member whose log the others accept
    QVERIFY(c.st(4).conf.isVoter(4));
    const auto r = c.node(4).propose("after");
    QVERIFY(r.ok());
    c.stabilize();
    c.tickAll(3);
    for (NodeId id : {2, 3, 4})
        QVERIFY(c.st(id).commit >= r.index);
}

void tst_RaftCore::asyncWritesHoldWhatDependsOnTheDisk() {
    // Async storage writes (rawnode.h): the caller takes Readys while earlier writes are in flight. What
    // describes a write (acknowledgements, vote answers) waits for it; while a new term or vote is not
    // durable nothing leaves; committed entries are handed out only once durable locally; heartbeats do
    // not wait for entry writes.
    auto cfg = [](NodeId id) {
        Config c = testConfig(id);
        c.asyncStorageWrites = true;
        c.preVote = false;  // campaign() moves to a new term at once (a pre-vote needs nothing durable)
        return c;
    };
    MemoryStorage s1, s2;
    RawNode n1(cfg(1), s1), n2(cfg(2), s2);
    for (auto* p : {&n1, &n2})
        QVERIFY(p->bootstrap({1, 2}));
    auto persist = [](MemoryStorage& st, RawNode& n, Ready& rd) {
        st.append(rd.entries);
        if (rd.hardState) st.setHardState(*rd.hardState);
        n.persisted(rd.persistToken);
    };
    for (auto [st, n] : {std::pair{&s1, &n1}, std::pair{&s2, &n2}}) {
        Ready rd = n->ready();
        n->advance();
        persist(*st, *n, rd);
        QVERIFY(rd.committedEntries.empty());  // the bootstrap entries were not durable when handed out
        rd = n->ready();
        QCOMPARE(rd.committedEntries.size(), std::size_t(2));
        n->advance();
    }

    // 1 campaigns: its new term and self-vote are not durable, so its Vote request waits.
    n1.campaign();
    Ready c1 = n1.ready();
    n1.advance();
    QVERIFY(c1.hardState && c1.mustSync);
    auto pick = [&](MessageType t, const std::vector<Message>& v) {
        for (const Message& m : v)
            if (m.type == t) return std::optional<Message>(m);
        return std::optional<Message>();
    };
    QVERIFY(!pick(MessageType::Vote, c1.messages));
    const auto vote = pick(MessageType::Vote, c1.messagesAfterPersist);
    QVERIFY(vote);
    n2.step(*vote);
    Ready r2 = n2.ready();
    n2.advance();
    QVERIFY(!pick(MessageType::VoteResp, r2.messages));
    QVERIFY(pick(MessageType::VoteResp, r2.messagesAfterPersist));
    persist(s2, n2, r2);
    persist(s1, n1, c1);
    // Drive the election to its end, persisting every Ready at once.
    std::deque<Message> net;
    for (const Message& m : r2.messagesAfterPersist)
        net.push_back(m);
    auto drain = [&](RawNode& n, MemoryStorage& st) {
        while (n.hasReady()) {
            Ready rd = n.ready();
            n.advance();
            for (const Message& m : rd.messages)
                net.push_back(m);
            persist(st, n, rd);
            for (const Message& m : rd.messagesAfterPersist)
                net.push_back(m);
        }
    };
    for (int i = 0; i < 100 && !net.empty(); ++i) {
        Message m = net.front();
        net.pop_front();
        (m.to == 1 ? n1 : n2).step(m);
        drain(n1, s1);
        drain(n2, s2);
    }
    QVERIFY(n1.status().role == Role::Leader);
    QVERIFY(net.empty());

    // 1 proposes; its own write is held back. The Append leaves at once (the leader counts itself only once
    // durable); 2's acknowledgement waits for 2's write; nothing commits until both are durable.
    QVERIFY(n1.propose("a").ok());
    Ready l = n1.ready();
    n1.advance();
    const auto app = pick(MessageType::Append, l.messages);
    QVERIFY(app && !app->entries.empty());
    n2.step(*app);
    Ready f = n2.ready();
    n2.advance();
    QVERIFY(!pick(MessageType::AppendResp, f.messages));
    const auto ackMsg = pick(MessageType::AppendResp, f.messagesAfterPersist);
    QVERIFY(ackMsg && !ackMsg->reject);
    // While 2's entry write is in flight, heartbeats still flow both ways.
    for (int i = 0; i < 4; ++i)
        n1.tick();
    Ready hb = n1.ready();
    n1.advance();
    const auto heartbeat = pick(MessageType::Heartbeat, hb.messages);
    QVERIFY(heartbeat);
    n2.step(*heartbeat);
    Ready hr = n2.ready();
    n2.advance();
    QVERIFY(pick(MessageType::HeartbeatResp, hr.messages));
    // 2's write completes: its ack goes; 1 still has not persisted its own entry: no commit.
    persist(s2, n2, f);
    n1.step(*ackMsg);
    QVERIFY(n1.status().commit < ackMsg->index);
    // Reporting writes out of order is an error.
    QVERIFY_THROWS_EXCEPTION(std::logic_error, n1.persisted(l.persistToken + 1));
    persist(s1, n1, l);
    QCOMPARE(n1.status().commit, ackMsg->index);
    Ready done = n1.ready();
    n1.advance();
    QVERIFY(!done.committedEntries.empty());
    QCOMPARE(done.committedEntries.back().data, std::string("a"));
}

void tst_RaftCore::lostAppendsDoNotShutTheWindowForEver() {
    // Found by the simulation with small flow-control limits. Two Appends of 120 B are in flight to 2
    // and lost; the next entry does not fit the 300 B window (240 + 120), which is full neither by count
    // nor by bytes. Heartbeat answers used to free a slot only when it was full by count: 2 never caught up.
    Cluster c;
    c.tweak = [](Config& cfg) {
        cfg.maxMsgBytes = 100;
        cfg.maxInflightMsgs = 8;
        cfg.maxInflightBytes = 300;
    };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.stabilize();
    c.cuts = {{1, 2}};
    for (int i = 0; i < 4; ++i)
        QVERIFY(c.node(1).propose(std::string(120, char('a' + i))).ok());
    c.stabilize();
    QVERIFY(c.storage(2).lastIndex() < c.storage(1).lastIndex());
    c.heal();
    for (int i = 0; i < 20 && c.storage(2).lastIndex() < c.storage(1).lastIndex(); ++i)
        c.tickAll(1);
    QCOMPARE(c.storage(2).lastIndex(), c.storage(1).lastIndex());
    QCOMPARE(c.storage(2).all(), c.storage(1).all());
}

void tst_RaftCore::followerAcksAndCommitsOnlyUpToLastNewEntry() {
    // §5.3: the follower's answer covers the last NEW entry of this Append, and its commit becomes
    // min(leaderCommit, last new entry) — never its own last index: what follows the new entries may be a
    // stale suffix of an old term that the leader does not have (the leader would count it as a copy of
    // its own entries and commit them without a majority).
    auto st = storageWith({1, 2, 3}, {2, 2, 2}, 2);  // 1..3 bootstrap (term 1), then 4@2 5@2 6@2
    RawNode n(testConfig(2), *st);
    drain(n, *st);
    Message m = msg(MessageType::Append, 1, 2, 3);
    m.index = 3;
    m.logTerm = 1;
    m.entries = st->entries(4, 5, SIZE_MAX);  // 4@2, which the leader of term 3 also has
    m.commit = 6;                             // the leader's commit, in the leader's log
    n.step(m);
    Ready rd = n.ready();
    st->append(rd.entries);
    if (rd.hardState) st->setHardState(*rd.hardState);
    n.advance();
    const auto resp = std::find_if(rd.messages.begin(), rd.messages.end(),
                                   [](const Message& x) { return x.type == MessageType::AppendResp; });
    QVERIFY(resp != rd.messages.end());
    QVERIFY(!resp->reject);
    QCOMPARE(resp->index, Index(4));
    QCOMPARE(n.status().commit, Index(4));
    QCOMPARE(n.status().lastIndex, Index(6));  // the stale suffix is not touched without a conflict
}

void tst_RaftCore::removedLeaderLeadsUntilTheOthersKnowItsRemoval() {
    // Voters {1,2,3,4}, 4 lost for good. Leader 1 appends its own removal (index k) and then an entry
    // k+1 that reaches nobody; 2 and 3 acknowledge k, so 1 knows the removal committed, but the messages
    // that would tell them are lost. If 1 stepped down at once (found by the simulation, seed 4277): for
    // 2 and 3 the old configuration {1,2,3,4} is still in force, they need 1's vote, 1 refuses them (its
    // log is longer) and, no longer a voter, never campaigns: no leader ever. 1 must lead until a majority
    // of the new configuration knows the removal committed.
    Cluster c;
    c.bootstrap({1, 2, 3, 4});
    c.elect(1);
    c.stabilize();
    c.isolate(4);
    const auto removal = c.node(1).proposeConfChange({ConfChangeType::RemoveNode, 1, {}});
    QVERIFY(removal.ok());
    QVERIFY(c.node(1).propose("x").ok());
    const Index k = removal.index;
    c.hold = [&](const Message& m) {
        const bool carriesMore = !m.entries.empty() && m.entries.back().index > k;
        return m.from == 1 && (m.commit >= k || carriesMore);
    };
    c.stabilize();
    QVERIFY(c.st(1).commit >= k);  // 1 knows its removal committed
    QVERIFY(c.st(2).commit < k && c.st(3).commit < k);
    c.held.clear();  // lost
    c.hold = nullptr;
    auto newLeader = [&] {
        for (NodeId id : {NodeId(2), NodeId(3)})
            if (c.st(id).role == Role::Leader && c.st(id).commit >= k) return id;
        return kNoNode;
    };
    for (int i = 0; i < 400 && newLeader() == kNoNode; ++i)
        c.tickAll(1);
    const NodeId l = newLeader();
    QVERIFY2(l != kNoNode, "2 and 3 never elected a leader");
    QCOMPARE(c.st(l).conf.voters, (std::vector<NodeId>{2, 3, 4}));
    QVERIFY(c.st(1).role != Role::Leader);
}

void tst_RaftCore::serverWithUncommittedRemovalCanStillLead() {
    // Leader 2 appends its own removal, loses leadership before replicating it, and 1 is down. 3 and 4
    // need 2's vote, and 2 refuses them (its log is longer): 2 itself must be able to campaign
    // (dissertation §4.2.2) to commit the removal. Found by the simulation (seed 169).
    Cluster c;
    c.bootstrap({1, 2, 3, 4});
    c.elect(2);
    c.crash(1);
    c.isolate(2);
    auto r = c.node(2).proposeConfChange({ConfChangeType::RemoveNode, 2, {}});
    QVERIFY(r.ok());
    c.stabilize();
    // The removal is in force nowhere until it commits.
    QCOMPARE(c.st(2).conf.voters, (std::vector<NodeId>{1, 2, 3, 4}));
    QCOMPARE(c.st(3).conf.voters, (std::vector<NodeId>{1, 2, 3, 4}));
    c.tick(2, 25);  // check-quorum: 2 steps down
    QCOMPARE(name(c.st(2).role), name(Role::Follower));
    c.heal();
    c.tickAll(150);
    const NodeId l = c.leader();
    QVERIFY(l == 3 || l == 4);
    QCOMPARE(c.st(l).conf.voters, (std::vector<NodeId>{1, 3, 4}));
    QVERIFY(c.st(l).commit >= r.index);
    QCOMPARE(name(c.st(2).role), name(Role::Follower));
}

// ---- leadership transfer ------------------------------------------------------------------------------

void tst_RaftCore::leadershipTransferToLaggingFollower() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.hold = [](const Message& m) { return m.to == 3; };
    for (int i = 0; i < 3; ++i)
        QVERIFY(c.node(1).propose("lag").ok());
    c.stabilize();
    QVERIFY(c.st(3).lastIndex < c.st(1).lastIndex);
    QVERIFY(!c.node(1).transferLeadership(1));
    QVERIFY(!c.node(1).transferLeadership(9));
    QVERIFY(!c.node(2).transferLeadership(3));  // not the leader
    QVERIFY(c.node(1).transferLeadership(3));
    QCOMPARE(c.st(1).leadTransferee, NodeId(3));
    QCOMPARE(c.node(1).propose("during").code, ProposeResult::Code::Dropped);
    c.hold = nullptr;
    c.releaseHeld();
    c.tickAll(3);
    QCOMPARE(c.leader(), NodeId(3));
    QCOMPARE(name(c.st(1).role), name(Role::Follower));
    QCOMPARE(c.st(1).leader, NodeId(3));
    QCOMPARE(c.storage(3).all(), c.storage(1).all());
}

void tst_RaftCore::leadershipTransferAbortsAfterTimeout() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.crash(3);
    QVERIFY(c.node(1).transferLeadership(3));
    QCOMPARE(c.node(1).propose("x").code, ProposeResult::Code::Dropped);
    c.tick(1, 9);
    QCOMPARE(c.st(1).leadTransferee, NodeId(3));
    c.tickAll(1);
    QCOMPARE(c.st(1).leadTransferee, kNoNode);  // aborted after one election timeout
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    QVERIFY(c.node(1).propose("y").ok());
}

// ---- robustness ---------------------------------------------------------------------------------------

void tst_RaftCore::garbageMessagesNeverCrash() {
    std::uint64_t x = 99;
    auto rnd = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    for (int i = 0; i < 20000; ++i) {
        Message m;
        m.type = static_cast<MessageType>(rnd() % 11);
        m.from = rnd() % 5;
        m.to = 1 + rnd() % 3;
        m.term = rnd() % 6;
        m.logTerm = rnd() % 6;
        m.index = rnd() % 12;
        m.commit = rnd() % 12;
        m.reject = rnd() % 2;
        m.rejectHint = rnd() % 12;
        m.rejectHintTerm = rnd() % 6;
        m.transfer = rnd() % 2;
        const std::size_t n = rnd() % 3;
        for (std::size_t k = 0; k < n; ++k)
            m.entries.push_back(Entry{rnd() % 6, m.index + 1 + k, static_cast<EntryType>(rnd() % 4),
                                      (rnd() % 2) ? std::string("junk") : std::string("\x01\x03", 2)});
        c.node(m.to).step(m);  // invariants are checked after every input
        c.flush(m.to);
        if (i % 50 == 0) c.tickAll(1);
    }
    QVERIFY(true);  // reaching here means no exception and no invariant violation
}

void tst_RaftCore::readyTwiceWithoutAdvanceIsAnError() {
    MemoryStorage st;
    RawNode n(testConfig(1), st);
    QVERIFY(n.bootstrap({1}));
    (void)n.ready();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, n.ready());
}

void tst_RaftCore::termChangeDropsObsoleteOutbox() {
    // A leader's queued Appends must not go out after it moved to a newer term and truncated the entries
    // they describe (found by the simulation, seed 9815).
    auto st = storageWith({1, 2, 3, 4, 5}, {}, 2);
    Config cfg = testConfig(1);
    cfg.preVote = false;
    RawNode n(cfg, *st);
    n.campaign();
    drain(n, *st);
    n.step(msg(MessageType::VoteResp, 2, 1, 3));
    n.step(msg(MessageType::VoteResp, 3, 1, 3));
    QCOMPARE(name(n.status().role), name(Role::Leader));
    drain(n, *st);
    Message ack = msg(MessageType::AppendResp, 2, 1, 3);
    ack.index = 6;  // 2 has the NoOp (not committed: 2 of 5): Replicate state, proposals go out at once
    n.step(ack);
    drain(n, *st);
    QVERIFY(n.propose("doomed").ok());  // an Append for index 7 is now in the outbox
    QVERIFY(n.hasReady());
    Message app = msg(MessageType::Append, 3, 1, 4);
    app.index = 5;
    app.logTerm = 1;
    app.entries = {Entry{4, 6, EntryType::NoOp, {}}};
    n.step(app);
    QCOMPARE(n.status().term, Term(4));
    QCOMPARE(n.status().lastIndex, Index(6));  // 6@t3 and 7@t3 truncated
    Ready rd = n.ready();
    QVERIFY(!rd.messages.empty());
    for (const Message& m : rd.messages) {
        QCOMPARE(m.term, Term(4));
        QCOMPARE(name(m.type), name(MessageType::AppendResp));
    }
    n.advance();
}

void tst_RaftCore::statusAndLoggerReportState() {
    std::vector<std::string> lines;
    Cluster c;
    c.tweak = [&lines](Config& cfg) {
        if (cfg.id == 1) cfg.logger = [&lines](LogLevel, std::string_view text) { lines.emplace_back(text); };
        cfg.autoPromoteLearners = false;
    };
    c.bootstrap({1, 2, 3});
    c.add(4);
    c.elect(1);
    QVERIFY(c.node(1).proposeConfChange({ConfChangeType::AddLearner, 4, {}}).ok());
    c.stabilize();
    c.tickAll(2);
    const Status s = c.st(1);
    QCOMPARE(s.id, NodeId(1));
    QCOMPARE(s.leader, NodeId(1));
    QCOMPARE(s.vote, NodeId(1));
    QCOMPARE(s.electionsStarted, std::uint64_t(1));
    QCOMPARE(s.commit, s.lastIndex);
    QCOMPARE(s.applied, s.commit);
    QCOMPARE(s.lastTerm, s.term);
    QCOMPARE(s.progress.size(), std::size_t(4));
    for (std::size_t i = 0; i < s.progress.size(); ++i) {
        const ProgressStatus& p = s.progress[i];
        QCOMPARE(p.id, NodeId(i + 1));  // sorted by id
        QCOMPARE(p.voter, p.id != 4);
        QCOMPARE(p.match, s.lastIndex);
        QCOMPARE(p.next, s.lastIndex + 1);
        QVERIFY(p.match < p.next);
    }
    QVERIFY(c.st(2).progress.empty());  // followers report none
    QCOMPARE(c.st(2).leader, NodeId(1));
    auto has = [&lines](std::string_view needle) {
        for (const auto& l : lines)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    };
    QVERIFY(has("raft 1 [term 1] moves to term 2"));
    QVERIFY(has("became leader"));
    QVERIFY(has("grants pre-vote") || has("starts a pre-vote"));
    QVERIFY(has("membership change at index 5: add learner 4"));
    // Refusals are logged with their reason.
    lines.clear();
    Message v = msg(MessageType::Vote, 2, 1, s.term + 1);
    v.transfer = true;  // past the lease
    v.logTerm = 1;
    v.index = 1;
    c.node(1).step(v);
    QVERIFY(has("refuses vote to 2"));
    QVERIFY(has("its log is behind"));
}

void tst_RaftCore::electionEventsDescribeTheCampaign() {
    // Node 1 campaigns (pre-vote, then vote) in a 3-node cluster where node 3's log is ahead of it:
    // node 2 grants both, node 3 refuses both because 1's log is behind; 1 wins with {1, 2}.
    std::map<NodeId, std::vector<ElectionEvent>> events;
    Cluster c;
    c.tweak = [&events](Config& cfg) {
        const NodeId id = cfg.id;
        cfg.onEvent = [&events, id](const ElectionEvent& e) { events[id].push_back(e); };
        cfg.checkQuorum = false;  // no lease: the followers of 3 answer 1 at once
    };
    c.bootstrap({1, 2, 3});
    c.elect(3);
    c.node(3).propose("x");
    c.cuts = {{3, 1}, {3, 2}};  // the entry reaches nobody: 3's log is ahead of 1's and 2's
    c.stabilize();
    c.cuts.clear();
    c.crash(3);
    c.restart(3);
    events.clear();
    c.elect(1);
    QCOMPARE(name(c.st(1).role), name(Role::Leader));
    const Term t = c.st(1).term;

    auto count = [&](NodeId n, ElectionEvent::Kind k, bool pre) {
        return std::count_if(events[n].begin(), events[n].end(),
                             [&](const ElectionEvent& e) { return e.kind == k && e.preVote == pre; });
    };
    QCOMPARE(count(1, ElectionEvent::Kind::Campaign, true), 1);
    QCOMPARE(count(1, ElectionEvent::Kind::Campaign, false), 1);
    QCOMPARE(events[1].front().term, t);  // the pre-vote asks for the term the real vote then takes
    QCOMPARE(count(1, ElectionEvent::Kind::Elected, false), 1);
    const auto elected = *std::find_if(events[1].begin(), events[1].end(), [](const ElectionEvent& e) {
        return e.kind == ElectionEvent::Kind::Elected && !e.preVote;
    });
    QCOMPARE(elected.term, t);
    QVERIFY(std::find(elected.votes.begin(), elected.votes.end(), NodeId(1)) != elected.votes.end());
    QVERIFY(std::find(elected.votes.begin(), elected.votes.end(), NodeId(2)) != elected.votes.end());
    QVERIFY(std::find(elected.votes.begin(), elected.votes.end(), NodeId(3)) == elected.votes.end());
    // Node 2 granted; node 3 refused with the reason.
    QVERIFY(count(2, ElectionEvent::Kind::Vote, false) >= 1);
    for (const auto& e : events[2])
        if (e.kind == ElectionEvent::Kind::Vote) {
            QCOMPARE(e.peer, NodeId(1));
            QVERIFY(e.granted);
            QCOMPARE(QString::fromStdString(e.reason), QStringLiteral("granted"));
        }
    bool refusedBehind = false;
    for (const auto& e : events[3])
        if (e.kind == ElectionEvent::Kind::Vote && !e.granted && e.peer == 1)
            refusedBehind = refusedBehind || e.reason.find("log is behind") != std::string::npos;
    QVERIFY(refusedBehind);
    // The candidate heard 2's grant (3's refusal arrives after the quorum and is not counted).
    bool heard2 = false;
    for (const auto& e : events[1])
        if (e.kind == ElectionEvent::Kind::VoteReply) heard2 = heard2 || (e.peer == 2 && e.granted);
    QVERIFY(heard2);

    // A follower in its lease reports the request it ignores.
    std::vector<ElectionEvent> leased;
    Cluster d;
    d.tweak = [&leased](Config& cfg) {
        if (cfg.id == 2) cfg.onEvent = [&leased](const ElectionEvent& e) { leased.push_back(e); };
    };
    d.bootstrap({1, 2, 3});
    d.elect(1);
    leased.clear();
    const Term dt = d.st(2).term;
    Message v = msg(MessageType::Vote, 3, 2, dt + 1);
    v.logTerm = d.st(3).lastTerm;
    v.index = d.st(3).lastIndex;
    d.deliver(v);
    QCOMPARE(leased.size(), std::size_t(1));
    QVERIFY(!leased[0].granted);
    QCOMPARE(leased[0].peer, NodeId(3));
    QVERIFY(leased[0].reason.find("is alive") != std::string::npos);
}

// ---- snapshots and compaction --------------------------------------------------------------------

void tst_RaftCore::snapshotCatchesUpALaggingFollower() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.isolate(3);
    for (int i = 0; i < 10; ++i)
        QVERIFY(c.node(1).propose("v" + std::to_string(i)).ok());
    c.stabilize();
    c.tickAll(2);
    const Index applied = c.st(1).applied;
    QVERIFY(applied >= 13);
    QVERIFY(c.st(3).lastIndex < applied);
    const Snapshot snap = c.compact(1, applied);
    QCOMPARE(c.st(1).snapshotIndex, applied);

    c.heal();
    c.tickAll(4);  // the heartbeat's answer shows node 3 behind; its next entry is compacted away
    QCOMPARE(c.count(MessageType::Snapshot, 3), std::size_t(1));
    QCOMPARE(c.count(MessageType::Snapshot, 2), std::size_t(0));  // node 2 is replicated from the log
    QCOMPARE(c.peer(3).loaded.size(), std::size_t(1));
    QVERIFY(c.peer(3).loaded.front() == snap);
    QCOMPARE(c.storage(3).firstIndex(), applied + 1);
    QCOMPARE(c.st(3).commit, applied);
    QCOMPARE(c.st(3).snapshotIndex, applied);
    QVERIFY(c.st(3).conf == snap.meta.conf);

    // Replication resumes from the log after the snapshot.
    const auto r = c.node(1).propose("after");
    QVERIFY(r.ok());
    c.stabilize();
    c.tickAll(2);
    QCOMPARE(c.st(3).commit, r.index);
    QCOMPARE(c.peer(3).applied.back().data, std::string("after"));
    QCOMPARE(c.peer(3).applied.front().index, applied + 1);
}

void tst_RaftCore::snapshotInFlightWaitsForAnswerReportOrTimeout() {
    Cluster c;
    c.tweak = [](Config& cfg) { cfg.snapshotTimeoutTicks = 30; };
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.isolate(3);
    for (int i = 0; i < 5; ++i)
        QVERIFY(c.node(1).propose("v" + std::to_string(i)).ok());
    c.stabilize();
    c.tickAll(2);
    c.compact(1, c.st(1).applied);
    c.hold = [](const Message& m) { return m.type == MessageType::Snapshot; };  // its bulk is "in transit"
    c.heal();
    c.tick(1, 4);
    QCOMPARE(c.held.size(), std::size_t(1));
    // Heartbeats go on; no second snapshot, no Append while one is pending.
    const std::size_t appends = c.count(MessageType::Append, 3);
    c.tick(1, 20);
    QCOMPARE(c.held.size(), std::size_t(1));
    QCOMPARE(c.count(MessageType::Append, 3), appends);
    auto pr = [&] {
        for (const ProgressStatus& p : c.st(1).progress)
            if (p.id == 3) return p;
        return ProgressStatus{};
    };
    QCOMPARE(pr().pendingSnapshot, c.st(1).snapshotIndex);

    // The transport reports a failure: after a heartbeat's answer the leader sends it again.
    c.held.clear();
    c.node(1).reportSnapshot(3, false);
    QCOMPARE(pr().pendingSnapshot, Index(0));
    c.tick(1, 4);
    QCOMPARE(c.held.size(), std::size_t(1));

    // Nothing is reported and nothing answers: after snapshotTimeoutTicks the leader tries again.
    c.held.clear();
    const std::size_t appendsBefore = c.count(MessageType::Append, 3);
    int ticks = 0;
    while (c.held.empty() && ticks < 100) {
        c.tick(1);
        ++ticks;
    }
    QCOMPARE(c.held.size(), std::size_t(1));
    QVERIFY2(ticks >= 25 && ticks <= 31, std::to_string(ticks).c_str());  // 30 ticks after it was sent
    QCOMPARE(c.count(MessageType::Append, 3), appendsBefore);

    // Delivered at last: node 3 installs it and catches up.
    c.hold = nullptr;
    c.releaseHeld();
    c.tickAll(4);
    QCOMPARE(c.st(3).commit, c.st(1).commit);
    QCOMPARE(pr().pendingSnapshot, Index(0));
    QVERIFY(!pr().probing);
}

void tst_RaftCore::followerIgnoresStaleSnapshotAndFastForwardsKnownOne() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    for (int i = 0; i < 4; ++i)
        QVERIFY(c.node(1).propose("v" + std::to_string(i)).ok());
    c.stabilize();
    c.tickAll(2);
    const Status s2 = c.st(2);
    const Term term = s2.term;

    // A snapshot at or below the commit index changes nothing: answered with the commit index.
    Message m = msg(MessageType::Snapshot, 1, 2, term);
    m.snapshot.meta = {s2.commit - 1, term, s2.conf};
    c.sent.clear();
    c.deliver(m);
    QCOMPARE(c.peer(2).loaded.size(), std::size_t(0));
    QCOMPARE(c.storage(2).firstIndex(), Index(1));
    auto resp = ofType(c.sent, MessageType::AppendResp);
    QCOMPARE(resp.size(), std::size_t(1));
    QCOMPARE(resp.front().index, s2.commit);

    // Past the commit, but the log holds that (index, term): only the commit index moves.
    Message app = msg(MessageType::Append, 1, 2, term);
    app.index = s2.lastIndex;
    app.logTerm = term;
    app.commit = s2.commit;
    app.entries = {Entry{term, s2.lastIndex + 1, EntryType::Normal, "x"},
                   Entry{term, s2.lastIndex + 2, EntryType::Normal, "y"}};
    c.deliver(app);
    const Status again = c.st(2);
    QCOMPARE(again.lastIndex, s2.lastIndex + 2);
    QCOMPARE(again.commit, s2.commit);
    m.snapshot.meta = {s2.lastIndex + 1, term, again.conf};
    c.deliver(m);
    QCOMPARE(c.peer(2).loaded.size(), std::size_t(0));
    QCOMPARE(c.st(2).commit, s2.lastIndex + 1);
    QCOMPARE(c.st(2).lastIndex, s2.lastIndex + 2);  // the entry after it stays

    // Malformed ones (no voters, term past the message's) are dropped.
    Message bad = msg(MessageType::Snapshot, 1, 2, term);
    bad.snapshot.meta = {again.lastIndex + 5, term + 1, again.conf};
    c.sent.clear();
    c.deliver(bad);
    bad.snapshot.meta = {again.lastIndex + 5, term, {}};
    c.deliver(bad);
    QCOMPARE(c.peer(2).loaded.size(), std::size_t(0));
    QVERIFY(ofType(c.sent, MessageType::AppendResp).empty());
}

void tst_RaftCore::restartFromCompactedStorage() {
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    for (int i = 0; i < 6; ++i)
        QVERIFY(c.node(1).propose("v" + std::to_string(i)).ok());
    c.stabilize();
    c.tickAll(2);
    const Status before = c.st(2);
    const Index at = before.applied - 2;
    c.compact(2, at);
    c.crash(2);
    c.restart(2);
    const Status after = c.st(2);
    QCOMPARE(after.commit, before.commit);
    QCOMPARE(after.lastIndex, before.lastIndex);
    QCOMPARE(after.snapshotIndex, at);
    QVERIFY(after.conf == before.conf);
    // Only the tail after the snapshot is replayed (the state machine is loaded from the snapshot).
    QCOMPARE(c.peer(2).applied.size(), std::size_t(2));
    QCOMPARE(c.peer(2).applied.front().index, at + 1);
    // And it still takes part: it can even lead.
    QVERIFY(c.node(1).transferLeadership(2));
    c.stabilize();
    QCOMPARE(name(c.st(2).role), name(Role::Leader));
    QVERIFY(c.node(2).propose("from 2").ok());
    c.stabilize();
    c.tickAll(2);
    QCOMPARE(c.peer(1).applied.back().data, std::string("from 2"));
}

void tst_RaftCore::restartAfterSnapshotWithoutItsHardState() {
    // A crash after a received snapshot reached the disk but before the hard state of that Ready did: the
    // stored commit index is below the snapshot's. Everything the snapshot covers is committed all the same.
    MemoryStorage st;
    st.append({confEntry(1, 1, ConfChangeType::AddVoter, 1), confEntry(1, 2, ConfChangeType::AddVoter, 2)});
    st.setHardState({2, 1, 2});
    Snapshot snap;
    snap.meta = {9, 3, {{1, 2}, {}}};
    snap.data = "state@9";
    st.applySnapshot(snap);
    RawNode n(testConfig(2), st);
    const Status s = n.status();
    QCOMPARE(s.commit, Index(9));
    QCOMPARE(s.applied, Index(9));
    QCOMPARE(s.snapshotIndex, Index(9));
    QCOMPARE(s.lastIndex, Index(9));
    QCOMPARE(s.lastTerm, Term(3));
    QCOMPARE(s.term, Term(3));  // the snapshot's term is adopted, with no vote (as for a torn entry write)
    QCOMPARE(s.vote, kNoNode);
    QVERIFY(s.conf == snap.meta.conf);
    QVERIFY(n.hasReady());
    Ready rd = n.ready();
    QVERIFY(rd.committedEntries.empty());
    QVERIFY(rd.hardState && rd.hardState->commit == 9 && rd.hardState->term == 3);
}

void tst_RaftCore::compactionPastAppliedIsCaught() {
    // An application that compacts past what it applied (a snapshot past the commit index) is a bug the
    // invariant checks report at the next input.
    Cluster c;
    c.bootstrap({1, 2, 3});
    c.elect(1);
    c.isolate(2);
    c.isolate(3);
    QVERIFY(c.node(1).propose("uncommitted").ok());
    c.stabilize();
    const Status s = c.st(1);
    QVERIFY(s.lastIndex > s.applied);
    c.compact(1, s.lastIndex);
    bool threw = false;
    try {
        c.node(1).tick();
    } catch (const std::logic_error& e) {
        threw = std::string(e.what()).find("compacted") != std::string::npos;
    }
    QVERIFY(threw);
}

void tst_RaftCore::asyncWritesApplyNothingPastAnUnpersistedSnapshot() {
    MemoryStorage st;
    st.append({confEntry(1, 1, ConfChangeType::AddVoter, 1), confEntry(1, 2, ConfChangeType::AddVoter, 2)});
    st.setHardState({1, kNoNode, 2});
    Config cfg = testConfig(2);
    cfg.asyncStorageWrites = true;
    RawNode n(cfg, st);
    std::vector<Entry> applied;
    while (n.hasReady()) {
        Ready rd = n.ready();
        applied.insert(applied.end(), rd.committedEntries.begin(), rd.committedEntries.end());
        n.advance();
        n.persisted(rd.persistToken);
    }
    // The leader (node 1, term 3) sends a snapshot at 10, then entries 11-12 committed up to 12.
    Message snap = msg(MessageType::Snapshot, 1, 2, 3);
    snap.snapshot.meta = {10, 3, {{1, 2}, {}}};
    snap.snapshot.data = "state@10";
    n.step(snap);
    Ready r1 = n.ready();
    QVERIFY(r1.snapshot && r1.snapshot->meta.index == 10);
    QVERIFY(r1.committedEntries.empty());
    QVERIFY(r1.mustSync);
    QVERIFY(r1.messages.empty());  // the answer describes the write: it waits for it
    QCOMPARE(r1.messagesAfterPersist.size(), std::size_t(1));
    n.advance();
    Message app = msg(MessageType::Append, 1, 2, 3);
    app.index = 10;
    app.logTerm = 3;
    app.commit = 12;
    app.entries = {Entry{3, 11, EntryType::Normal, "a"}, Entry{3, 12, EntryType::Normal, "b"}};
    n.step(app);
    Ready r2 = n.ready();
    QCOMPARE(r2.entries.size(), std::size_t(2));
    QVERIFY(r2.committedEntries.empty());  // committed, but neither they nor the snapshot are durable
    n.advance();
    QVERIFY(!n.hasReady() || n.ready().committedEntries.empty());
    // The writes complete in order: snapshot first, then the entries; only then are 11-12 applied.
    st.applySnapshot(*r1.snapshot);
    if (r1.hardState) st.setHardState(*r1.hardState);
    n.persisted(r1.persistToken);
    st.append(r2.entries);
    if (r2.hardState) st.setHardState(*r2.hardState);
    n.persisted(r2.persistToken);
    std::vector<Entry> after;
    while (n.hasReady()) {
        Ready rd = n.ready();
        after.insert(after.end(), rd.committedEntries.begin(), rd.committedEntries.end());
        n.advance();
        n.persisted(rd.persistToken);
    }
    QCOMPARE(after.size(), std::size_t(2));
    QCOMPARE(after.front().index, Index(11));
    QCOMPARE(n.status().applied, Index(12));
    QCOMPARE(n.status().snapshotIndex, Index(10));
}

QTEST_APPLESS_MAIN(tst_RaftCore)
#include "tst_raft_core.moc"
