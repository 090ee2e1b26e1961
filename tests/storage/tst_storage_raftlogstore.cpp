// RaftLogStore: same answers as raft::MemoryStorage for random persist sequences (with reopens, segment
// rolls and cache evictions), ConfChange list, persist ordering and error behaviour.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "raft/memory_storage.h"
#include "storage/raft_log_store.h"
#include "storage/snapshot_file.h"
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
    if (a.snapshot() != b.snapshot()) return "snapshot";
    if (a.baseConfState() != b.baseConfState()) return "baseConfState";
    if (a.lastIndex() != b.lastIndex()) return "lastIndex";
    for (raft::Index i = a.firstIndex() - 1; i <= a.lastIndex(); ++i)
        if (a.term(i) != b.term(i)) return "term(" + std::to_string(i) + ")";
    if (a.confEntries() != b.confEntries()) return "confEntries";
    const raft::Index last = a.lastIndex();
    const raft::Index first = a.firstIndex();
    for (int k = 0; k < 10; ++k) {
        const raft::Index lo = first + rng() % (last + 2 - first);
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
    // Issue 8, defect 2: a committed, fsynced entry must never vanish silently.
    void bitFlipInLastCommittedRecordRefusesToStart();
    void tornLastRecordCoveredByCommitRefusesToStart();
    void zeroedTailIsTorn();
    void outOfOrderTornBatchIsDropped();
    void commitOnlyChangeIsNotWritten();
    void newDataDirectoryIsSynced();
    // Snapshots (issue 13).
    void snapshotFileRejectsEveryDamage();
    void damagedSnapshotRefusesToStart();
    void interruptedInstallIsFinishedAtOpen();
    void compactionSurvivesReopenAndServesNothingBefore();
};

