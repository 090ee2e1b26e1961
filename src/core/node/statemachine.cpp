#include "node/statemachine.h"

#include <QDateTime>

#include <QJsonDocument>
#include <algorithm>

namespace raftwc::node {

Applied StateMachine::apply(const raft::Entry& e) {
    Applied out;
    if (e.index != applied_ + 1 && applied_ != 0)
        notes_ << QStringLiteral("apply: entry %1 after %2 (gap)").arg(e.index).arg(applied_);
    applied_ = e.index;
    if (e.type == raft::EntryType::ConfChange) {
        if (auto cc = raft::decodeConfChange(e.data)) {
            if (cc->type == raft::ConfChangeType::RemoveNode) {
                addresses_.erase(cc->node);
            } else if (!cc->context.empty()) {
                if (auto a = decodeMemberAddress(QByteArray::fromStdString(cc->context))) {
                    addresses_[cc->node] = *a;
                    out.address = std::make_pair(cc->node, *a);
                }
            }
            out.confChange = std::move(cc);
        }
        return out;
    }
    if (e.type != raft::EntryType::Normal || e.data.empty()) return out;
    const QByteArray payload = QByteArray::fromRawData(e.data.data(), qsizetype(e.data.size()));
    // File chunks are most of the log: read only their header (the bytes stay in the log on disk).
    if (e.data.size() >= kChunkHeaderBytes &&
        std::uint8_t(e.data[1]) == std::uint8_t(CommandKind::FileChunk)) {
        const auto h = decodeChunkHeader(payload);
        if (h && kChunkHeaderBytes + h->length == e.data.size()) {
            // A chunk re-proposed after its file was completed (an unknown outcome retried) is a copy.
            if (!files_.count(h->fileId) && !abandoned_.count(h->fileId))
                pendingChunks_[h->fileId].push_back({e.index, h->fileOffset, h->length});
            return out;
        }
    }
    QString why;
    const auto cmd = decodeCommand(payload, &why);
    if (!cmd) {
        notes_ << QStringLiteral("entry %1 skipped: %2").arg(e.index).arg(why);
        return out;
    }
    if (const auto* chunk = std::get_if<FileChunk>(&*cmd)) {
        const QByteArray id(chunk->fileId.constData(), chunk->fileId.size());
        if (!files_.count(id) && !abandoned_.count(id))
            pendingChunks_[id].push_back({e.index, chunk->fileOffset, std::uint32_t(chunk->bytes.size())});
    } else if (const auto* m = std::get_if<FileManifest>(&*cmd)) {
        auto it = pendingChunks_.find(m->fileId);
        if (const auto stored = files_.find(m->fileId); stored != files_.end()) {
            // A manifest proposed again because the first one's outcome was unknown (a leader change):
            // the file is already complete. Same file: nothing to do. Anything else: keep the first.
            if (it != pendingChunks_.end()) pendingChunks_.erase(it);
            if (stored->second.size != m->size || stored->second.sha256 != m->sha256)
                notes_ << QStringLiteral(
                              "manifest at %1 for %2 conflicts with the file stored at %3; ignored")
                              .arg(e.index)
                              .arg(QString::fromLatin1(m->fileId.toHex()))
                              .arg(stored->second.manifestIndex);
            return out;
        }
        std::vector<ChunkRef> chunks;
        if (it != pendingChunks_.end()) {
            chunks = std::move(it->second);
            pendingChunks_.erase(it);
        }
        // Keep one chunk per offset (a chunk re-proposed after a leader change may appear twice), then
        // check that they cover [0, size) exactly.
        std::stable_sort(chunks.begin(), chunks.end(),
                         [](const ChunkRef& a, const ChunkRef& b) { return a.fileOffset < b.fileOffset; });
        std::vector<ChunkRef> unique;
        std::uint64_t covered = 0;
        bool ok = true;
        for (const ChunkRef& c : chunks) {
            if (c.fileOffset < covered) continue;  // duplicate
            if (c.fileOffset != covered) {
                ok = false;
                break;
            }
            unique.push_back(c);
            covered += c.length;
        }
        if (!ok || covered != m->size) {
            notes_ << QStringLiteral("manifest at %1 for %2: chunks cover %3 of %4 bytes; file rejected")
                          .arg(e.index)
                          .arg(QString::fromLatin1(m->fileId.toHex()))
                          .arg(covered)
                          .arg(m->size);
            return out;
        }
        StoredFile f{m->fileId,      m->name, m->size, m->sha256,        m->jobId,
                     m->coordinator, e.index, e.term,  std::move(unique)};
        fileByJob_[m->jobId] = m->fileId;
        files_[m->fileId] = std::move(f);
        out.fileStored = true;
        out.storedFileId = m->fileId;
    } else if (const auto* f = std::get_if<FileAbandoned>(&*cmd)) {
        const QByteArray id(f->fileId.constData(), f->fileId.size());
        if (!files_.count(id)) {  // a stored file is not the abandoned upload's to drop
            pendingChunks_.erase(id);
            markAbandoned(id);
        }
    } else if (const auto* jd = std::get_if<JobDeleted>(&*cmd)) {
        // The job's result and table, and the file uploaded for it. Unknown (never finished, or deleted
        // before): nothing to do — every node sees the same.
        const bool known = jobs_.erase(jd->jobId) > 0;
        out.deletedJobId = jd->jobId;
        pendingPieces_.erase(jd->jobId);
        if (known) std::erase(jobOrder_, jd->jobId);
        if (const auto byJob = fileByJob_.find(jd->jobId); byJob != fileByJob_.end()) {
            const QByteArray fileId = byJob->second;  // a copy: dropFile erases the map entry
            dropFile(fileId, &out);
        }
        out.deleted = known || out.deleted;
    } else if (const auto* fd = std::get_if<FileDeleted>(&*cmd)) {
        std::vector<QByteArray> ids;
        for (const auto& [id, stored] : files_)
            if (stored.sha256 == fd->sha256) ids.push_back(id);
        for (const QByteArray& id : ids)
            dropFile(id, &out);
    } else if (const auto* a = std::get_if<MemberAddressUpdate>(&*cmd)) {
        addresses_[a->node] = a->address;
        out.address = std::make_pair(a->node, a->address);
    } else if (const auto* r = std::get_if<JobResult>(&*cmd)) {
        QJsonParseError err{};
        const QJsonDocument doc = QJsonDocument::fromJson(r->json, &err);
        if (!doc.isObject()) {
            notes_ << QStringLiteral("job result at %1: bad JSON (%2)").arg(e.index).arg(err.errorString());
            return out;
        }
        if (jobs_.find(r->jobId) == jobs_.end()) jobOrder_.push_back(r->jobId);
        StoredJob job{r->jobId, doc.object(), e.index, {}, true, createdAtMsOf(doc.object())};
        // The pieces the result counts were committed before it (a retried job's newer pieces replace
        // the older ones piece by piece).
        const qint64 pieces = doc.object().value(QStringLiteral("tablePieces")).toInteger(1);
        auto pending = pendingPieces_.find(r->jobId);
        for (qint64 k = 1; k < pieces; ++k) {
            if (pending == pendingPieces_.end() || !pending->second.count(std::uint32_t(k))) {
                job.tableComplete = false;
                job.pieces.clear();
                notes_ << QStringLiteral("job result at %1: table piece %2 of %3 missing; table shown partly")
                              .arg(e.index)
                              .arg(k)
                              .arg(pieces);
                break;
            }
            job.pieces.push_back(pending->second.at(std::uint32_t(k)));
        }
        if (pending != pendingPieces_.end()) pendingPieces_.erase(pending);
        jobs_[r->jobId] = std::move(job);
        out.jobResult = true;
        out.resultJobId = r->jobId;
    } else if (const auto* t = std::get_if<JobTablePiece>(&*cmd)) {
        pendingPieces_[t->jobId][t->piece] = TablePieceRef{e.index, t->entries};
    }
    return out;
}

const StoredFile* StateMachine::file(const QByteArray& fileId) const {
    auto it = files_.find(fileId);
    return it == files_.end() ? nullptr : &it->second;
}

const StoredFile* StateMachine::fileForJob(const QByteArray& jobId) const {
    auto it = fileByJob_.find(jobId);
    return it == fileByJob_.end() ? nullptr : file(it->second);
}

const StoredJob* StateMachine::job(const QByteArray& jobId) const {
    auto it = jobs_.find(jobId);
    return it == jobs_.end() ? nullptr : &it->second;
}

std::vector<const StoredJob*> StateMachine::jobs() const {
    std::vector<const StoredJob*> out;
    for (auto it = jobOrder_.rbegin(); it != jobOrder_.rend(); ++it)
        out.push_back(&jobs_.at(*it));
    return out;
}

void StateMachine::markAbandoned(const QByteArray& fileId) {
    abandoned_.insert(fileId);
    // Bounded (it would otherwise grow with every deleted file, in memory and in every snapshot): the
    // smallest id goes, the same on every node. A chunk of such an old upload committing this late would
    // start a new upload that the leader releases when it stalls.
    while (abandoned_.size() > kMaxAbandoned)
        abandoned_.erase(abandoned_.begin());
}

qint64 createdAtMsOf(const QJsonObject& result) {
    const QDateTime t =
        QDateTime::fromString(result.value(QStringLiteral("createdAt")).toString(), Qt::ISODateWithMs);
    return t.isValid() ? t.toMSecsSinceEpoch() : -1;
}

std::vector<const StoredFile*> StateMachine::files() const {
    std::vector<const StoredFile*> out;
    out.reserve(files_.size());
    for (const auto& [id, f] : files_)
        out.push_back(&f);
    return out;
}

std::vector<StateMachine::Partial> StateMachine::partialWork() const {
    std::vector<Partial> out;
    for (const auto& [id, chunks] : pendingChunks_)
        out.push_back({id, true, chunks.size()});
    for (const auto& [id, pieces] : pendingPieces_)
        out.push_back({id, false, pieces.size()});
    return out;
}

QStringList StateMachine::takeNotes() {
    return std::exchange(notes_, {});
}

void StateMachine::dropFile(const QByteArray& fileIdRef, Applied* out) {
    const QByteArray fileId = fileIdRef;  // the caller's may live in a map entry erased below
    const auto it = files_.find(fileId);
    if (it == files_.end()) return;
    const QByteArray sha = it->second.sha256;
    if (const auto j = fileByJob_.find(it->second.jobId); j != fileByJob_.end() && j->second == fileId)
        fileByJob_.erase(j);
    files_.erase(it);
    markAbandoned(fileId);  // a chunk of it proposed again late is not a new upload
    out->deleted = true;
    if (!hasContent(sha)) out->unreferencedSha256.push_back(sha);
}

bool StateMachine::hasContent(const QByteArray& sha256) const {
    return std::any_of(files_.begin(), files_.end(),
                       [&](const auto& kv) { return kv.second.sha256 == sha256; });
}

std::vector<ChunkRef> StateMachine::chunksOf(const QByteArray& fileId) const {
    if (const auto f = files_.find(fileId); f != files_.end()) return f->second.chunks;
    const auto p = pendingChunks_.find(fileId);
    if (p == pendingChunks_.end()) return {};
    std::vector<ChunkRef> chunks = p->second;
    std::stable_sort(chunks.begin(), chunks.end(),
                     [](const ChunkRef& a, const ChunkRef& b) { return a.fileOffset < b.fileOffset; });
    // A chunk proposed again after an unknown outcome appears twice, with the same bytes.
    chunks.erase(
        std::unique(chunks.begin(), chunks.end(),
                    [](const ChunkRef& a, const ChunkRef& b) { return a.fileOffset == b.fileOffset; }),
        chunks.end());
    return chunks;
}

}  // namespace raftwc::node
