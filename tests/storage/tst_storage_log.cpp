// SegmentedLog: append/read/reopen, segment rolls, torn-tail sweep, bit flips, truncate/drop, injected
// write failures, CRC32C.
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <thread>

#include "storage/crc32c.h"
#include "storage/segmented_log.h"
#include "storage_test_util.h"

using namespace raftwc;
using namespace raftwc::storage;
using test::FaultyFileOps;

namespace {

struct Owned {
    raft::EntryType type;
    raft::Term term;
    raft::Index index;
    std::string payload;
};

std::vector<Record> view(const std::vector<Owned>& v) {
    std::vector<Record> r;
    for (const Owned& o : v)
        r.push_back(Record{o.type, o.term, o.index, o.payload});
    return r;
}

/// Entries first..first+n-1, term rising every 7 entries, type cycling, payload sizes varying.
std::vector<Owned> makeEntries(std::mt19937_64& rng, raft::Index first, std::size_t n, std::size_t maxLen,
                               raft::Term baseTerm = 1) {
    std::vector<Owned> v;
    for (std::size_t i = 0; i < n; ++i) {
        const raft::Index idx = first + i;
        const auto type = static_cast<raft::EntryType>(1 + idx % 3);
        v.push_back(Owned{type, baseTerm + idx / 7, idx, test::randomBytes(rng, rng() % (maxLen + 1))});
    }
    return v;
}

std::unique_ptr<SegmentedLog> openLog(const std::string& dir, std::uint64_t segBytes = 4096,
                                      std::shared_ptr<FileOps> ops = nullptr, Logger logger = {}) {
    SegmentedLogOptions o;
    o.dir = dir;
    o.segmentBytes = segBytes;
    o.fileOps = std::move(ops);
    o.logger = std::move(logger);
    auto r = SegmentedLog::open(std::move(o));
    if (!r.ok()) qWarning("open failed: %s", r.status().message().c_str());
    return r.ok() ? r.take() : nullptr;
}

/// Every entry in `expect` is stored, with its exact content, and nothing else.
bool sameLog(const SegmentedLog& log, const std::vector<Owned>& expect, std::string* why) {
    const raft::Index first = expect.empty() ? log.firstIndex() : expect.front().index;
    if (log.firstIndex() != first || log.lastIndex() != first + expect.size() - 1) {
        *why = "range " + std::to_string(log.firstIndex()) + ".." + std::to_string(log.lastIndex());
        return false;
    }
    for (const Owned& o : expect) {
        auto e = log.read(o.index);
        if (!e.ok()) {
            *why = e.status().message();
            return false;
        }
        const raft::Entry& got = e.value();
        if (got.index != o.index || got.term != o.term || got.type != o.type || got.data != o.payload) {
            *why = "entry " + std::to_string(o.index) + " differs";
            return false;
        }
    }
    return true;
}

#define VERIFY_LOG(log, expect)                                  \
    do {                                                         \
        std::string why_;                                        \
        QVERIFY2(sameLog((log), (expect), &why_), why_.c_str()); \
    } while (0)

#define VERIFY_OK(status)                          \
    do {                                           \
        const auto& st_ = (status);                \
        QVERIFY2(st_.ok(), st_.message().c_str()); \
    } while (0)

}  // namespace

class TestStorageLog : public QObject {
    Q_OBJECT
  private slots:
    void crc32cKnownValues();
    void appendReadReopen();
    void appendValidation();
    void readPayloadRanges();
    void truncateSuffixAcrossSegments();
    void dropPrefixKeepsPrevTerm();
    void tornTailSweep();
    void tornSegmentHeader();
    void bitFlipsBeforeTailAreErrors();
    void missingSegmentIsError();
    void injectedWriteFailures_data();
    void injectedWriteFailures();
    void failedCutBackIsRepairedOnNextAppend();
    void failureDuringRollUndoesBatch();
};

