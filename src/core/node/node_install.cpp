// InstallSnapshot on a node (docs/STORAGE.md, "InstallSnapshot"). The leader's Snapshot message carries the
// state machine's bytes; the files and tables that state refers to travel out of band: before the message is
// stepped into the core, this node fetches every blob and table it lacks from the leader
// (RpcMethod::FetchBlob) in 4 MiB pieces, 4 in flight, written in order as they come and checked (SHA-256
// for a blob, the footer's CRCs for a table) before each is committed. A broken connection or a leader change
// resumes the item from the last byte written; a crash leaves committed items (kept, content-addressed) and
// no half one. Only then does the core take the snapshot: the store replaces the log with it atomically (a
// crash leaves the old log or the new snapshot) and the state machine loads it once that is durable
// (Node::onWritten).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QPointer>

#include "net/bytes.h"
#include "net/rpc_transport.h"
#include "node/install_p.h"
#include "node/off_loop.h"
#include "node/table_file.h"

namespace raftwc::node {

namespace {
constexpr std::uint32_t kFetchBytes =
    4u << 20;  ///< asked for at once
               /// A FetchBlob answer's bytes before the data (u64 size, u32 length).
constexpr qsizetype kHeader = 12;
constexpr int kWindow = 4;  ///< requests in flight
constexpr int kFetchTimeoutMs = 15000;
constexpr int kMaxFailures = 30;  ///< in a row; then the install is dropped (the leader sends it again)
std::uint64_t nextGeneration = 1;
/// A writer with its store: the writer (declared last) goes first, whichever thread drops them.
struct Held {
    std::shared_ptr<storage::BlobStore> store;
    std::shared_ptr<storage::BlobStore::Writer> writer;
};
}  // namespace

void Node::beginInstall(const raft::Message& m) {
    const raft::SnapshotMeta& meta = m.snapshot.meta;
    if (meta.index <= raft_->status().commit) {  // nothing to fetch: the core answers (or fast-forwards)
        raft_->step(m);
        scheduleReady();
        return;
    }
    if (install_ && install_->meta == meta) {  // sent again (the leader's timeout): the fetch goes on
        install_->message = m;
        install_->source = m.from;
        return;
    }
    QString why;
    const std::optional<StateMachine> state =
        StateMachine::restore(QByteArray::fromStdString(m.snapshot.data), &why);
    if (!state) {
        qWarning().noquote() << "drops the snapshot at index" << meta.index << "from" << nodeIdString(m.from)
                             << ":" << why;
        return;
    }
    if (install_)
        qInfo().noquote() << "a newer snapshot (index" << meta.index << ") replaces the one being received";
    auto in = std::make_unique<Install>();
    in->generation = nextGeneration++;
    in->meta = meta;
    in->message = m;
    in->source = m.from;
    in->startedMs = nowMs();
    std::uint64_t blobBytes = 0;
    int blobs = 0;
    for (const StoredFile* f : state->files()) {
        const std::string name = f->sha256.toStdString();
        if (name.size() != 32 || !in->names.insert(name).second || blobs_->has(name)) continue;
        in->items.push_back({0, name, f->size});
        blobBytes += f->size;
        ++blobs;
    }
    for (const StoredJob* j : state->jobs()) {
        const std::string name = tableFileName(j->jobId);
        in->names.insert(name);
        if (!tables_->has(name)) in->items.push_back({1, name, 0});
    }
    qInfo().noquote()
        << QStringLiteral(
               "receiving the snapshot at index %1 (term %2) from %3: %4 files (%5 bytes) and %6 "
               "tables to fetch")
               .arg(meta.index)
               .arg(meta.term)
               .arg(nodeIdString(m.from))
               .arg(blobs)
               .arg(blobBytes)
               .arg(in->items.size() - std::size_t(blobs));
    recordEvent(QStringLiteral("install"), {{QStringLiteral("index"), qint64(meta.index)},
                                            {QStringLiteral("from"), nodeIdString(m.from)},
                                            {QStringLiteral("files"), blobs},
                                            {QStringLiteral("bytes"), qint64(blobBytes)}});
    install_ = std::move(in);
    nextInstallItem();
}

void Node::nextInstallItem() {
    Install& in = *install_;
    in.writer.reset();
    in.store.reset();
    in.hash.reset();
    in.total.reset();
    in.written = in.requested = 0;
    in.early.clear();
    in.toWrite.clear();
    in.writing = false;
    in.inflight = 0;
    ++in.attempt;
    while (!in.items.empty()) {
        const Install::Item& item = in.items.front();
        if (!(item.store == 0 ? blobs_ : tables_)->has(item.name)) break;
        in.items.pop_front();  // came meanwhile (a local upload of the same content)
    }
    if (in.items.empty()) {
        if (in.commits > 0) return;  // the last commit calls again
        qInfo().noquote()
            << QStringLiteral(
                   "fetched the snapshot's %1 files and %2 tables (%3 bytes) in %4 ms%5; installing "
                   "it")
                   .arg(in.blobsFetched)
                   .arg(in.tablesFetched)
                   .arg(in.bytes)
                   .arg(nowMs() - in.startedMs)
                   .arg(in.resumed ? QStringLiteral(", resumed %1 times").arg(in.resumed) : QString());
        const raft::Message m = in.message;
        install_.reset();
        raft_->step(m);  // the core replaces the log (Ready::snapshot); loadSnapshot once it is durable
        scheduleReady();
        return;
    }
    const Install::Item& item = in.items.front();
    auto created = (item.store == 0 ? blobs_ : tables_)->create(item.name);
    if (!created.ok()) {
        qWarning().noquote() << "cannot receive the snapshot:"
                             << QString::fromStdString(created.status().message());
        install_.reset();
        return;
    }
    in.store = item.store == 0 ? blobs_ : tables_;
    in.writer = std::shared_ptr<storage::BlobStore::Writer>(created.take());
    in.hash = std::make_shared<net::Sha256>();
    if (item.store == 0) in.total = item.size;
    pumpInstall();
}

void Node::pumpInstall() {
    if (!install_ || !install_->writer) return;
    Install& in = *install_;
    const Install::Item& item = in.items.front();
    if (in.total && in.written == *in.total && in.inflight == 0) return writeInstallBytes();  // empty
    // Until a table's size is known, one request at a time.
    while (in.inflight < (in.total ? kWindow : 1) && (!in.total || in.requested < *in.total)) {
        const std::uint64_t offset = in.requested;
        const std::uint32_t len =
            in.total ? std::uint32_t(std::min<std::uint64_t>(kFetchBytes, *in.total - offset)) : kFetchBytes;
        in.requested += len;
        ++in.inflight;
        net::ByteWriter w;
        w.u8(item.store);
        w.bytes(item.name);
        w.u64(offset);
        w.u32(len);
        link_->request(
            in.source, quint16(RpcMethod::FetchBlob), w.take(), kFetchTimeoutMs,
            [this, gen = in.generation, attempt = in.attempt, offset, len](const net::RpcResult& r) {
                if (!install_ || install_->generation != gen || install_->attempt != attempt) return;
                Install& cur = *install_;
                --cur.inflight;
                if (!r.ok())
                    return fetchFailed(QStringLiteral("rpc %1").arg(QString(net::rpcErrorName(r.error))));
                if (r.response.status != quint16(net::RpcStatus::Ok) &&
                    r.response.payload == QByteArrayLiteral("not found")) {
                    // The leader no longer has it: its newer snapshot will be sent instead.
                    qWarning().noquote() << "the leader no longer has an item of the snapshot at index"
                                         << cur.meta.index << "; waiting for a newer snapshot";
                    install_.reset();
                    return;
                }
                if (r.response.status != quint16(net::RpcStatus::Ok))
                    return fetchFailed(QStringLiteral("the leader answered: %1")
                                           .arg(QString::fromUtf8(r.response.payload.left(200))));
                net::ByteReader rd(r.response.payload);
                // u64 size, u32 length, the data: kept in the answer's buffer (kHeader bytes in), not copied.
                const std::uint64_t total = rd.u64();
                const std::uint32_t n = rd.u32();
                if (!rd.ok() || r.response.payload.size() != kHeader + qsizetype(n) ||
                    (cur.total && *cur.total != total) || offset > total ||
                    std::uint64_t(n) != std::min<std::uint64_t>(len, total - offset))
                    return fetchFailed(QStringLiteral("malformed answer for offset %1").arg(offset));
                QByteArray data = r.response.payload;
                if (!cur.total) {
                    cur.total = total;
                    cur.requested = std::min(cur.requested, total);
                }
                cur.failures = 0;
                cur.early.emplace(offset, std::move(data));
                // Hand what is contiguous to the writer (answers come back in any order).
                for (auto it = cur.early.find(cur.written); it != cur.early.end();
                     it = cur.early.find(cur.written)) {
                    cur.written += std::uint64_t(it->second.size() - kHeader);
                    cur.bytes += std::uint64_t(it->second.size() - kHeader);
                    cur.toWrite.push_back(std::move(it->second));
                    cur.early.erase(it);
                }
                writeInstallBytes();
                if (cur.written < *cur.total) pumpInstall();
            });
    }
}

void Node::writeInstallBytes() {
    Install& in = *install_;
    if (in.writing) return;
    if (in.toWrite.empty()) {
        if (in.total && in.written == *in.total) completeInstallItem();
        return;
    }
    // One write task at a time, in order, off the loop (writing and hashing while the next bytes arrive).
    in.writing = true;
    std::vector<QByteArray> batch(std::make_move_iterator(in.toWrite.begin()),
                                  std::make_move_iterator(in.toWrite.end()));
    in.toWrite.clear();
    runOffLoop(
        *env_, QPointer<Node>(this),
        [held = std::make_shared<Held>(Held{in.store, in.writer}), hash = in.hash,
         blob = in.items.front().store == 0, batch = std::move(batch)]() -> QString {
            for (const QByteArray& answer : batch) {
                const QByteArrayView bytes = QByteArrayView(answer).sliced(kHeader);
                if (storage::Status s = held->writer->append(bytes.data(), std::size_t(bytes.size()));
                    !s.ok())
                    return QString::fromStdString(s.message());
                if (blob) hash->add(bytes);
            }
            return {};
        },
        [this, gen = in.generation](const QString& error) {
            if (!install_ || install_->generation != gen) return;
            install_->writing = false;
            if (!error.isEmpty()) {
                qWarning().noquote() << "cannot receive the snapshot:" << error;
                install_.reset();
                return;
            }
            writeInstallBytes();
        },
        true);
}

void Node::completeInstallItem() {
    Install& in = *install_;
    // The whole item: check it, then make it durable off the loop.
    const Install::Item done = in.items.front();
    if (done.store == 0 && in.hash->result() != QByteArray::fromStdString(done.name)) {
        qWarning().noquote() << "the blob" << QString::fromStdString(storage::BlobStore::hex(done.name))
                             << "received does not match its SHA-256; fetching it again";
        if (++in.failures > kMaxFailures) {
            install_.reset();
            return;
        }
        return nextInstallItem();
    }
    // Committed off the loop while the next item is fetched.
    in.items.pop_front();
    ++in.commits;
    runOffLoop(
        *env_, QPointer<Node>(this),
        [held = std::make_shared<Held>(Held{in.store, in.writer}), tables = tables_,
         fin = done]() -> QString {
            if (storage::Status s = held->writer->commit(); !s.ok())
                return QString::fromStdString(s.message());
            if (fin.store == 1) {
                QString why;
                if (!TableFile::open(tables->path(fin.name), &why)) {
                    (void)tables->remove(fin.name);
                    return QStringLiteral("the table received is damaged: %1").arg(why);
                }
            }
            return {};
        },
        [this, gen = in.generation, fin = done](const QString& error) {
            if (!install_ || install_->generation != gen) return;
            Install& now = *install_;
            --now.commits;
            if (!error.isEmpty()) {
                qWarning().noquote() << "snapshot item"
                                     << QString::fromStdString(storage::BlobStore::hex(fin.name)) << ":"
                                     << error;
                if (++now.failures > kMaxFailures) {
                    install_.reset();
                    return;
                }
                now.items.push_back(fin);  // fetched again
            } else {
                (fin.store == 0 ? now.blobsFetched : now.tablesFetched) += 1;
            }
            if (!now.writer) nextInstallItem();  // idle: waiting for this commit, or an item came back
        });
    in.writer.reset();
    in.store.reset();
    nextInstallItem();
}

void Node::fetchFailed(const QString& why) {
    Install& in = *install_;
    if (++in.failures > kMaxFailures) {
        qWarning().noquote() << "gives up receiving the snapshot at index" << in.meta.index << "after"
                             << kMaxFailures << "failed requests (last:" << why
                             << "); the leader will send it again";
        install_.reset();
        return;
    }
    // Resume from the last byte written, from the leader as it is now (it may have changed).
    ++in.attempt;
    ++in.resumed;
    in.inflight = 0;
    in.early.clear();
    in.requested = in.written;
    const raft::NodeId leader = raft_->status().leader;
    if (leader != raft::kNoNode && leader != id_) in.source = leader;
    qInfo().noquote() << "snapshot transfer interrupted (" << why << "); resuming at byte" << in.written
                      << "from" << nodeIdString(in.source);
    const int delay = 200 * std::min(in.failures, 10);
    env_->after(delay, [self = QPointer<Node>(this), gen = in.generation, attempt = in.attempt] {
        if (self && self->install_ && self->install_->generation == gen && self->install_->attempt == attempt)
            self->pumpInstall();
    });
}

void Node::serveFetch(const net::InboundRequest& req) {
    net::ByteReader r(req.envelope.payload);
    const std::uint8_t which = r.u8();
    const std::string name = r.stdBytes(64);
    const std::uint64_t offset = r.u64();
    const std::uint32_t most = std::min<std::uint32_t>(r.u32(), 4u << 20);
    if (!r.ok() || !r.atEnd() || which > 1 || name.size() != 32)
        return link_->reply(req, quint16(net::RpcStatus::BadRequest), {});
    const std::shared_ptr<storage::BlobStore> store = which == 0 ? blobs_ : tables_;
    if (!store || !store->has(name)) {
        // Deleted since the snapshot that refers to it was taken: the member needs a newer one.
        compactRequested_ = true;
        return link_->reply(req, quint16(NodeRpcStatus::Failed), QByteArrayLiteral("not found"));
    }
    struct Answer {
        bool ok = false;
        QByteArray payload;
    };
    runOffLoop(
        *env_, QPointer<Node>(this),
        [path = store->path(name), offset, most]() {
            Answer a;
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                a.payload = QByteArrayLiteral("not found");
                return a;
            }
            struct stat st {};
            if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_size) < offset) {
                ::close(fd);
                a.payload = QByteArrayLiteral("offset past the end");
                return a;
            }
            const std::uint64_t total = std::uint64_t(st.st_size);
            const qsizetype n = qsizetype(std::min<std::uint64_t>(most, total - offset));
            // The answer's encoding (u64 size, then bytes: u32 length and the data) written around the data,
            // which is read straight into place.
            a.payload.reserve(kHeader + n);
            net::ByteWriter w(a.payload);
            w.u64(total);
            w.u32(std::uint32_t(n));
            a.payload.resize(kHeader + n);
            qsizetype got = 0;
            while (got < n) {
                const ssize_t k =
                    ::pread(fd, a.payload.data() + kHeader + got, std::size_t(n - got), off_t(offset) + got);
                if (k <= 0) break;
                got += k;
            }
            ::close(fd);
            if (got != n) {
                a.payload = QByteArrayLiteral("read error");
                return a;
            }
            a.ok = true;
            return a;
        },
        [this, req](const Answer& a) {
            link_->reply(req, a.ok ? quint16(net::RpcStatus::Ok) : quint16(NodeRpcStatus::Failed), a.payload);
        });
}

}  // namespace raftwc::node
