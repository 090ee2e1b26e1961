// Stored files' contents as content-addressed blobs (DIR/blobs/<sha256>, storage::BlobStore): when a
// manifest is applied, the file's bytes are copied out of the log's chunk entries into a blob named by
// their SHA-256 — checked against the manifest's before the blob is committed — so the same file uploaded
// twice is stored once, members count from one sequential file, and the log prefix holding the chunks can
// be compacted (docs/STORAGE.md, "Blobs"). Until its blob exists a file is read from the log.
#include "net/sha256.h"
#include "node/log_file_source.h"
#include "node/node.h"
#include "node/off_loop.h"
#include "node/table_file.h"
#include "storage/raft_log_store.h"

namespace raftwc::node {

std::shared_ptr<wordcount::ByteSource> Node::fileSource(const StoredFile& f) {
    if (blobs_ && f.sha256.size() == 32) {
        const std::string digest = f.sha256.toStdString();
        if (blobs_->has(digest)) {
            auto blob = std::make_shared<wordcount::FileByteSource>(blobs_->path(digest));
            if (blob->isOpen() && blob->size() == f.size) return blob;
            qWarning().noquote() << "blob" << QString::fromLatin1(f.sha256.toHex())
                                 << "cannot be read; reading the file from the log";
        }
    }
    return std::make_shared<LogFileSource>(store_->log(), f.chunks);
}

void Node::queueBlob(const QByteArray& fileId) {
    if (!blobs_) return;
    blobQueue_.push_back(fileId);
    pumpBlobs();
}

void Node::pumpBlobs() {
    while (!blobBusy_ && !blobQueue_.empty()) {
        const StoredFile* f = sm_.file(blobQueue_.front());
        blobQueue_.pop_front();
        if (!f || f->sha256.size() != 32 || blobs_->has(f->sha256.toStdString())) continue;  // stored once
        blobBusy_ = true;
        struct Outcome {
            bool ok = false;
            QString error;
        };
        runOffLoop(
            *env_, QPointer<Node>(this),
            [blobs = blobs_, source = std::make_shared<LogFileSource>(store_->log(), f->chunks),
             size = f->size, sha = f->sha256]() {
                Outcome out;
                auto writer = blobs->create(sha.toStdString());
                if (!writer.ok()) {
                    out.error = QString::fromStdString(writer.status().message());
                    return out;
                }
                net::Sha256 hash;
                std::string buf(std::size_t(1) << 20, '\0');
                for (std::uint64_t at = 0; at < size;) {
                    const std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), size - at));
                    if (!source->read(at, n, buf.data())) {
                        out.error =
                            QStringLiteral("cannot read the file's chunks from the log at %1").arg(at);
                        return out;
                    }
                    hash.add(QByteArrayView(buf.data(), qsizetype(n)));
                    if (storage::Status s = writer.value()->append(buf.data(), n); !s.ok()) {
                        out.error = QString::fromStdString(s.message());
                        return out;
                    }
                    at += n;
                }
                if (hash.result() != sha) {
                    out.error = QStringLiteral("the chunks in the log do not match the manifest's SHA-256");
                    return out;
                }
                if (storage::Status s = writer.value()->commit(); !s.ok()) {
                    out.error = QString::fromStdString(s.message());
                    return out;
                }
                out.ok = true;
                return out;
            },
            [this, sha = f->sha256, size = f->size](Outcome out) {
                blobBusy_ = false;
                if (out.ok && !sm_.hasContent(sha)) {
                    dropBlob(sha);  // deleted while it was written
                } else if (out.ok) {
                    ++blobsWritten_;
                    qInfo().noquote() << QStringLiteral("stored file %1 (%2 bytes) as a blob")
                                             .arg(QString::fromLatin1(sha.toHex()))
                                             .arg(size);
                } else {
                    // The file stays readable from the log; a later upload of the same content tries again.
                    qWarning().noquote() << "could not store file" << QString::fromLatin1(sha.toHex())
                                         << "as a blob:" << out.error;
                }
                pumpBlobs();
            });
        return;
    }
}