void TestStorageLog::crc32cKnownValues() {
    const char* s = "123456789";
    QCOMPARE(crc32cTable(0, s, 9), 0xE3069283u);
    QCOMPARE(crc32c(s, 9), 0xE3069283u);
    QCOMPARE(crc32c("", 0), 0u);
    std::string zeros(32, '\0');
    QCOMPARE(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
    std::mt19937_64 rng(7);
    for (int n :
         {1, 3, 7, 8, 9, 63, 64, 65, 1000, 4096 + 5, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 9, 100000, 1 << 20}) {
        const std::string d = test::randomBytes(rng, static_cast<std::size_t>(n));
        const std::uint32_t t = crc32cTable(0, d.data(), d.size());
        if (crc32cHardwareAvailable()) QCOMPARE(crc32cHardware(0, d.data(), d.size()), t);
        // Unaligned start and incremental extension give the same value.
        const std::size_t cut = d.size() / 3;
        QCOMPARE(crc32cExtend(crc32c(d.data(), cut), d.data() + cut, d.size() - cut), t);
        if (d.size() > 1)
            QCOMPARE(crc32c(d.data() + 1, d.size() - 1), crc32cTable(0, d.data() + 1, d.size() - 1));
    }
}

void TestStorageLog::appendReadReopen() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/log";
    std::mt19937_64 rng(1);
    std::vector<Owned> all;
    {
        auto log = openLog(dir);
        QVERIFY(log);
        QCOMPARE(log->firstIndex(), 1u);
        QCOMPARE(log->lastIndex(), 0u);
        QCOMPARE(log->lastTerm(), 0u);
        QCOMPARE(log->term(0), std::optional<raft::Term>(0));
        for (int batch = 0; batch < 20; ++batch) {
            auto ents = makeEntries(rng, all.size() + 1, 1 + rng() % 10, 600);
            const auto syncsBefore = log->syncCount();
            const auto segsBefore = log->segmentCount();
            VERIFY_OK(log->append(view(ents)));
            // One data fdatasync per batch, plus at most one per segment roll inside the batch.
            const auto syncs = log->syncCount() - syncsBefore;
            const auto rolls = log->segmentCount() - segsBefore;
            if (rolls == 0) QCOMPARE(syncs, 1u);
            QVERIFY(syncs >= 1 && syncs <= 1 + rolls);
            all.insert(all.end(), ents.begin(), ents.end());
        }
        QVERIFY(log->segmentCount() > 3);  // 4 KiB segments: the batches rolled several times
        VERIFY_LOG(*log, all);
        QCOMPARE(log->lastTerm(), all.back().term);
        QCOMPARE(log->info(5)->length, static_cast<std::uint32_t>(all[4].payload.size()));
        QVERIFY(!log->info(all.size() + 1));
    }
    test::LogCapture cap;
    auto log = openLog(dir, 4096, nullptr, cap.logger());
    QVERIFY(log);
    VERIFY_LOG(*log, all);
    QCOMPARE(cap.count(LogLevel::Warning), 0);
    // An entry bigger than a segment gets a segment of its own.
    auto big = makeEntries(rng, all.size() + 1, 1, 0);
    big[0].payload = test::randomBytes(rng, 10000);
    big[0].term = all.back().term;
    VERIFY_OK(log->append(view(big)));
    all.push_back(big[0]);
    VERIFY_LOG(*log, all);
    log.reset();
    log = openLog(dir);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
}

