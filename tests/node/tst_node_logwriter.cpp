// LogWriter over RaftLogStore::persistAsync: Readys are persisted off the caller's thread, in order; those
// handed in while a write is in flight share the next write (one fdatasync, group commit); the messages
// that wait for a write come back only once it is durable; a failed write stops everything after it.
#include <QtTest>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "node/log_writer.h"
#include "storage/file_ops.h"
#include "storage/raft_log_store.h"

using namespace raftwc;
using node::LogWriter;
using node::WrittenReady;

namespace {

/// POSIX file operations whose fdatasync can be held (a slow disk) or made to fail (a dying one).
class GatedFileOps : public storage::FileOps {
  public:
    int fdatasync(int fd) override {
        std::unique_lock lk(mu_);
        ++syncs_;
        cv_.notify_all();
        cv_.wait(lk, [&] { return !held_; });
        if (fail_) {
            errno = EIO;
            return -1;
        }
        return storage::FileOps::fdatasync(fd);
    }
    void hold() {
        std::lock_guard lk(mu_);
        held_ = true;
    }
    void release() {
        std::lock_guard lk(mu_);
        held_ = false;
        cv_.notify_all();
    }
    void failFromNowOn() {
        std::lock_guard lk(mu_);
        fail_ = true;
    }
    int syncs() {
        std::lock_guard lk(mu_);
        return syncs_;
    }
    /// Waits (bounded) until at least n fdatasync calls have started.
    bool waitSyncs(int n) {
        std::unique_lock lk(mu_);
        return cv_.wait_for(lk, std::chrono::seconds(10), [&] { return syncs_ >= n; });
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool held_ = false;
    bool fail_ = false;
    int syncs_ = 0;
};

std::unique_ptr<storage::RaftLogStore> openStore(const QTemporaryDir& dir,
                                                 std::shared_ptr<GatedFileOps> ops) {
    storage::RaftLogStoreOptions so;
    so.dir = dir.path().toStdString();
    so.fileOps = std::move(ops);
    auto opened = storage::RaftLogStore::open(so);
    return opened.ok() ? opened.take() : nullptr;
}

/// A writer whose completions run on this (the test's) thread, through the event loop.
LogWriter makeWriter(storage::RaftLogStore& store, QObject& context, LogWriter::Done done) {
    return LogWriter(
        store,
        [&context](std::function<void()> f) {
            QMetaObject::invokeMethod(&context, std::move(f), Qt::QueuedConnection);
        },
        std::move(done));
}

raft::Entry entry(raft::Term t, raft::Index i, const char* data = "x") {
    return raft::Entry{t, i, raft::EntryType::Normal, data};
}

raft::Ready ready(std::vector<raft::Entry> ents, std::uint64_t token, std::vector<raft::Message> after = {},
                  std::optional<raft::HardState> hs = std::nullopt) {
    raft::Ready rd;
    rd.entries = std::move(ents);
    rd.hardState = hs;
    rd.messagesAfterPersist = std::move(after);
    rd.persistToken = token;
    return rd;
}

raft::Message ack(raft::Index i) {
    raft::Message m;
    m.type = raft::MessageType::AppendResp;
    m.index = i;
    return m;
}

}  // namespace

class tst_NodeLogWriter : public QObject {
    Q_OBJECT

  private slots:
    void mergeKeepsTheLastWordOfEachIndex();
    void readysQueuedDuringAWriteShareTheNextSync();
    void aFailedWriteStopsEverythingAfterIt();
};

void tst_NodeLogWriter::mergeKeepsTheLastWordOfEachIndex() {
    std::vector<raft::Entry> w;
    storage::appendReplacing(w, {entry(1, 5), entry(1, 6), entry(1, 7)});
    storage::appendReplacing(w, {entry(1, 8)});
    storage::appendReplacing(w, {entry(2, 7, "new7"), entry(2, 8, "new8")});
    storage::appendReplacing(w, {});
    QCOMPARE(w.size(), std::size_t(4));
    QCOMPARE(w[0], entry(1, 5));
    QCOMPARE(w[1], entry(1, 6));
    QCOMPARE(w[2], entry(2, 7, "new7"));
    QCOMPARE(w[3], entry(2, 8, "new8"));
    // A later Ready that starts before every earlier entry replaces all of them.
    storage::appendReplacing(w, {entry(3, 3)});
    QCOMPARE(w.size(), std::size_t(1));
    QCOMPARE(w[0], entry(3, 3));
}

void tst_NodeLogWriter::readysQueuedDuringAWriteShareTheNextSync() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto ops = std::make_shared<GatedFileOps>();
    std::unique_ptr<storage::RaftLogStore> store = openStore(dir, ops);
    QVERIFY(store);
    const int syncsAtOpen = ops->syncs();