namespace {

/// Stores entries 1..n (payload `bytes` each, term 1) with a hard state {1, 1, commit}; returns where
/// entry `which` lives.
RecordLocation storeEntries(const std::string& dir, raft::Index n, std::size_t bytes, raft::Index commit,
                            raft::Index which) {
    auto store = openStore(dir, 0);
    std::vector<raft::Entry> ents;
    for (raft::Index i = 1; i <= n; ++i)
        ents.push_back(raft::Entry{1, i, raft::EntryType::Normal, std::string(bytes, char('a' + i % 26))});
    if (!store->persist(raft::HardState{1, 1, commit}, ents).ok()) qFatal("persist failed");
    return *store->log().locate(which);
}

Result<std::unique_ptr<RaftLogStore>> reopen(const std::string& dir) {
    RaftLogStoreOptions o;
    o.dir = dir;
    o.segmentBytes = 8192;
    return RaftLogStore::open(std::move(o));
}

}  // namespace

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
    std::size_t maxSegments = 0;
    int compactions = 0, installs = 0;
    for (int op = 0; op < 150; ++op) {
        // Entries start anywhere from 1 to lastIndex()+1 (a conflict truncates); terms never decrease.
        const raft::Index last = mem.lastIndex();
        if (rng() % 12 == 0 && last >= mem.firstIndex()) {
            // Compaction at an index it holds: the snapshot file, then whole segments go.
            raft::Snapshot snap;
            snap.meta.index = mem.firstIndex() + rng() % (last + 1 - mem.firstIndex());
            snap.meta.term = mem.term(snap.meta.index);
            snap.meta.conf = {{1, 2, 3}, {4}};
            snap.data = "state@" + std::to_string(snap.meta.index);
            const Status cs = store->compact(snap);
            QVERIFY2(cs.ok(), cs.message().c_str());
            mem.compact(snap);
            ++compactions;
        } else if (rng() % 20 == 0) {
            // A snapshot from the leader: past the end, or inside the log with another term (replacing it),
            // or matching an entry (entries after it stay).
            raft::Snapshot snap;
            const int kind = static_cast<int>(rng() % 3);
            snap.meta.index = kind == 0 || last < mem.firstIndex()
                                  ? last + 1 + rng() % 5
                                  : mem.firstIndex() + rng() % (last + 1 - mem.firstIndex());
            snap.meta.term = kind == 2 && snap.meta.index <= last ? mem.term(snap.meta.index) : ++term;
            snap.meta.conf = {{2, 5}, {}};
            snap.data = "installed@" + std::to_string(snap.meta.index);
            const raft::HardState shs{term, 0, snap.meta.index};
            const Status is = store->persist(snap, shs, {});
            QVERIFY2(is.ok(), is.message().c_str());
            mem.applySnapshot(snap);
            ++installs;
            if (shs.term != mem.hardState().term || shs.vote != mem.hardState().vote) mem.setHardState(shs);
            term = std::max(term, mem.term(mem.lastIndex()));
        }
        const raft::Index from =
            std::max(mem.firstIndex(),
                     rng() % 4 == 0 ? mem.lastIndex() + 1 - std::min<raft::Index>(mem.lastIndex(), rng() % 8)
                                    : mem.lastIndex() + 1);
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
        // A commit-only change is not written (it rides along with the next term or vote change).
        if (hs && (hs->term != mem.hardState().term || hs->vote != mem.hardState().vote))
            mem.setHardState(*hs);
        maxSegments = std::max(maxSegments, store->log().segmentCount());
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
    QVERIFY(maxSegments > 3);
    QVERIFY(compactions > 0 && installs > 0);
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
        if (hs.term != mem.hardState().term || hs.vote != mem.hardState().vote) mem.setHardState(hs);
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
    // Jobs queued together are one write with the last hard state among them (group commit): the stored
    // commit index may be newer than the one written with the last term change, never past the log.
    raft::HardState shs = store->hardState(), mhs = mem.hardState();
    QCOMPARE(shs.term, mhs.term);
    QCOMPARE(shs.vote, mhs.vote);
    QVERIFY(shs.commit >= mhs.commit && shs.commit <= store->lastIndex());
    mhs.commit = shs.commit;
    mem.setHardState(mhs);
    QVERIFY2(store->asyncStats().jobs == 30 && store->asyncStats().writes <= 30, "every job is counted once");
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

void TestRaftLogStore::bitFlipInLastCommittedRecordRefusesToStart() {
    // Every single-bit flip in the payload or checksum of the last record: a complete record whose
    // bytes are not zero-filled is damage, never a torn write, committed or not.
    for (const raft::Index commit : {raft::Index(3), raft::Index(2)}) {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        const RecordLocation loc = storeEntries(dir, 3, 700, commit, 3);
        const QByteArray original = test::readFile(loc.path);
        std::vector<std::uint64_t> positions{loc.offset, loc.offset + 3};  // the checksum field
        for (std::uint64_t p = loc.offset + SegmentedLog::kRecordHeaderBytes;
             p < std::uint64_t(original.size()); p += 37)
            positions.push_back(p);
        for (std::uint64_t pos : positions) {
            QByteArray damaged = original;
            damaged[qsizetype(pos)] = char(damaged[qsizetype(pos)] ^ (1 << (pos % 8)));
            QVERIFY(test::writeFile(loc.path, damaged));
            auto r = reopen(dir);
            QVERIFY2(!r.ok(),
                     qPrintable(QStringLiteral("flip at %1 (commit %2) accepted").arg(pos).arg(commit)));
            QVERIFY2(r.status().message().find(loc.path + " at byte offset " + std::to_string(loc.offset)) !=
                         std::string::npos,
                     r.status().message().c_str());
            QVERIFY2(r.status().message().find("bit flip") != std::string::npos,
                     r.status().message().c_str());
        }
        QVERIFY(test::writeFile(loc.path, original));
        auto r = reopen(dir);
        QVERIFY(r.ok());
        QCOMPARE(r.value()->lastIndex(), 3u);
    }
}

void TestRaftLogStore::tornLastRecordCoveredByCommitRefusesToStart() {
    // A short (torn-looking) last record that the stored commit covers: it was synced and acknowledged,
    // so it cannot be torn: lost durable data, refuse with the files named.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const RecordLocation loc = storeEntries(dir, 3, 700, 3, 3);
    const QByteArray original = test::readFile(loc.path);
    QVERIFY(test::writeFile(loc.path, original.left(qsizetype(loc.offset + 100))));
    auto r = reopen(dir);
    QVERIFY(!r.ok());
    const std::string msg = r.status().message();
    QVERIFY2(msg.find("stored commit index 3") != std::string::npos, msg.c_str());
    QVERIFY2(msg.find("last stored log entry 2") != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(dir + "/hardstate") != std::string::npos, msg.c_str());
    // Not covered by the commit: a torn tail, dropped with a warning.
    QTemporaryDir tmp2;
    const std::string dir2 = tmp2.path().toStdString();
    const RecordLocation loc2 = storeEntries(dir2, 3, 700, 2, 3);
    QVERIFY(test::writeFile(loc2.path, test::readFile(loc2.path).left(qsizetype(loc2.offset + 100))));
    auto r2 = reopen(dir2);
    QVERIFY2(r2.ok(), r2.ok() ? "" : r2.status().message().c_str());
    QCOMPARE(r2.value()->lastIndex(), 2u);
}

void TestRaftLogStore::zeroedTailIsTorn() {
    // The last record's pages never reached the disk: the file has its length but zeros (the usual
    // result of a crash between write and fdatasync). Dropped, nothing else lost.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const RecordLocation loc = storeEntries(dir, 3, 700, 2, 3);
    QByteArray bytes = test::readFile(loc.path);
    bytes.replace(qsizetype(loc.offset), bytes.size() - qsizetype(loc.offset),
                  QByteArray(bytes.size() - qsizetype(loc.offset), '\0'));
    QVERIFY(test::writeFile(loc.path, bytes));
    test::LogCapture cap;
    RaftLogStoreOptions o;
    o.dir = dir;
    o.segmentBytes = 8192;
    o.logger = cap.logger();
    auto r = RaftLogStore::open(std::move(o));
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    QCOMPARE(r.value()->lastIndex(), 2u);
    QCOMPARE(cap.count(LogLevel::Warning), 1);
    QCOMPARE(r.value()->entries(1, 3, SIZE_MAX).back().data, std::string(700, 'c'));
}

void TestRaftLogStore::outOfOrderTornBatchIsDropped() {
    // One batch 3..5 written, the crash came before its fdatasync, and the disk wrote its pages out of
    // order: a sector in the middle of record 3 is zeros while records 4 and 5 are complete. Nothing of
    // the batch was acknowledged: it is dropped whole (records after a torn one are not trusted).
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const RecordLocation loc = storeEntries(dir, 5, 1200, 2, 3);  // one segment
    QByteArray bytes = test::readFile(loc.path);
    const qsizetype sector = qsizetype((loc.offset + 511) / 512 * 512);
    QVERIFY(sector + 512 <= qsizetype(loc.offset + SegmentedLog::kRecordHeaderBytes + loc.length));
    bytes.replace(sector, 512, QByteArray(512, '\0'));
    QVERIFY(test::writeFile(loc.path, bytes));
    auto r = reopen(dir);
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    QCOMPARE(r.value()->lastIndex(), 2u);
    // A non-zero change at the same place is a bit flip: an error, even with valid records after it.
    QTemporaryDir tmp2;
    const std::string dir2 = tmp2.path().toStdString();
    const RecordLocation loc2 = storeEntries(dir2, 5, 1200, 2, 3);
    QByteArray bytes2 = test::readFile(loc2.path);
    bytes2[sector + 100] = char(bytes2[sector + 100] ^ 0x10);
    QVERIFY(test::writeFile(loc2.path, bytes2));
    QVERIFY(!reopen(dir2).ok());
}

void TestRaftLogStore::commitOnlyChangeIsNotWritten() {
    // Ready::mustSync is false for a commit-only change: no write, fsync, rename or directory fsync.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    auto store = openStore(dir, 0, ops);
    QVERIFY(store->persist(raft::HardState{1, 1, 0}, {raft::Entry{1, 1, raft::EntryType::Normal, "a"}}).ok());
    const QByteArray before = test::readFile(dir + "/hardstate");
    const int steps = ops->steps();
    QVERIFY(store->persist(raft::HardState{1, 1, 1}, {}).ok());
    QCOMPARE(ops->steps(), steps);
    QCOMPARE(test::readFile(dir + "/hardstate"), before);
    QCOMPARE(store->hardState().commit, 0u);  // what is stored lags; the core keeps its own
    // The next term or vote change carries the newest commit along.
    QVERIFY(store->persist(raft::HardState{2, 0, 1}, {}).ok());
    store.reset();
    store = openStore(dir, 0);
    QCOMPARE(store->hardState(), (raft::HardState{2, 0, 1}));
}

void TestRaftLogStore::newDataDirectoryIsSynced() {
    // Creating the data directory (and missing parents) fsyncs each new directory's parent, so the new
    // entries survive a crash; the directory is private (0700).
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/a/b";
    auto ops = std::make_shared<FaultyFileOps>();
    ops->failNext(FaultyFileOps::Op::Fsync, EIO);
    RaftLogStoreOptions o;
    o.dir = dir;
    o.fileOps = ops;
    auto r = RaftLogStore::open(o);
    QVERIFY(!r.ok());  // the first directory sync failed: an error, not ignored
    QVERIFY2(r.status().message().find(tmp.path().toStdString()) != std::string::npos,
             r.status().message().c_str());
    auto r2 = RaftLogStore::open(o);
    QVERIFY2(r2.ok(), r2.ok() ? "" : r2.status().message().c_str());
    struct stat st {};
    QCOMPARE(::stat(dir.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, 0700u);
    // Its files hold users' uploads: private too, whatever the umask (issue 10).
    auto store = r2.take();
    QVERIFY(store->persist(raft::HardState{1, 1, 0}, {raft::Entry{1, 1, raft::EntryType::Normal, "x"}}).ok());
    int files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        ++files;
        QCOMPARE(::stat(e.path().c_str(), &st), 0);
        QVERIFY2((st.st_mode & 077) == 0, e.path().c_str());
    }
    QVERIFY(files >= 3);  // LOCK, hardstate, a segment
}
void TestRaftLogStore::snapshotFileRejectsEveryDamage() {
    raft::Snapshot snap;
    snap.meta = {42, 7, {{1, 2, 3}, {9}}};
    snap.data = std::string("some\0state", 10);
    const std::string bytes = encodeSnapshotFile(snap);
    std::string why;
    const auto back = decodeSnapshotFile(bytes, &why);
    QVERIFY2(back.has_value(), why.c_str());
    QVERIFY(*back == snap);
    for (std::size_t n = 0; n < bytes.size(); ++n)
        QVERIFY(!decodeSnapshotFile(std::string_view(bytes).substr(0, n), &why));
    QVERIFY(!decodeSnapshotFile(bytes + '\0', &why));
    // Every single-bit flip is caught (the magic, the version, the checksum or the checksummed bytes).
    for (std::size_t i = 0; i < bytes.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string b = bytes;
            b[i] = static_cast<char>(b[i] ^ (1 << bit));
            QVERIFY2(!decodeSnapshotFile(b, &why),
                     qPrintable(QStringLiteral("byte %1 bit %2").arg(i).arg(bit)));
        }
    raft::Snapshot bad = snap;
    bad.meta.conf.voters = {3, 1};
    QVERIFY(!decodeSnapshotFile(encodeSnapshotFile(bad), &why));
    bad.meta.conf = {{1, 9}, {9}};
    QVERIFY(!decodeSnapshotFile(encodeSnapshotFile(bad), &why));
    QCOMPARE(why, std::string("a member is both voter and learner"));
}

void TestRaftLogStore::damagedSnapshotRefusesToStart() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    storeEntries(dir, 20, 100, 20, 1);
    {
        auto store = openStore(dir, 0);
        QVERIFY(store);
        raft::Snapshot snap;
        snap.meta = {15, 1, {{1}, {}}};
        snap.data = "state";
        QVERIFY(store->compact(snap).ok());
    }
    QVERIFY(reopen(dir).ok());
    QByteArray bytes = test::readFile(dir + "/snapshot");
    bytes[20] = static_cast<char>(bytes[20] ^ 0x10);
    QVERIFY(test::writeFile(dir + "/snapshot", bytes));
    auto r = reopen(dir);
    QVERIFY(!r.ok());
    QVERIFY2(r.status().message().find("damaged") != std::string::npos, r.status().message().c_str());
}