void TestStorageLog::appendValidation() {
    QTemporaryDir tmp;
    auto log = openLog(tmp.path().toStdString());
    QVERIFY(log);
    std::mt19937_64 rng(2);
    auto ents = makeEntries(rng, 1, 3, 10, 5);
    VERIFY_OK(log->append(view(ents)));
    auto gap = makeEntries(rng, 5, 1, 10, 5);
    Status s = log->append(view(gap));
    QVERIFY(!s.ok());
    QVERIFY2(s.message().find("does not follow") != std::string::npos, s.message().c_str());
    auto lowTerm = makeEntries(rng, 4, 1, 10, 0);
    lowTerm[0].term = 1;
    s = log->append(view(lowTerm));
    QVERIFY(!s.ok());
    QVERIFY2(s.message().find("lower than") != std::string::npos, s.message().c_str());
    std::vector<Record> badType{Record{static_cast<raft::EntryType>(9), 9, 4, "x"}};
    QVERIFY(!log->append(badType).ok());
    QCOMPARE(log->lastIndex(), 3u);
    VERIFY_LOG(*log, ents);
    QVERIFY(!log->read(0).ok());
    QVERIFY(!log->read(4).ok());
}

void TestStorageLog::readPayloadRanges() {
    QTemporaryDir tmp;
    auto log = openLog(tmp.path().toStdString(), 1 << 20);
    QVERIFY(log);
    std::mt19937_64 rng(3);
    std::vector<Owned> ents = makeEntries(rng, 1, 4, 0);
    ents[2].payload = test::randomBytes(rng, 200000);
    VERIFY_OK(log->append(view(ents)));
    std::string out(200000, '\0');
    for (int k = 0; k < 50; ++k) {
        const std::size_t off = rng() % 200001;
        const std::size_t len = rng() % (200000 - off + 1);
        VERIFY_OK(log->readPayload(3, off, len, out.data()));
        QVERIFY(std::memcmp(out.data(), ents[2].payload.data() + off, len) == 0);
    }
    QVERIFY(!log->readPayload(3, 199999, 2, out.data()).ok());
    QVERIFY(!log->readPayload(3, 200001, 0, out.data()).ok());
    QVERIFY(!log->readPayload(9, 0, 0, out.data()).ok());
    const auto loc = log->locate(3);
    QVERIFY(loc);
    QCOMPARE(loc->length, 200000u);
}

void TestStorageLog::truncateSuffixAcrossSegments() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(4);
    auto all = makeEntries(rng, 1, 120, 300);
    {
        auto log = openLog(dir, 2048);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
        const auto segs = log->segmentCount();
        QVERIFY(segs > 5);
        VERIFY_OK(log->truncateSuffix(200));  // past the end: nothing
        QCOMPARE(log->lastIndex(), 120u);
        QVERIFY(!log->truncateSuffix(0).ok());
        // Truncate in the middle of an early segment: later segments go away.
        VERIFY_OK(log->truncateSuffix(30));
        all.resize(29);
        VERIFY_LOG(*log, all);
        QVERIFY(log->segmentCount() < segs);
        // A conflicting suffix with a higher term follows.
        auto more = makeEntries(rng, 30, 10, 300, 100);
        VERIFY_OK(log->append(view(more)));
        all.insert(all.end(), more.begin(), more.end());
        VERIFY_LOG(*log, all);
    }
    auto log = openLog(dir, 2048);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
    VERIFY_OK(log->truncateSuffix(1));  // everything
    QCOMPARE(log->lastIndex(), 0u);
    QCOMPARE(log->segmentCount(), 1u);
    log.reset();
    log = openLog(dir, 2048);
    QVERIFY(log);
    QCOMPARE(log->lastIndex(), 0u);
    auto fresh = makeEntries(rng, 1, 5, 50);
    VERIFY_OK(log->append(view(fresh)));
    VERIFY_LOG(*log, fresh);
}

