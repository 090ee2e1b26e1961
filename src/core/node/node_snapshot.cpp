// Snapshots and log compaction on a node (docs/STORAGE.md, "Compaction"). The state machine is snapshotted
// at its applied index — at a moment when no upload and no table is half committed, so everything the
// snapshot refers to lives outside the log: files in DIR/blobs, tables in DIR/tables — and, once those are
// written, the log prefix the snapshot covers is compacted (RaftLogStore::compact). A restart loads the
// snapshot and replays only the tail; a member too far behind receives it (node_install.cpp).
#include <QPointer>
#include <algorithm>

#include "node/install_p.h"
#include "node/node.h"
#include "node/off_loop.h"
#include "node/table_file.h"
#include "storage/raft_log_store.h"

namespace raftwc::node {

namespace {
/// A half-committed upload or table with no progress for this long is released (FileAbandoned/JobDeleted).
constexpr qint64 kStalePartialMs = 10 * 60 * 1000;
/// How many times a snapshot waits for its blobs and tables (one check per Ready or sweep) before it is
/// dropped with a warning (a blob that cannot be written: the disk is full, or the log is damaged).
constexpr int kCandidateChecks = 2000;
}  // namespace

raft::ConfState Node::confAt(raft::Index i) const {
    raft::ConfState cs = store_->baseConfState();
    for (const raft::Entry& e : store_->confEntries()) {
        if (e.index > i) break;
        if (auto cc = raft::decodeConfChange(e.data)) raft::applyConfChange(cs, *cc);
    }
    return cs;
}

void Node::compactNow(int timeoutMs, std::function<void(QString, raft::Index)> done) {
    if (!raft_ || failed_ || !store_) return done(QStringLiteral("the node is not running"), 0);
    compactRequested_ = true;
    compactWaiters_.emplace_back(nowMs() + timeoutMs, std::move(done));
    maybeSnapshot();
}

void Node::finishCompactWaiters(const QString& error, raft::Index at) {
    auto waiters = std::exchange(compactWaiters_, {});
    for (auto& [deadline, cb] : waiters)
        cb(error, at);
}

void Node::maybeSnapshot() {
    if (!raft_ || failed_ || !store_ || restoreAfterWrite_ || install_) return;
    const qint64 now = nowMs();
    // Callers of compactNow whose time ran out.
    for (auto it = compactWaiters_.begin(); it != compactWaiters_.end();) {
        if (it->first > now) {
            ++it;
            continue;
        }
        auto cb = std::move(it->second);
        it = compactWaiters_.erase(it);
        cb(QStringLiteral("no moment without a half-committed upload came; retry"), 0);
    }
    const raft::Index current = store_->snapshotIndex();
    if (!snapshotCandidate_) {
        const bool due =
            compactRequested_ ||
            (opt_.snapshotBytes > 0 && appliedBytesSinceSnapshot_ >= std::uint64_t(opt_.snapshotBytes));
        if (!due) return;
        const raft::Index at = sm_.applied();
        if (at <= current) {  // nothing applied since the last one
            compactRequested_ = false;
            appliedBytesSinceSnapshot_ = 0;
            finishCompactWaiters({}, current);
            return;
        }
        // The chunks of an upload without its manifest, and table pieces without their result, are only in
        // the log: wait for a moment without them (the leader releases stalled ones).
        if (sm_.hasPartialWork()) return;
        raft::Snapshot s;
        s.meta.index = at;
        try {
            s.meta.term = store_->term(at);
        } catch (const std::exception& e) {
            qWarning().noquote() << "snapshot: cannot read the term of entry" << at << ":" << e.what();
            return;
        }
        s.meta.conf = confAt(at);
        s.data = sm_.snapshot().toStdString();
        snapshotCandidate_ = std::move(s);
        candidateRefs_ = stateRefs();
        candidateChecks_ = 0;
        appliedBytesSinceSnapshot_ = 0;
        compactRequested_ = false;
    }
    const raft::Snapshot& s = *snapshotCandidate_;
    if (s.meta.index <= current) {  // a snapshot from the leader replaced the log meanwhile
        snapshotCandidate_.reset();
        finishCompactWaiters({}, current);
        return;
    }
    // Everything the snapshot refers to must exist outside the log before the log goes.
    if (blobBusy_ || tableBusy_ || !blobQueue_.empty() || !tableQueue_.empty()) return;
    QStringList missing;
    for (const StoredFile* f : sm_.files())
        if (f->manifestIndex <= s.meta.index && f->sha256.size() == 32 &&
            !blobs_->has(f->sha256.toStdString()))
            missing << QStringLiteral("file %1").arg(QString::fromLatin1(f->id.toHex()));
    if (!missing.isEmpty()) {
        if (++candidateChecks_ == 1 || candidateChecks_ % 200 == 0) {
            // Written at apply; one that failed (disk full) is tried again from the log, which still has it.
            for (const StoredFile* f : sm_.files())
                if (f->manifestIndex <= s.meta.index && !blobs_->has(f->sha256.toStdString()))
                    queueBlob(f->id);
        }
        if (candidateChecks_ >= kCandidateChecks) {
            qWarning().noquote() << "snapshot at" << s.meta.index << "given up: no blob for"
                                 << missing.join(QStringLiteral(", ")) << "(the log keeps them)";
            snapshotCandidate_.reset();
            finishCompactWaiters(QStringLiteral("stored files could not be written as blobs"), current);
        }
        return;
    }
    const std::size_t segmentsBefore = store_->log().segmentCount();
    const raft::Index firstBefore = store_->firstIndex();
    if (storage::Status st = store_->compact(s); !st.ok()) {
        // The snapshot file is written before anything is deleted: a failure leaves the log whole.
        qWarning().noquote() << "snapshot at" << s.meta.index
                             << "not taken:" << QString::fromStdString(st.message());
        snapshotCandidate_.reset();
        finishCompactWaiters(QString::fromStdString(st.message()), current);
        return;
    }
    ++snapshotsTaken_;
    snapshotRefs_ = std::move(candidateRefs_);
    collectGarbage();  // what the previous snapshot alone kept
    qInfo().noquote()
        << QStringLiteral(
               "snapshot at index %1 (term %2, %3 bytes of state): log compacted from %4 to %5, "
               "%6 of %7 segments deleted")
               .arg(s.meta.index)
               .arg(s.meta.term)
               .arg(s.data.size())
               .arg(firstBefore)
               .arg(store_->firstIndex())
               .arg(segmentsBefore - store_->log().segmentCount())
               .arg(segmentsBefore);
    recordEvent(QStringLiteral("snapshot"), {{QStringLiteral("index"), qint64(s.meta.index)},
                                             {QStringLiteral("term"), qint64(s.meta.term)},
                                             {QStringLiteral("bytes"), qint64(s.data.size())}});
    const raft::Index at = s.meta.index;
    snapshotCandidate_.reset();
    finishCompactWaiters({}, at);
}

bool Node::restoreAtStart(raft::Config& rc, QString* error) {
    const std::optional<raft::Snapshot> snap = store_->snapshot();
    if (!snap) return true;
    QString why;
    std::optional<StateMachine> restored = StateMachine::restore(QByteArray::fromStdString(snap->data), &why);
    if (!restored) {
        if (error)
            *error = QStringLiteral("the snapshot in %1 cannot be loaded: %2 (docs/OPERATIONS.md, recovery)")
                         .arg(opt_.dataDir, why);
        return false;
    }
    sm_ = std::move(*restored);
    snapshotRefs_ = stateRefs();
    rc.applied = snap->meta.index;
    for (const auto& [id, addr] : sm_.memberAddresses())
        if (id != id_) setPeerAddress(id, addr.rpc, addr.http);
    qInfo().noquote() << QStringLiteral(
                             "loaded the snapshot at index %1 (%2 files, %3 jobs); replaying the log "
                             "after it")
                             .arg(snap->meta.index)
                             .arg(sm_.files().size())
                             .arg(sm_.jobs().size());
    for (const StoredFile* f : sm_.files())
        if (!blobs_->has(f->sha256.toStdString()))
            qWarning().noquote() << "the blob of stored file" << QString::fromLatin1(f->id.toHex())
                                 << "is missing; counting it will fail";
    collectGarbage();
    return true;
}

void Node::loadSnapshot(const raft::Snapshot& s) {
    std::optional<StateMachine> restored = StateMachine::restore(QByteArray::fromStdString(s.data));
    if (!restored) {  // checked before the message was stepped; the disk gave back something else
        fatal(QStringLiteral("the snapshot received at index %1 cannot be loaded").arg(s.meta.index));
        return;
    }
    sm_ = std::move(*restored);
    snapshotRefs_ = stateRefs();
    ++snapshotsInstalled_;
    appliedBytesSinceSnapshot_ = 0;
    snapshotCandidate_.reset();
    // Queued copies refer to the old state; anything the new one refers to came with the install.
    blobQueue_.clear();
    tableQueue_.clear();
    for (const auto& [id, addr] : sm_.memberAddresses())
        if (id != id_) setPeerAddress(id, addr.rpc, addr.http);
    proposals_.applied(s.meta.index, s.meta.term, s.meta.index);
    qInfo().noquote() << QStringLiteral(
                             "installed the leader's snapshot at index %1 (term %2): %3 files, %4 jobs")
                             .arg(s.meta.index)
                             .arg(s.meta.term)
                             .arg(sm_.files().size())
                             .arg(sm_.jobs().size());
    recordEvent(QStringLiteral("snapshot"), {{QStringLiteral("index"), qint64(s.meta.index)},
                                             {QStringLiteral("term"), qint64(s.meta.term)},
                                             {QStringLiteral("installed"), true}});
    collectGarbage();
}

bool Node::snapshotNeeded() const {
    if (!raft_ || !store_) return false;
    const raft::Status st = raft_->status();
    if (st.role != raft::Role::Leader) return false;  // a new leader's lagging member: see serveFetch
    const raft::Index at = store_->snapshotIndex();
    return std::any_of(st.progress.begin(), st.progress.end(), [&](const raft::ProgressStatus& p) {
        return p.id != id_ && (p.pendingSnapshot > 0 || p.match < at);
    });
}

std::set<std::string> Node::stateRefs() const {
    std::set<std::string> refs;
    for (const StoredFile* f : sm_.files())
        refs.insert(f->sha256.toStdString());
    for (const StoredJob* j : sm_.jobs())
        refs.insert(tableFileName(j->jobId));
    return refs;
}

void Node::collectGarbage() {
    if (!blobs_ || !tables_) return;
    // Names are SHA-256 digests (of contents, of job ids): one set serves both stores.
    std::set<std::string> keep = stateRefs();
    keep.insert(snapshotRefs_.begin(), snapshotRefs_.end());
    if (install_) keep.insert(install_->names.begin(), install_->names.end());
    const std::set<std::string>& keepBlobs = keep;
    const std::set<std::string>& keepTables = keep;
    for (const std::string& name : blobs_->list())
        if (!keepBlobs.count(name))
            removeOffLoop(blobs_, name,
                          QStringLiteral("blob %1 (no stored file has it)")
                              .arg(QString::fromStdString(storage::BlobStore::hex(name))));
    for (const std::string& name : tables_->list())
        if (!keepTables.count(name))
            removeOffLoop(tables_, name,
                          QStringLiteral("table %1 (no job has it)")
                              .arg(QString::fromStdString(storage::BlobStore::hex(name))));
}

void Node::releaseStalePartials() {
    if (!raft_ || failed_ || stopping_ || raft_->status().role != raft::Role::Leader) {
        partialSeen_.clear();
        return;
    }
    const qint64 now = nowMs();
    std::map<QByteArray, std::pair<std::size_t, qint64>> seen;
    for (const StateMachine::Partial& p : sm_.partialWork()) {
        const QByteArray key = (p.upload ? QByteArrayLiteral("f:") : QByteArrayLiteral("j:")) + p.id;
        auto it = partialSeen_.find(key);
        const qint64 since =
            it != partialSeen_.end() && it->second.first == p.parts ? it->second.second : now;
        seen[key] = {p.parts, since};
        // An upload still running on some member keeps adding chunks; a job still counting adds its result.
        if (now - since < kStalePartialMs || releasing_.count(key)) continue;
        if (!p.upload && coordinator_ && coordinator_->running() > 0) continue;
        releasing_.insert(key);
        qWarning().noquote() << (p.upload ? "releasing upload" : "releasing the table pieces of job")
                             << QString::fromLatin1(p.upload ? p.id.toHex() : p.id) << "- no progress for"
                             << (now - since) / 1000 << "s";
        const QByteArray cmd =
            p.upload ? encodeCommand(FileAbandoned{p.id}) : encodeCommand(JobDeleted{p.id});
        proposeCommand(cmd, [this, key](const ProposeOutcome&) { releasing_.erase(key); });
    }
    partialSeen_ = std::move(seen);
}

}  // namespace raftwc::node