void TestRaftLogStore::interruptedInstallIsFinishedAtOpen() {
    // A crash right after a received snapshot was renamed into place, before the log was replaced: the
    // next open replaces it. A snapshot.tmp left by a crash before the rename is removed and ignored.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    storeEntries(dir, 20, 100, 10, 1);
    raft::Snapshot snap;
    snap.meta = {30, 2, {{1, 2}, {}}};
    snap.data = "leader's state";
    QVERIFY(writeSnapshotFile(*FileOps::posix(), dir, snap).ok());
    {
        std::FILE* f = std::fopen((dir + "/snapshot.tmp").c_str(), "w");
        QVERIFY(f);
        std::fputs("half a snapshot", f);
        std::fclose(f);
    }
    auto r = reopen(dir);
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    auto store = r.take();
    QCOMPARE(store->firstIndex(), raft::Index(31));
    QCOMPARE(store->lastIndex(), raft::Index(30));
    QCOMPARE(store->term(30), raft::Term(2));
    QVERIFY(store->snapshot() == snap);
    QVERIFY(store->baseConfState() == snap.meta.conf);
    QVERIFY(store->confEntries().empty());
    QVERIFY(!std::filesystem::exists(dir + "/snapshot.tmp"));
    // The log continues after it.
    QVERIFY(store->persist(raft::HardState{2, 0, 30}, {raft::Entry{2, 31, raft::EntryType::Normal, "next"}})
                .ok());
    store.reset();
    store = reopen(dir).take();
    QCOMPARE(store->lastIndex(), raft::Index(31));
    QCOMPARE(store->entries(31, 32, SIZE_MAX).front().data, std::string("next"));
}

