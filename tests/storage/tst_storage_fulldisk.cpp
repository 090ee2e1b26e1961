// A full disk, for real: as root the test re-executes itself inside a private mount namespace with a
// 2 MiB tmpfs (unshare -m ... mount -t tmpfs), fills it through RaftLogStore, and checks that the failed
// append is an error, everything before stays readable (also after reopening), and appends succeed again
// once space is freed. Without root it is skipped (the injected-ENOSPC tests in tst_storage_log and
// tst_storage_raftlogstore still run).
#include <sys/statfs.h>
#include <unistd.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdlib>

#include "storage/raft_log_store.h"
#include "storage_test_util.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

using namespace raftwc;
using namespace raftwc::storage;

namespace {
constexpr const char* kChildEnv = "RAFTWC_STORAGE_TMPFS_DIR";
}

/// Runs in the child, on the mounted tmpfs.
class TmpfsChild : public QObject {
    Q_OBJECT
  private slots:
    void fillEmptyRefill();
};

void TmpfsChild::fillEmptyRefill() {
    const std::string mnt = std::getenv(kChildEnv);
    struct statfs fs {};
    QCOMPARE(::statfs(mnt.c_str(), &fs), 0);
    QCOMPARE(static_cast<long>(fs.f_type), static_cast<long>(TMPFS_MAGIC));
    const std::string filler = mnt + "/filler";
    QVERIFY(test::writeFile(filler, QByteArray(384 * 1024, 'f')));

    RaftLogStoreOptions o;
    o.dir = mnt + "/data";
    o.segmentBytes = 256 * 1024;
    test::LogCapture cap;
    o.logger = cap.logger();
    auto opened = RaftLogStore::open(o);
    QVERIFY(opened.ok());
    auto store = opened.take();
    std::mt19937_64 rng(1);
    std::vector<raft::Entry> stored;
    raft::HardState hs;
    Status failure;
    for (int round = 0; round < 200 && failure.ok(); ++round) {
        std::vector<raft::Entry> batch;
        for (int i = 0; i < 4; ++i)
            batch.push_back(raft::Entry{1 + static_cast<raft::Term>(round / 10),
                                        stored.size() + batch.size() + 1, raft::EntryType::Normal,
                                        test::randomBytes(rng, 8000)});
        const raft::HardState next{batch.back().term, 1, stored.size()};
        failure = store->persist(next, batch);
        if (failure.ok()) {
            stored.insert(stored.end(), batch.begin(), batch.end());
            hs = next;
        }
    }
    QVERIFY2(!failure.ok(), "the 2 MiB tmpfs never filled up");
    QVERIFY2(failure.sysErrno() == ENOSPC, failure.message().c_str());
    QVERIFY(stored.size() >= 40);
    qInfo("disk full after %zu entries: %s", stored.size(), failure.message().c_str());
    // Everything before the failure is intact and readable, in memory and after reopening.
    QCOMPARE(store->lastIndex(), stored.size());
    QCOMPARE(store->entries(1, stored.size() + 1, SIZE_MAX), stored);
    const raft::HardState beforeHs = store->hardState();
    QVERIFY(beforeHs == hs || beforeHs.commit <= hs.commit);  // the hard-state write may have failed alone
    store.reset();
    opened = RaftLogStore::open(o);
    QVERIFY2(opened.ok(), opened.ok() ? "" : opened.status().message().c_str());
    store = opened.take();
    QCOMPARE(store->lastIndex(), stored.size());
    QCOMPARE(store->entries(1, stored.size() + 1, SIZE_MAX), stored);
    QCOMPARE(store->hardState(), beforeHs);
    QCOMPARE(cap.count(LogLevel::Warning), 0);  // the failed tail was cut back, nothing torn on disk

    // Space comes back: appends and hard-state writes work again.
    QVERIFY(QFile::remove(QString::fromStdString(filler)));
    for (int round = 0; round < 8; ++round) {
        std::vector<raft::Entry> batch;
        for (int i = 0; i < 4; ++i)
            batch.push_back(raft::Entry{100, stored.size() + batch.size() + 1, raft::EntryType::Normal,
                                        test::randomBytes(rng, 8000)});
        const Status s = store->persist(raft::HardState{100, 2, stored.size()}, batch);
        QVERIFY2(s.ok(), s.message().c_str());
        stored.insert(stored.end(), batch.begin(), batch.end());
    }
    store.reset();
    opened = RaftLogStore::open(o);
    QVERIFY(opened.ok());
    store = opened.take();
    QCOMPARE(store->entries(1, stored.size() + 1, SIZE_MAX), stored);
    QCOMPARE(store->hardState().term, 100u);
}

class TestStorageFullDisk : public QObject {
    Q_OBJECT
  private slots:
    void realTmpfsFills();
};

void TestStorageFullDisk::realTmpfsFills() {
    if (::geteuid() != 0)
        QSKIP("needs root to mount a 2 MiB tmpfs in a private mount namespace (unshare -m)");
    QTemporaryDir mnt;
    QVERIFY(mnt.isValid());
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(kChildEnv), mnt.path());
    p.setProcessEnvironment(env);
    // $0 = mount point, $1 = this binary. The tmpfs exists only in the child's mount namespace.
    p.start(QStringLiteral("unshare"),
            {QStringLiteral("-m"), QStringLiteral("--propagation"), QStringLiteral("private"),
             QStringLiteral("sh"), QStringLiteral("-c"),
             QStringLiteral("mount -t tmpfs -o size=2m none \"$0\" || exit 77; echo MOUNTED; exec \"$1\""),
             mnt.path(), QCoreApplication::applicationFilePath()});
    if (!p.waitForStarted(10000)) QSKIP("cannot run unshare(1)");
    QVERIFY(p.waitForFinished(50000));
    const QByteArray out = p.readAllStandardOutput();
    const QByteArray err = p.readAllStandardError();
    if (!out.startsWith("MOUNTED"))
        QSKIP(qPrintable(QStringLiteral("cannot mount a tmpfs in a private mount namespace here: ") +
                         QString::fromLocal8Bit(err)));
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, QByteArray(out + err).constData());
    QVERIFY2(out.contains("PASS   : TmpfsChild::fillEmptyRefill()"), out.constData());
    for (const QByteArray& line : out.split('\n'))
        if (line.startsWith("QINFO")) qInfo("child: %s", line.constData());
}

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (std::getenv(kChildEnv)) {
        TmpfsChild child;
        char* childArgv[] = {argv[0], nullptr};
        return QTest::qExec(&child, 1, childArgv);
    }
    TestStorageFullDisk t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_storage_fulldisk.moc"