void TestStorageLog::dropPrefixKeepsPrevTerm() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(5);
    auto all = makeEntries(rng, 1, 100, 200);
    raft::Index first = 0;
    {
        auto log = openLog(dir, 2048);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
        VERIFY_OK(log->dropPrefix(0));
        QCOMPARE(log->firstIndex(), 1u);
        VERIFY_OK(log->dropPrefix(50));
        first = log->firstIndex();
        QVERIFY(first > 1 && first <= 51);
        QCOMPARE(log->prevTerm(), all[first - 2].term);
        QCOMPARE(log->term(first - 1), std::optional<raft::Term>(all[first - 2].term));
        QVERIFY(!log->term(first - 2));
        all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(first - 1));
        VERIFY_LOG(*log, all);
    }
    auto log = openLog(dir, 2048);
    QVERIFY(log);
    QCOMPARE(log->firstIndex(), first);
    VERIFY_LOG(*log, all);
    QVERIFY(!log->truncateSuffix(first - 1).ok());
    // Dropping everything leaves an empty log that continues at 101 with the last term remembered.
    const raft::Term lastT = log->lastTerm();
    VERIFY_OK(log->dropPrefix(100));
    QCOMPARE(log->firstIndex(), 101u);
    QCOMPARE(log->lastIndex(), 100u);
    QCOMPARE(log->prevTerm(), lastT);
    log.reset();
    log = openLog(dir, 2048);
    QVERIFY(log);
    QCOMPARE(log->firstIndex(), 101u);
    QCOMPARE(log->lastTerm(), lastT);
    auto more = makeEntries(rng, 101, 3, 20, lastT);
    VERIFY_OK(log->append(view(more)));
    VERIFY_LOG(*log, more);
}

void TestStorageLog::tornTailSweep() {
    // Cut the last record at every byte offset: recovery must never fail, never return a wrong record,
    // keep everything before it, and accept new appends.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(6);
    auto all = makeEntries(rng, 1, 12, 100);
    all.back().payload = test::randomBytes(rng, 300);
    std::string lastPath;
    std::uint64_t lastOff = 0;
    {
        auto log = openLog(dir, 1024);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
        QVERIFY(log->segmentCount() > 1);
        const auto loc = log->locate(all.back().index);
        lastPath = loc->path;
        lastOff = loc->offset;
    }
    const QByteArray original = test::readFile(lastPath);
    QCOMPARE(static_cast<std::uint64_t>(original.size()), lastOff + SegmentedLog::kRecordHeaderBytes + 300);
    const std::vector<Owned> kept(all.begin(), all.end() - 1);
    for (std::uint64_t cut = lastOff; cut < static_cast<std::uint64_t>(original.size()); ++cut) {
        QVERIFY(test::writeFile(lastPath, original.left(static_cast<qsizetype>(cut))));
        test::LogCapture cap;
        auto log = openLog(dir, 1024, nullptr, cap.logger());
        QVERIFY2(log, qPrintable(QStringLiteral("cut at %1").arg(cut)));
        VERIFY_LOG(*log, kept);
        QCOMPARE(cap.count(LogLevel::Warning), cut > lastOff ? 1 : 0);
        QCOMPARE(test::fileSize(lastPath), static_cast<std::int64_t>(lastOff));
        // A different entry can take the place of the torn one.
        Owned repl{raft::EntryType::Normal, all.back().term, all.back().index, "replacement"};
        VERIFY_OK(log->append(view({repl})));
        log.reset();
        log = openLog(dir, 1024);
        QVERIFY(log);
        std::vector<Owned> expect = kept;
        expect.push_back(repl);
        VERIFY_LOG(*log, expect);
    }
    // Zero-filled garbage after the last record (file extended, data never written) is torn too.
    QByteArray zeros = original;
    zeros.append(QByteArray(100, '\0'));
    QVERIFY(test::writeFile(lastPath, zeros));
    auto log = openLog(dir, 1024);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
}

void TestStorageLog::tornSegmentHeader() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(7);
    auto all = makeEntries(rng, 1, 10, 100);
    {
        auto log = openLog(dir, 512);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
    }
    // Simulate a crash during a roll: the next segment exists with a partial header.
    char name[40];
    std::snprintf(name, sizeof name, "/%020llu.seg", 11ull);
    const std::string next = dir + name;
    for (int len = 0; len < static_cast<int>(SegmentedLog::kSegmentHeaderBytes); len += 7) {
        QVERIFY(test::writeFile(next, QByteArray(len, 'R')));
        test::LogCapture cap;
        auto log = openLog(dir, 512, nullptr, cap.logger());
        QVERIFY(log);
        VERIFY_LOG(*log, all);
        QCOMPARE(cap.count(LogLevel::Warning), 1);
        QCOMPARE(test::fileSize(next), -1);  // removed
    }
}