void Node::removeOffLoop(std::shared_ptr<storage::BlobStore> store, const std::string& name,
                         const QString& what) {
    if (!store || !store->has(name)) return;
    runOffLoop(
        *env_, QPointer<Node>(this),
        [store, name] {
            const storage::Status s = store->remove(name);
            return s.ok() ? QString() : QString::fromStdString(s.message());
        },
        [what](const QString& error) {
            if (error.isEmpty())
                qInfo().noquote() << "deleted" << what;
            else
                qWarning().noquote() << "could not delete" << what << ":" << error;
        });
}

void Node::dropBlob(const QByteArray& sha256) {
    if (sha256.size() != 32) return;
    if (snapshotRefs_.count(sha256.toStdString()) && snapshotNeeded()) {
        // A member is being sent (or will need) the stored snapshot, which refers to it: it goes with the
        // next snapshot, taken at the next opportunity.
        compactRequested_ = true;
        return;
    }
    removeOffLoop(blobs_, sha256.toStdString(),
                  QStringLiteral("the blob of file %1").arg(QString::fromLatin1(sha256.toHex())));
}

}  // namespace raftwc::node

// ---- finished jobs' tables ---------------------------------------------------------------------

namespace raftwc::node {

void Node::queueTable(const QByteArray& jobId) {
    if (!tables_) return;
    tableQueue_.push_back(jobId);
    pumpTables();
}

void Node::pumpTables() {
    while (!tableBusy_ && !tableQueue_.empty()) {
        const QByteArray jobId = tableQueue_.front();
        tableQueue_.pop_front();
        const StoredJob* j = sm_.job(jobId);
        if (!j || tables_->has(tableFileName(jobId))) continue;
        std::vector<raft::Index> indexes{j->index};
        for (const TablePieceRef& p : j->pieces)
            indexes.push_back(p.index);
        tableBusy_ = true;
        runOffLoop(
            *env_, QPointer<Node>(this),
            [tables = tables_, store = store_.get(), indexes, name = tableFileName(jobId)]() -> QString {
                std::map<raft::Index, QByteArray> payloads;
                for (raft::Index i : indexes) {
                    try {
                        const std::vector<raft::Entry> es = store->entries(i, i + 1, SIZE_MAX);
                        if (es.size() != 1) return QStringLiteral("log entry %1 is not there").arg(i);
                        payloads[i] = QByteArray::fromStdString(es.front().data);
                    } catch (const std::exception& e) {
                        return QStringLiteral("cannot read log entry %1: %2")
                            .arg(i)
                            .arg(QString::fromUtf8(e.what()));
                    }
                }
                auto writer = tables->create(name);
                if (!writer.ok()) return QString::fromStdString(writer.status().message());
                if (storage::Status s = writeTableFile(*writer.value(), payloads); !s.ok())
                    return QString::fromStdString(s.message());
                if (storage::Status s = writer.value()->commit(); !s.ok())
                    return QString::fromStdString(s.message());
                return {};
            },
            [this, jobId](const QString& error) {
                tableBusy_ = false;
                if (!error.isEmpty())
                    qWarning().noquote() << "could not copy the table of job" << QString::fromLatin1(jobId)
                                         << "out of the log:" << error;
                else if (!sm_.job(jobId))
                    dropTable(jobId);  // deleted while it was written
                pumpTables();
            });
        return;
    }
}

void Node::dropTable(const QByteArray& jobId) {
    if (snapshotRefs_.count(tableFileName(jobId)) && snapshotNeeded()) {
        compactRequested_ = true;  // as for blobs
        return;
    }
    removeOffLoop(tables_, tableFileName(jobId),
                  QStringLiteral("the table of job %1").arg(QString::fromLatin1(jobId)));
}

std::function<std::optional<QByteArray>(raft::Index)> Node::tableReader(const QByteArray& jobId) const {
    std::shared_ptr<TableFile> file;
    if (tables_ && tables_->has(tableFileName(jobId))) {
        QString why;
        file = TableFile::open(tables_->path(tableFileName(jobId)), &why);
        if (!file) qWarning().noquote() << "table file of job" << QString::fromLatin1(jobId) << ":" << why;
    }
    return [this, file](raft::Index i) -> std::optional<QByteArray> {
        if (file)
            if (auto p = file->read(i)) return p;
        return entryPayload(i);  // not copied yet (or damaged): the log still has it
    };
}

}  // namespace raftwc::node