void TestRaftLogStore::compactionSurvivesReopenAndServesNothingBefore() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    storeEntries(dir, 200, 300, 200, 1);  // ~60 KiB in 8 KiB segments
    auto store = openStore(dir, 0);
    QVERIFY(store);
    const std::size_t segmentsBefore = store->log().segmentCount();
    raft::Snapshot snap;
    snap.meta = {150, 1, {{1, 2, 3}, {}}};
    snap.data = "state@150";
    QVERIFY(store->compact(snap).ok());
    QCOMPARE(store->firstIndex(), raft::Index(151));
    QVERIFY(store->log().segmentCount() < segmentsBefore);
    QVERIFY(store->log().firstIndex() <= 151);  // whole segments only; the rest is hidden
    QCOMPARE(store->term(150), raft::Term(1));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store->term(149));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store->entries(150, 152, SIZE_MAX));
    QCOMPARE(store->entries(151, 201, SIZE_MAX).size(), std::size_t(50));
    // An older snapshot, or one the log does not hold, is refused.
    raft::Snapshot older = snap;
    older.meta.index = 100;
    QVERIFY(!store->compact(older).ok());
    raft::Snapshot wrongTerm = snap;
    wrongTerm.meta = {180, 5, snap.meta.conf};
    QVERIFY(!store->compact(wrongTerm).ok());
    store.reset();
    auto again = reopen(dir);
    QVERIFY(again.ok());
    store = again.take();
    QCOMPARE(store->firstIndex(), raft::Index(151));
    QCOMPARE(store->lastIndex(), raft::Index(200));
    QVERIFY(store->snapshot() == snap);
}

QTEST_GUILESS_MAIN(TestRaftLogStore)

#include "tst_storage_raftlogstore.moc"
