// RaftLogStore: same answers as raft::MemoryStorage for random persist sequences (with reopens, segment
// rolls and cache evictions), ConfChange list, persist ordering and error behaviour.
#include <QTemporaryDir>
#include <QtTest>

#include "raft/memory_storage.h"
#include "storage/raft_log_store.h"
#include "storage_test_util.h"

using namespace raftwc;
using namespace raftwc::storage;
using test::FaultyFileOps;

namespace {

std::unique_ptr<RaftLogStore> openStore(const std::string& dir, std::size_t cacheBytes,
                                        std::shared_ptr<FileOps> ops = nullptr) {
    RaftLogStoreOptions o;
    o.dir = dir;
    o.segmentBytes = 8192;
    o.cacheBytes = cacheBytes;
    o.fileOps = std::move(ops);
    auto r = RaftLogStore::open(std::move(o));
    if (!r.ok()) qWarning("open failed: %s", r.status().message().c_str());
    return r.ok() ? r.take() : nullptr;
}

/// Compares every Storage answer; returns a description of the first difference.
std::string compare(const raft::Storage& a, const raft::Storage& b, std::mt19937_64& rng) {
    if (a.hardState() != b.hardState()) return "hardState";
    if (a.firstIndex() != b.firstIndex()) return "firstIndex";
    if (a.lastIndex() != b.lastIndex()) return "lastIndex";
    for (raft::Index i = a.firstIndex() - 1; i <= a.lastIndex(); ++i)
        if (a.term(i) != b.term(i)) return "term(" + std::to_string(i) + ")";
    if (a.confEntries() != b.confEntries()) return "confEntries";
    const raft::Index last = a.lastIndex();
    for (int k = 0; k < 10; ++k) {
        const raft::Index lo = 1 + rng() % (last + 1);
        const raft::Index hi = lo + rng() % (last + 2 - lo);
        const std::size_t maxBytes = rng() % 3 == 0 ? SIZE_MAX : rng() % 5000;
        if (a.entries(lo, hi, maxBytes) != b.entries(lo, hi, maxBytes))
            return "entries(" + std::to_string(lo) + ", " + std::to_string(hi) + ", " +
                   std::to_string(maxBytes) + ")";
    }
    return {};
}

raft::Entry randomEntry(std::mt19937_64& rng, raft::Index index, raft::Term term) {
    raft::Entry e;
    e.index = index;
    e.term = term;
    const int kind = static_cast<int>(rng() % 10);
    if (kind == 0) {
        e.type = raft::EntryType::ConfChange;
        e.data = raft::encodeConfChange(raft::ConfChange{raft::ConfChangeType::AddLearner, index, "addr"});
    } else if (kind == 1) {
        e.type = raft::EntryType::NoOp;
    } else {
        e.type = raft::EntryType::Normal;
        e.data = test::randomBytes(rng, rng() % 1500);
    }
    return e;
}

}  // namespace

class TestRaftLogStore : public QObject {
    Q_OBJECT
  private slots:
    void conformsToMemoryStorage_data();
    void conformsToMemoryStorage();
    void storageReadsOutOfRangeThrow();
    void entriesThenHardState();
    void dropPrefixKeepsTermBefore();
    void persistAsyncFromEventLoop();
};

void TestRaftLogStore::conformsToMemoryStorage_data() {
    QTest::addColumn<std::uint64_t>("seed");
    QTest::addColumn<int>("cacheBytes");
    QTest::newRow("seed 1, no cache") << std::uint64_t(1) << 0;
    QTest::newRow("seed 2, small cache") << std::uint64_t(2) << 6000;
    QTest::newRow("seed 3, large cache") << std::uint64_t(3) << (64 << 20);
    QTest::newRow("seed 4, small cache") << std::uint64_t(4) << 3000;
}