void TestStorageLog::bitFlipsBeforeTailAreErrors() {
    // Flip one bit at every byte before the last record (segment headers and records of every segment):
    // open must fail and name the file and the byte offset of the damaged header or record.
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(8);
    auto all = makeEntries(rng, 1, 8, 40);
    struct Span {
        std::string path;
        std::uint64_t begin, end;
    };
    std::vector<Span> spans;  // damaged byte in [begin, end) => error at begin
    {
        auto log = openLog(dir, 256);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
        QVERIFY(log->segmentCount() >= 3);
        for (const Owned& o : all) {
            const auto loc = log->locate(o.index);
            if (loc->offset == SegmentedLog::kSegmentHeaderBytes)
                spans.push_back(Span{loc->path, 0, SegmentedLog::kSegmentHeaderBytes});
            if (o.index == all.back().index) break;  // the tail record itself may be dropped as torn
            spans.push_back(
                Span{loc->path, loc->offset, loc->offset + SegmentedLog::kRecordHeaderBytes + loc->length});
        }
    }
    int checked = 0;
    for (const Span& sp : spans) {
        const QByteArray original = test::readFile(sp.path);
        for (std::uint64_t pos = sp.begin; pos < sp.end; ++pos) {
            QByteArray damaged = original;
            damaged[static_cast<qsizetype>(pos)] =
                static_cast<char>(damaged[static_cast<qsizetype>(pos)] ^ (1 << (pos % 8)));
            QVERIFY(test::writeFile(sp.path, damaged));
            SegmentedLogOptions o;
            o.dir = dir;
            o.segmentBytes = 256;
            auto r = SegmentedLog::open(o);
            QVERIFY2(!r.ok(), qPrintable(QStringLiteral("flip at %1:%2 not detected")
                                             .arg(QString::fromStdString(sp.path))
                                             .arg(pos)));
            const std::string expect = sp.path + " at byte offset " + std::to_string(sp.begin);
            QVERIFY2(r.status().message().find(expect) != std::string::npos, r.status().message().c_str());
            ++checked;
        }
        QVERIFY(test::writeFile(sp.path, original));
    }
    QVERIFY(checked > 300);
    auto log = openLog(dir, 256);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
}

void TestStorageLog::missingSegmentIsError() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    std::mt19937_64 rng(9);
    auto all = makeEntries(rng, 1, 30, 100);
    std::string middle;
    {
        auto log = openLog(dir, 512);
        QVERIFY(log);
        VERIFY_OK(log->append(view(all)));
        QVERIFY(log->segmentCount() >= 3);
        middle = log->locate(15)->path;
        QVERIFY(middle != log->locate(1)->path && middle != log->locate(30)->path);
    }
    QVERIFY(QFile::remove(QString::fromStdString(middle)));
    SegmentedLogOptions o;
    o.dir = dir;
    auto r = SegmentedLog::open(o);
    QVERIFY(!r.ok());
    QVERIFY2(r.status().message().find("missing or extra segment") != std::string::npos,
             r.status().message().c_str());
}

void TestStorageLog::injectedWriteFailures_data() {
    QTest::addColumn<int>("kind");
    QTest::newRow("ENOSPC on write") << 0;
    QTest::newRow("EIO on write") << 1;
    QTest::newRow("short write then ENOSPC") << 2;
    QTest::newRow("EIO on fdatasync") << 3;
}

