// TableFile: a finished job's table entries copied out of the log — read back by log index exactly, and any
// damage (a flipped byte anywhere, a truncation) detected: the file does not open, or that entry is not
// served.
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include "node/table_file.h"
#include "storage/blob_store.h"

using namespace raftwc::node;
using raftwc::storage::BlobStore;
using raftwc::storage::FileOps;

class tst_NodeTableFile : public QObject {
    Q_OBJECT
  private slots:
    void roundTripAndDamage();
};

void tst_NodeTableFile::roundTripAndDamage() {
    QRandomGenerator rng(77);
    for (int round = 0; round < 20; ++round) {
        QTemporaryDir dir;
        auto store = BlobStore::open(FileOps::posix(), dir.path().toStdString(), "tables").take();
        std::map<raftwc::raft::Index, QByteArray> payloads;
        const int n = rng.bounded(1, 6);
        raftwc::raft::Index at = 1 + rng.bounded(1000);
        for (int i = 0; i < n; ++i, at += 1 + rng.bounded(50)) {
            QByteArray p(rng.bounded(0, 5000), Qt::Uninitialized);
            for (char& c : p)
                c = char(rng.generate());
            payloads[at] = p;
        }
        const std::string name(32, char('a' + round));
        {
            auto w = store->create(name);
            QVERIFY(w.ok());
            QVERIFY(writeTableFile(*w.value(), payloads).ok());
            QVERIFY(w.value()->commit().ok());
        }
        const std::string path = store->path(name);
        {
            QString why;
            auto t = TableFile::open(path, &why);
            QVERIFY2(t, qPrintable(why));
            for (const auto& [index, p] : payloads)
                QCOMPARE(*t->read(index), p);
            QVERIFY(!t->read(at + 1000));
        }
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray good = f.readAll();
        f.close();
        auto rewrite = [&](const QByteArray& bytes) {
            QFile g(QString::fromStdString(path));
            QVERIFY(g.open(QIODevice::WriteOnly | QIODevice::Truncate));
            g.write(bytes);
        };
        // A flipped byte: the file refuses to open, or the entry holding the byte is not served.
        for (int k = 0; k < 30; ++k) {
            QByteArray bad = good;
            const qsizetype pos = rng.bounded(bad.size());
            bad[pos] = char(bad[pos] ^ (1 << rng.bounded(8)));
            rewrite(bad);
            auto t = TableFile::open(path);
            if (!t) continue;
            int served = 0;
            for (const auto& [index, p] : payloads) {
                const auto got = t->read(index);
                if (got) {
                    QCOMPARE(*got, p);  // never a wrong payload
                    ++served;
                }
            }
            // The flipped byte lay in a payload (the header, footer and trailer are checked at open).
            QVERIFY(served < int(payloads.size()));
        }
        for (qsizetype cut = 0; cut < good.size(); cut += 1 + good.size() / 20) {
            rewrite(good.left(cut));
            QVERIFY(!TableFile::open(path));
        }
    }
}

QTEST_GUILESS_MAIN(tst_NodeTableFile)
#include "tst_node_tablefile.moc"
