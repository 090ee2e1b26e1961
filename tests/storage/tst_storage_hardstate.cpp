// Hard-state file (atomic replace under a simulated crash at every step, damage detection) and the
// data-directory lock (same process and a second process).
#include <unistd.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cstdio>
#include <cstdlib>

#include "storage/hard_state_file.h"
#include "storage/raft_log_store.h"
#include "storage_test_util.h"

using namespace raftwc;
using namespace raftwc::storage;
using test::FaultyFileOps;

namespace {

constexpr const char* kLockChildEnv = "RAFTWC_STORAGE_LOCK_CHILD";

HardStateRecord sample(std::uint64_t n) {
    HardStateRecord r;
    r.hs = raft::HardState{n, n + 1, n * 10};
    r.clusterId = "cluster-" + std::to_string(n);
    r.nodeId = 100 + n;
    return r;
}

/// Child mode: try to open the store in the directory; print the error. 0 = opened, 2 = refused.
int lockChild(const char* dir) {
    RaftLogStoreOptions o;
    o.dir = dir;
    auto r = RaftLogStore::open(o);
    if (r.ok()) return 0;
    std::printf("%s\n", r.status().message().c_str());
    return 2;
}

}  // namespace

class TestStorageHardState : public QObject {
    Q_OBJECT
  private slots:
    void roundTrip();
    void crashAtEveryStep();
    void tornTempWrite();
    void damageIsDetected();
    void identityPersists();
    void lockSameProcess();
    void lockSecondProcess();
};

void TestStorageHardState::roundTrip() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    {
        auto f = HardStateFile::open(dir);
        QVERIFY(f.ok());
        QCOMPARE(f.value().current(), HardStateRecord{});  // never written: empty
        QVERIFY(f.value().write(sample(1)).ok());
        QVERIFY(f.value().write(sample(2)).ok());
        QCOMPARE(f.value().current(), sample(2));
    }
    auto f = HardStateFile::open(dir);
    QVERIFY(f.ok());
    QCOMPARE(f.value().current(), sample(2));
    HardStateRecord big = sample(3);
    big.clusterId.assign(HardStateRecord::kMaxClusterIdBytes + 1, 'x');
    QVERIFY(!f.value().write(big).ok());
    big.clusterId.pop_back();
    QVERIFY(f.value().write(big).ok());
    QCOMPARE(HardStateFile::open(dir).value().current(), big);
}

void TestStorageHardState::crashAtEveryStep() {
    // Steps of write(): open temp, write, fsync, rename, open dir, fsync dir. A crash at step n means that
    // call and everything after it never happen. Before the rename the old state must survive, after it
    // the new one; a leftover temp file is cleaned up on open.
    for (int n = 1; n <= 7; ++n) {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        auto ops = std::make_shared<FaultyFileOps>();
        auto f = HardStateFile::open(dir, {}, ops);
        QVERIFY(f.ok());
        QVERIFY(f.value().write(sample(1)).ok());
        ops->crashAtStep(n);
        const Status s = f.value().write(sample(2));
        QCOMPARE(s.ok(), n == 7);
        test::LogCapture cap;
        auto reopened = HardStateFile::open(dir, cap.logger());
        QVERIFY2(reopened.ok(), reopened.ok() ? "" : reopened.status().message().c_str());
        QCOMPARE(reopened.value().current(), n <= 4 ? sample(1) : sample(2));
        QVERIFY(!QFile::exists(QString::fromStdString(dir + "/" + HardStateFile::kTempName)));
        QCOMPARE(cap.count(LogLevel::Warning), n >= 2 && n <= 4 ? 1 : 0);  // temp file left behind
    }
}

void TestStorageHardState::tornTempWrite() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    auto ops = std::make_shared<FaultyFileOps>();
    auto f = HardStateFile::open(dir, {}, ops);
    QVERIFY(f.ok());
    QVERIFY(f.value().write(sample(1)).ok());
    ops->shortWriteNext(10);
    ops->crashAtStep(3);  // step 2 writes 10 bytes, the retry at step 3 never happens
    QVERIFY(!f.value().write(sample(2)).ok());
    QCOMPARE(test::fileSize(dir + "/" + HardStateFile::kTempName), 10);
    auto reopened = HardStateFile::open(dir);
    QVERIFY(reopened.ok());
    QCOMPARE(reopened.value().current(), sample(1));
}