void TestStorageLog::injectedWriteFailures() {
    QFETCH(int, kind);
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    std::mt19937_64 rng(10);
    auto all = makeEntries(rng, 1, 10, 200);
    auto log = openLog(dir, 1 << 20, ops);
    QVERIFY(log);
    VERIFY_OK(log->append(view(all)));
    const std::string path = log->locate(1)->path;
    const std::int64_t sizeBefore = test::fileSize(path);
    auto batch = makeEntries(rng, 11, 5, 2000);
    switch (kind) {
        case 0:
            ops->failNext(FaultyFileOps::Op::Pwritev, ENOSPC);
            break;
        case 1:
            ops->failNext(FaultyFileOps::Op::Pwritev, EIO);
            break;
        case 2:
            ops->shortWriteNext(1500);
            ops->failNext(FaultyFileOps::Op::Pwritev, ENOSPC, 1);
            break;
        default:
            ops->failNext(FaultyFileOps::Op::Fdatasync, EIO);
            break;
    }
    const Status s = log->append(view(batch));
    QVERIFY(!s.ok());
    QCOMPARE(s.sysErrno(), kind == 0 || kind == 2 ? ENOSPC : EIO);
    QVERIFY2(s.message().find(path) != std::string::npos, s.message().c_str());
    // Nothing of the failed batch remains; everything before is intact.
    QCOMPARE(log->lastIndex(), 10u);
    QCOMPARE(test::fileSize(path), sizeBefore);
    VERIFY_LOG(*log, all);
    // Space is back: the same batch goes in.
    VERIFY_OK(log->append(view(batch)));
    all.insert(all.end(), batch.begin(), batch.end());
    VERIFY_LOG(*log, all);
    log.reset();
    test::LogCapture cap;
    log = openLog(dir, 1 << 20, nullptr, cap.logger());
    QVERIFY(log);
    VERIFY_LOG(*log, all);
    QCOMPARE(cap.count(LogLevel::Warning), 0);
}

void TestStorageLog::failedCutBackIsRepairedOnNextAppend() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    std::mt19937_64 rng(11);
    auto all = makeEntries(rng, 1, 5, 100);
    auto log = openLog(dir, 1 << 20, ops);
    QVERIFY(log);
    VERIFY_OK(log->append(view(all)));
    const std::string path = log->locate(1)->path;
    const std::int64_t sizeBefore = test::fileSize(path);
    ops->shortWriteNext(100);
    ops->failNext(FaultyFileOps::Op::Pwritev, ENOSPC, 1);
    ops->failNext(FaultyFileOps::Op::Ftruncate, EIO);  // the cut-back fails too
    auto batch = makeEntries(rng, 6, 3, 500);
    QVERIFY(!log->append(view(batch)).ok());
    QCOMPARE(test::fileSize(path), sizeBefore + 100);  // garbage left for now
    QCOMPARE(log->lastIndex(), 5u);
    VERIFY_LOG(*log, all);
    VERIFY_OK(log->append(view(batch)));  // cuts the garbage first
    all.insert(all.end(), batch.begin(), batch.end());
    log.reset();
    log = openLog(dir);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
}

void TestStorageLog::failureDuringRollUndoesBatch() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    std::mt19937_64 rng(12);
    auto all = makeEntries(rng, 1, 3, 50);
    auto log = openLog(dir, 1024, ops);
    QVERIFY(log);
    VERIFY_OK(log->append(view(all)));
    const auto segs = log->segmentCount();
    auto batch = makeEntries(rng, 4, 20, 200);            // needs several segments
    ops->failNext(FaultyFileOps::Op::Fdatasync, EIO, 2);  // first run synced, fails at the new segment
    QVERIFY(!log->append(view(batch)).ok());
    QCOMPARE(log->lastIndex(), 3u);
    QCOMPARE(log->segmentCount(), segs);
    VERIFY_LOG(*log, all);
    VERIFY_OK(log->append(view(batch)));
    all.insert(all.end(), batch.begin(), batch.end());
    log.reset();
    log = openLog(dir, 1024);
    QVERIFY(log);
    VERIFY_LOG(*log, all);
}

QTEST_GUILESS_MAIN(TestStorageLog)
#include "tst_storage_log.moc"