    QObject context;
    std::vector<std::uint64_t> tokens;  // in the order reported
    std::vector<raft::Index> ackedAt;   // store's last index when each waiting ack came back
    bool ok = true;
    LogWriter writer = makeWriter(*store, context, [&](WrittenReady w, const storage::Status& st) {
        ok = ok && st.ok();
        tokens.push_back(w.persistToken);
        for (const raft::Message& m : w.messagesAfterPersist) {
            QVERIFY(store->lastIndex() >= m.index);  // never before the entries are durable
            ackedAt.push_back(m.index);
        }
    });

    ops->hold();  // the disk is slow: the first write is stuck in fdatasync
    writer.submit(ready({entry(1, 1), entry(1, 2)}, 1, {ack(2)}, raft::HardState{1, 1, 0}));
    QVERIFY(ops->waitSyncs(syncsAtOpen + 1));
    // The caller's thread is free meanwhile: it hands in three more Readys (one truncates another).
    writer.submit(ready({entry(1, 3), entry(1, 4)}, 2, {ack(4)}));
    writer.submit(ready({entry(2, 4, "b"), entry(2, 5)}, 3, {ack(5)}, raft::HardState{2, 0, 2}));
    writer.submit(ready({}, 0, {ack(5)}));
    QCOMPARE(writer.inFlight(), std::size_t(4));
    QVERIFY(tokens.empty());

    ops->release();
    QTRY_VERIFY_WITH_TIMEOUT(writer.inFlight() == 0 && tokens.size() == 4, 10000);
    QVERIFY(ok);
    QCOMPARE(tokens, (std::vector<std::uint64_t>{1, 2, 3, 0}));
    QCOMPARE(ackedAt, (std::vector<raft::Index>{2, 4, 5, 5}));
    const storage::RaftLogStore::AsyncStats st = store->asyncStats();
    QCOMPARE(st.jobs, std::uint64_t(4));
    QCOMPARE(st.writes, std::uint64_t(2));  // 4 Readys, 2 writes
    QCOMPARE(st.largestGroup, std::size_t(3));
    QCOMPARE(store->lastIndex(), raft::Index(5));
    QCOMPARE(store->term(4), raft::Term(2));  // the later Ready's entry 4 won
    QCOMPARE(store->hardState(), (raft::HardState{2, 0, 2}));
}

void tst_NodeLogWriter::aFailedWriteStopsEverythingAfterIt() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto ops = std::make_shared<GatedFileOps>();
    std::unique_ptr<storage::RaftLogStore> store = openStore(dir, ops);
    QVERIFY(store);

    QObject context;
    int calls = 0;
    bool failed = false;
    std::size_t acks = 0;
    LogWriter writer = makeWriter(*store, context, [&](WrittenReady w, const storage::Status& st) {
        ++calls;
        failed = failed || !st.ok();
        if (st.ok()) acks += w.messagesAfterPersist.size();
    });
    ops->hold();
    ops->failFromNowOn();
    writer.submit(ready({entry(1, 1)}, 1, {ack(1)}));
    writer.submit(ready({entry(1, 2)}, 2, {ack(2)}));
    ops->release();
    QTRY_VERIFY_WITH_TIMEOUT(calls >= 1 && writer.inFlight() == 0, 10000);
    QVERIFY(failed);
    writer.submit(ready({entry(1, 3)}, 3, {ack(3)}));
    QCOMPARE(writer.inFlight(), std::size_t(0));  // refused at once
    QCOMPARE(calls, 1);                           // nothing is written after a failure
    QCOMPARE(acks, std::size_t(0));               // and nothing that waited for it is sent
}

QTEST_GUILESS_MAIN(tst_NodeLogWriter)
#include "tst_node_logwriter.moc"
