// BlobStore: content-addressed blobs written aside and renamed into place — whole or absent after any
// failure (every mutating step of a write failed in turn, as a power cut would), stale *.tmp files removed
// at open, blobs listed again after a reopen.
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "storage/blob_store.h"
#include "storage_test_util.h"

using namespace raftwc::storage;
using raftwc::storage::test::FaultyFileOps;

namespace {

std::string digestOf(const QByteArray& bytes) {
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toStdString();
}

QByteArray readAll(const std::string& path) {
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

QStringList entries(const QString& dir) {
    return QDir(dir + QStringLiteral("/blobs")).entryList(QDir::Files, QDir::Name);
}

}  // namespace

class tst_StorageBlobStore : public QObject {
    Q_OBJECT
  private slots:
    void writeCommitListReopen();
    void abandonedWriterLeavesNothing();
    void everyFailingStepLeavesWholeOrNothing();
    void staleTmpRemovedAtOpen();
    void badDigestRefused();
};

void tst_StorageBlobStore::writeCommitListReopen() {
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString();
    auto opened = BlobStore::open(FileOps::posix(), d);
    QVERIFY(opened.ok());
    auto store = opened.take();
    const QByteArray content = QByteArray("hello blob world ").repeated(10000);
    const std::string digest = digestOf(content);
    QVERIFY(!store->has(digest));
    auto w = store->create(digest);
    QVERIFY(w.ok());
    for (qsizetype at = 0; at < content.size(); at += 7000)
        QVERIFY(w.value()
                    ->append(content.constData() + at,
                             std::size_t(std::min<qsizetype>(7000, content.size() - at)))
                    .ok());
    QVERIFY(!store->has(digest));  // not before commit
    QCOMPARE(w.value()->written(), std::uint64_t(content.size()));
    QVERIFY(w.value()->commit().ok());
    w = Status::error("done");
    QVERIFY(store->has(digest));
    QCOMPARE(store->path(digest), d + "/blobs/" + BlobStore::hex(digest));
    QCOMPARE(readAll(store->path(digest)), content);
    QCOMPARE(entries(dir.path()), QStringList{QString::fromStdString(BlobStore::hex(digest))});
    // An empty blob too.
    const std::string empty = digestOf({});
    auto e = store->create(empty);
    QVERIFY(e.ok() && e.value()->commit().ok());
    QCOMPARE(store->list().size(), std::size_t(2));
    store.reset();
    auto again = BlobStore::open(FileOps::posix(), d);
    QVERIFY(again.ok());
    QVERIFY(again.value()->has(digest));
    QVERIFY(again.value()->has(empty));
    QVERIFY(again.value()->remove(digest).ok());
    QVERIFY(!again.value()->has(digest));
    QVERIFY(again.value()->remove(digest).ok());  // absent: fine
    QCOMPARE(entries(dir.path()), QStringList{QString::fromStdString(BlobStore::hex(empty))});
}

void tst_StorageBlobStore::abandonedWriterLeavesNothing() {
    QTemporaryDir dir;
    auto store = BlobStore::open(FileOps::posix(), dir.path().toStdString()).take();
    const std::string digest = digestOf("abc");
    {
        auto w = store->create(digest);
        QVERIFY(w.ok());
        QVERIFY(w.value()->append("ab", 2).ok());
    }  // destroyed before commit (the bytes did not match, or the node stopped)
    QVERIFY(!store->has(digest));
    QVERIFY(entries(dir.path()).isEmpty());
}

void tst_StorageBlobStore::everyFailingStepLeavesWholeOrNothing() {
    const QByteArray content = QByteArray("0123456789").repeated(5000);
    const std::string digest = digestOf(content);
    for (int step = 1; step < 12; ++step) {
        QTemporaryDir dir;
        auto ops = std::make_shared<FaultyFileOps>();
        auto store = BlobStore::open(ops, dir.path().toStdString()).take();
        ops->crashAtStep(step);
        bool committed = false;
        {
            auto w = store->create(digest);
            if (w.ok() && w.value()->append(content.constData(), std::size_t(content.size())).ok())
                committed = w.value()->commit().ok();
        }
        ops->clear();
        // Reopened "after the power cut": the blob is whole or absent, and nothing else is left.
        auto again = BlobStore::open(FileOps::posix(), dir.path().toStdString()).take();
        const QStringList left = entries(dir.path());
        if (again->has(digest)) {
            QCOMPARE(readAll(again->path(digest)), content);
            QCOMPARE(left.size(), 1);
        } else {
            QVERIFY2(!committed, qPrintable(QStringLiteral("step %1: commit said ok but no blob").arg(step)));
            QVERIFY2(left.isEmpty(), qPrintable(left.join(QLatin1Char(' '))));
        }
    }
}

void tst_StorageBlobStore::staleTmpRemovedAtOpen() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("blobs")));
    const QString hex = QString::fromStdString(BlobStore::hex(digestOf("x")));
    for (const QString& name : QStringList{hex + QStringLiteral(".tmp"), QStringLiteral("notes.txt")}) {
        QFile f(dir.path() + QStringLiteral("/blobs/") + name);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("partial");
    }
    auto store = BlobStore::open(FileOps::posix(), dir.path().toStdString());
    QVERIFY(store.ok());
    QVERIFY(store.value()->list().empty());
    QCOMPARE(entries(dir.path()), QStringList{QStringLiteral("notes.txt")});  // only its own files
}

void tst_StorageBlobStore::badDigestRefused() {
    QTemporaryDir dir;
    auto store = BlobStore::open(FileOps::posix(), dir.path().toStdString()).take();
    QVERIFY(!store->create("short").ok());
    QVERIFY(!store->create(std::string(33, 'x')).ok());
}

QTEST_GUILESS_MAIN(tst_StorageBlobStore)
#include "tst_storage_blobstore.moc"