void TestRaftLogStore::conformsToMemoryStorage() {
    QFETCH(std::uint64_t, seed);
    QFETCH(int, cacheBytes);
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(seed);
    raft::MemoryStorage mem;
    auto store = openStore(dir, static_cast<std::size_t>(cacheBytes));
    QVERIFY(store);
    raft::Term term = 1;
    for (int op = 0; op < 150; ++op) {
        // Entries start anywhere from 1 to lastIndex()+1 (a conflict truncates); terms never decrease.
        const raft::Index last = mem.lastIndex();
        const raft::Index from =
            rng() % 4 == 0 ? last + 1 - std::min<raft::Index>(last, rng() % 8) : last + 1;
        if (rng() % 3 == 0) ++term;
        const raft::Term base = std::max(term, from > 1 ? mem.term(from - 1) : raft::Term(0));
        std::vector<raft::Entry> ents;
        const std::size_t n = rng() % 8;
        for (std::size_t i = 0; i < n; ++i)
            ents.push_back(randomEntry(rng, from + i, base));
        term = base;
        std::optional<raft::HardState> hs;
        if (rng() % 4 == 0) hs = raft::HardState{term, 1 + rng() % 3, mem.lastIndex() / 2};
        const Status s = store->persist(hs, ents);
        QVERIFY2(s.ok(), s.message().c_str());
        mem.append(ents);
        if (hs) mem.setHardState(*hs);
        std::string diff = compare(*store, mem, rng);
        QVERIFY2(diff.empty(),
                 qPrintable(QStringLiteral("op %1: %2").arg(op).arg(QString::fromStdString(diff))));
        if (rng() % 25 == 0) {
            store.reset();
            store = openStore(dir, static_cast<std::size_t>(cacheBytes));
            QVERIFY(store);
            diff = compare(*store, mem, rng);
            QVERIFY2(
                diff.empty(),
                qPrintable(
                    QStringLiteral("after reopen at op %1: %2").arg(op).arg(QString::fromStdString(diff))));
        }
    }
    QVERIFY(mem.lastIndex() > 80);
    QVERIFY(store->log().segmentCount() > 3);
    if (cacheBytes > 0 && cacheBytes < 10000) QVERIFY(store->cachedEntries() < mem.lastIndex());
}

void TestRaftLogStore::storageReadsOutOfRangeThrow() {
    QTemporaryDir tmp;
    auto store = openStore(tmp.path().toStdString(), 1 << 20);
    QVERIFY(store);
    QVERIFY(store->persist(std::nullopt, {raft::Entry{1, 1, raft::EntryType::Normal, "a"}}).ok());
    QCOMPARE(store->term(0), 0u);
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store->term(2));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store->entries(1, 3, 100));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store->entries(0, 1, 100));
    char c = 0;
    store->readPayload(1, 0, 1, &c);
    QCOMPARE(c, 'a');
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, store->readPayload(1, 0, 2, &c));
    // A gap is refused with an error, not a crash.
    QVERIFY(!store->persist(std::nullopt, {raft::Entry{1, 5, raft::EntryType::Normal, "x"}}).ok());
    QCOMPARE(store->lastIndex(), 1u);
}

void TestRaftLogStore::entriesThenHardState() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    auto store = openStore(dir, 1 << 20, ops);
    QVERIFY(store);
    const raft::HardState hs1{1, 1, 0};
    QVERIFY(store->persist(hs1, {raft::Entry{1, 1, raft::EntryType::Normal, "a"}}).ok());
    // The entries fail: the hard state must not be written (it could claim a commit of unwritten entries).
    ops->failNext(FaultyFileOps::Op::Fdatasync, EIO);
    const raft::HardState hs2{2, 2, 2};
    QVERIFY(!store->persist(hs2, {raft::Entry{2, 2, raft::EntryType::Normal, "b"}}).ok());
    QCOMPARE(store->hardState(), hs1);
    QCOMPARE(store->lastIndex(), 1u);
    // The entries succeed, the hard-state write fails: the entries are stored, the old hard state stays.
    ops->failNext(FaultyFileOps::Op::Rename, EIO);
    QVERIFY(!store->persist(hs2, {raft::Entry{2, 2, raft::EntryType::Normal, "b"}}).ok());
    QCOMPARE(store->hardState(), hs1);
    QCOMPARE(store->lastIndex(), 2u);
    store.reset();
    store = openStore(dir, 1 << 20);
    QVERIFY(store);
    QCOMPARE(store->hardState(), hs1);
    QCOMPARE(store->entries(1, 3, SIZE_MAX).size(), 2u);
    // Conflict: entries from index 2 with a higher term replace the old suffix, ConfChange list follows.
    const std::string cc = raft::encodeConfChange(raft::ConfChange{raft::ConfChangeType::AddLearner, 7, "x"});
    QVERIFY(store->persist(std::nullopt, {raft::Entry{2, 3, raft::EntryType::ConfChange, cc}}).ok());
    QCOMPARE(store->confEntries().size(), 1u);
    QVERIFY(store->persist(hs2, {raft::Entry{3, 2, raft::EntryType::Normal, "c"}}).ok());
    QVERIFY(store->confEntries().empty());
    QCOMPARE(store->lastIndex(), 2u);
    QCOMPARE(store->term(2), 3u);
    QCOMPARE(store->hardState(), hs2);
}