void TestStorageHardState::damageIsDetected() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const std::string path = dir + "/" + HardStateFile::kFileName;
    QVERIFY(HardStateFile::open(dir).value().write(sample(5)).ok());
    const QByteArray original = test::readFile(path);
    QCOMPARE(original.size(), static_cast<qsizetype>(HardStateFile::encode(sample(5)).size()));
    for (qsizetype i = 0; i < original.size(); ++i) {
        QByteArray bad = original;
        bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
        QVERIFY(test::writeFile(path, bad));
        auto r = HardStateFile::open(dir);
        QVERIFY2(!r.ok(), qPrintable(QStringLiteral("flip at %1 not detected").arg(i)));
        QVERIFY2(r.status().message().find(path) != std::string::npos, r.status().message().c_str());
    }
    for (qsizetype len : {qsizetype(0), qsizetype(5), original.size() - 1}) {
        QVERIFY(test::writeFile(path, original.left(len)));
        QVERIFY(!HardStateFile::open(dir).ok());
    }
    QVERIFY(test::writeFile(path, original));
    QCOMPARE(HardStateFile::open(dir).value().current(), sample(5));
}

void TestStorageHardState::identityPersists() {
    QTemporaryDir tmp;
    RaftLogStoreOptions o;
    o.dir = tmp.path().toStdString() + "/data";
    const std::string uuid("\x01\x02\x00\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0", 16);
    {
        auto s = RaftLogStore::open(o);
        QVERIFY(s.ok());
        QCOMPARE(s.value()->nodeId(), raft::kNoNode);
        QVERIFY(s.value()->clusterId().empty());
        QVERIFY(s.value()->setIdentity(uuid, 42).ok());
        QVERIFY(s.value()->persist(raft::HardState{3, 42, 0}, {}).ok());
    }
    auto s = RaftLogStore::open(o);
    QVERIFY(s.ok());
    QCOMPARE(s.value()->clusterId(), uuid);
    QCOMPARE(s.value()->nodeId(), 42u);
    QCOMPARE(s.value()->hardState(), (raft::HardState{3, 42, 0}));
}

void TestStorageHardState::lockSameProcess() {
    QTemporaryDir tmp;
    RaftLogStoreOptions o;
    o.dir = tmp.path().toStdString();
    auto first = RaftLogStore::open(o);
    QVERIFY(first.ok());
    auto second = RaftLogStore::open(o);
    QVERIFY(!second.ok());
    const std::string expect = "data directory " + o.dir + " is in use by another raftwc process (pid " +
                               std::to_string(::getpid()) + ")";
    QCOMPARE(second.status().message(), expect);
    first.value().reset();  // released
    QVERIFY(RaftLogStore::open(o).ok());
}

void TestStorageHardState::lockSecondProcess() {
    QTemporaryDir tmp;
    RaftLogStoreOptions o;
    o.dir = tmp.path().toStdString();
    auto runChild = [&](QByteArray* out) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QString::fromLatin1(kLockChildEnv), tmp.path());
        p.setProcessEnvironment(env);
        p.start(QCoreApplication::applicationFilePath(), {});
        if (!p.waitForFinished(30000)) return -1;
        *out = p.readAllStandardOutput();
        return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    };
    QByteArray out;
    {
        auto store = RaftLogStore::open(o);
        QVERIFY(store.ok());
        QCOMPARE(runChild(&out), 2);
        const QByteArray expect = QByteArray("is in use by another raftwc process (pid ") +
                                  QByteArray::number(static_cast<qint64>(::getpid())) + ")";
        QVERIFY2(out.contains(expect), out.constData());
    }
    QCOMPARE(runChild(&out), 0);  // free again once the owner closed it
}

int main(int argc, char** argv) {
    if (const char* dir = std::getenv(kLockChildEnv)) return lockChild(dir);
    QCoreApplication app(argc, argv);
    TestStorageHardState t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_storage_hardstate.moc"