void TestRaftLogStore::dropPrefixKeepsTermBefore() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto store = openStore(dir, 4096);
    QVERIFY(store);
    std::mt19937_64 rng(9);
    std::vector<raft::Entry> ents;
    for (raft::Index i = 1; i <= 60; ++i)
        ents.push_back(randomEntry(rng, i, 1 + i / 10));
    QVERIFY(store->persist(std::nullopt, ents).ok());
    QVERIFY(store->dropPrefix(30).ok());
    const raft::Index first = store->firstIndex();
    QVERIFY(first > 1 && first <= 31);
    QCOMPARE(store->term(first - 1), ents[first - 2].term);
    for (const raft::Entry& e : store->confEntries())
        QVERIFY(e.index >= first);
    QCOMPARE(store->entries(first, 61, SIZE_MAX),
             std::vector<raft::Entry>(ents.begin() + static_cast<std::ptrdiff_t>(first - 1), ents.end()));
    store.reset();
    store = openStore(dir, 4096);
    QVERIFY(store);
    QCOMPARE(store->firstIndex(), first);
    QCOMPARE(store->term(first - 1), ents[first - 2].term);
}

void TestRaftLogStore::persistAsyncFromEventLoop() {
    // The node's pattern: persist on the store's writer thread, completion hopped back to the event loop,
    // Storage reads from the event-loop thread meanwhile.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto store = openStore(dir, 1 << 20);
    QVERIFY(store);
    std::mt19937_64 rng(11);
    raft::MemoryStorage mem;
    QObject loop;
    std::vector<Status> results;
    int done = 0;
    raft::Index next = 1;
    for (int job = 0; job < 30; ++job) {
        std::vector<raft::Entry> ents;
        for (int k = 0; k < 3; ++k)
            ents.push_back(randomEntry(rng, next++, 1 + static_cast<raft::Term>(job / 5)));
        const raft::HardState hs{1 + static_cast<raft::Term>(job / 5), 1, next / 2};
        mem.append(ents);
        mem.setHardState(hs);
        store->persistAsync(hs, ents, [&loop, &results, &done](const Status& s) {
            QMetaObject::invokeMethod(
                &loop,
                [s, &results, &done] {
                    results.push_back(s);
                    ++done;
                },
                Qt::QueuedConnection);
        });
        // Reads of what is already durable are fine while jobs run.
        const raft::Index last = store->lastIndex();
        if (last > 0) QCOMPARE(store->entries(1, last + 1, SIZE_MAX), mem.entries(1, last + 1, SIZE_MAX));
        (void)store->hardState();
    }
    QTRY_COMPARE(done, 30);
    for (const Status& s : results)
        QVERIFY2(s.ok(), s.message().c_str());
    std::string diff = compare(*store, mem, rng);
    QVERIFY2(diff.empty(), diff.c_str());
    // Jobs still queued when the store closes are finished first.
    int late = 0;
    store->persistAsync(std::nullopt, {randomEntry(rng, next, 9)},
                        [&late](const Status& s) { late += s.ok(); });
    store.reset();
    QCOMPARE(late, 1);
    store = openStore(dir, 1 << 20);
    QVERIFY(store);
    QCOMPARE(store->lastIndex(), next);
    QCOMPARE(store->hardState(), mem.hardState());
}

QTEST_GUILESS_MAIN(TestRaftLogStore)
#include "tst_storage_raftlogstore.moc"
