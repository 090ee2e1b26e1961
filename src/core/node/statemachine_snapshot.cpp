// StateMachine::snapshot / restore: the replicated state as one value, for Raft snapshots (log compaction
// and catching members up). Version 1, little-endian through net::ByteWriter:
//   u8 1, u64 applied,
//   files:          u32 n, { bytes id, string name, u64 size, bytes sha256, bytes jobId, bytes coordinator,
//                            u64 manifestIndex, u64 manifestTerm, u32 k, { u64 index, u64 offset, u32 length
//                            } }
//   pending chunks: u32 n, { bytes fileId, u32 k, { u64 index, u64 offset, u32 length } }
//   abandoned:      u32 n, { bytes fileId }
//   file by job:    u32 n, { bytes jobId, bytes fileId }
//   jobs:           u32 n, in listing order (oldest first), { bytes jobId, bytes result JSON, u64 index,
//                            bool tableComplete, u32 k, { u64 index, u64 entries } }
//   pending pieces: u32 n, { bytes jobId, u32 k, { u32 piece, u64 index, u64 entries } }
//   addresses:      u32 n, { u64 node, string rpc, string http }
// Maps are written in key order, so equal states give equal bytes.
#include <QJsonDocument>

#include "net/bytes.h"
#include "node/statemachine.h"

namespace raftwc::node {

namespace {

constexpr std::uint8_t kSnapshotVersion = 1;
constexpr std::uint32_t kMaxItems = 1u << 28;
constexpr std::uint32_t kMaxBlob = 64u << 20;

void putChunks(net::ByteWriter& w, const std::vector<ChunkRef>& chunks) {
    w.u32(std::uint32_t(chunks.size()));
    for (const ChunkRef& c : chunks) {
        w.u64(c.index);
        w.u64(c.fileOffset);
        w.u32(c.length);
    }
}

bool getChunks(net::ByteReader& r, std::vector<ChunkRef>* out) {
    const std::uint32_t n = r.u32();
    if (!r.ok() || n > kMaxItems) return false;
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        ChunkRef c;
        c.index = r.u64();
        c.fileOffset = r.u64();
        c.length = r.u32();
        out->push_back(c);
    }
    return r.ok();
}

}  // namespace

QByteArray StateMachine::snapshot() const {
    QByteArray out;
    net::ByteWriter w(out);
    w.u8(kSnapshotVersion);
    w.u64(applied_);
    w.u32(std::uint32_t(files_.size()));
    for (const auto& [id, f] : files_) {
        w.bytes(id);
        w.string(f.name);
        w.u64(f.size);
        w.bytes(f.sha256);
        w.bytes(f.jobId);
        w.bytes(f.coordinator);
        w.u64(f.manifestIndex);
        w.u64(f.manifestTerm);
        putChunks(w, f.chunks);
    }
    w.u32(std::uint32_t(pendingChunks_.size()));
    for (const auto& [id, chunks] : pendingChunks_) {
        w.bytes(id);
        putChunks(w, chunks);
    }
    w.u32(std::uint32_t(abandoned_.size()));
    for (const QByteArray& id : abandoned_)
        w.bytes(id);
    w.u32(std::uint32_t(fileByJob_.size()));
    for (const auto& [job, file] : fileByJob_) {
        w.bytes(job);
        w.bytes(file);
    }
    w.u32(std::uint32_t(jobOrder_.size()));
    for (const QByteArray& id : jobOrder_) {
        const StoredJob& j = jobs_.at(id);
        w.bytes(id);
        w.bytes(QJsonDocument(j.result).toJson(QJsonDocument::Compact));
        w.u64(j.index);
        w.boolean(j.tableComplete);
        w.u32(std::uint32_t(j.pieces.size()));
        for (const TablePieceRef& p : j.pieces) {
            w.u64(p.index);
            w.u64(p.entries);
        }
    }
    w.u32(std::uint32_t(pendingPieces_.size()));
    for (const auto& [job, pieces] : pendingPieces_) {
        w.bytes(job);
        w.u32(std::uint32_t(pieces.size()));
        for (const auto& [no, p] : pieces) {
            w.u32(no);
            w.u64(p.index);
            w.u64(p.entries);
        }
    }
    w.u32(std::uint32_t(addresses_.size()));
    for (const auto& [node, a] : addresses_) {
        w.u64(node);
        w.string(a.rpc);
        w.string(a.http);
    }
    return out;
}

std::optional<StateMachine> StateMachine::restore(const QByteArray& bytes, QString* why) {
    auto bad = [why](const char* reason) -> std::optional<StateMachine> {
        if (why) *why = QString::fromLatin1(reason);
        return std::nullopt;
    };
    net::ByteReader r(bytes);
    if (r.u8() != kSnapshotVersion) return bad("unknown state snapshot version");
    StateMachine sm;
    sm.applied_ = r.u64();
    std::uint32_t n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad file count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        StoredFile f;
        f.id = r.bytes(64);
        f.name = r.string();
        f.size = r.u64();
        f.sha256 = r.bytes(64);
        f.jobId = r.bytes(128);
        f.coordinator = r.bytes(64);
        f.manifestIndex = r.u64();
        f.manifestTerm = r.u64();
        if (!getChunks(r, &f.chunks)) return bad("bad chunk list");
        if (!sm.files_.emplace(f.id, std::move(f)).second) return bad("a file twice");
    }
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad pending file count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const QByteArray id = r.bytes(64);
        if (!getChunks(r, &sm.pendingChunks_[id])) return bad("bad pending chunk list");
    }
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad abandoned count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i)
        sm.abandoned_.insert(r.bytes(64));
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad job-file count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const QByteArray job = r.bytes(128);
        sm.fileByJob_[job] = r.bytes(64);
    }
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad job count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        StoredJob j;
        j.jobId = r.bytes(128);
        QJsonParseError err{};
        const QJsonDocument doc = QJsonDocument::fromJson(r.bytes(kMaxBlob), &err);
        if (r.ok() && !doc.isObject()) return bad("a job result is not a JSON object");
        j.result = doc.object();
        j.createdAtMs = createdAtMsOf(j.result);
        j.index = r.u64();
        j.tableComplete = r.boolean();
        const std::uint32_t k = r.u32();
        if (!r.ok() || k > kMaxItems) return bad("bad table piece count");
        for (std::uint32_t p = 0; p < k && r.ok(); ++p) {
            TablePieceRef ref;
            ref.index = r.u64();
            ref.entries = r.u64();
            j.pieces.push_back(ref);
        }
        sm.jobOrder_.push_back(j.jobId);
        if (!sm.jobs_.emplace(j.jobId, std::move(j)).second) return bad("a job twice");
    }
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad pending table count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        auto& pieces = sm.pendingPieces_[r.bytes(128)];
        const std::uint32_t k = r.u32();
        if (!r.ok() || k > kMaxItems) return bad("bad pending piece count");
        for (std::uint32_t p = 0; p < k && r.ok(); ++p) {
            const std::uint32_t no = r.u32();
            TablePieceRef ref;
            ref.index = r.u64();
            ref.entries = r.u64();
            pieces[no] = ref;
        }
    }
    n = r.u32();
    if (!r.ok() || n > kMaxItems) return bad("bad address count");
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const raft::NodeId node = r.u64();
        MemberAddress a;
        a.rpc = r.string(300);
        a.http = r.string(300);
        sm.addresses_[node] = a;
    }
    if (!r.atEnd()) return bad(r.ok() ? "trailing bytes" : "truncated");
    return sm;
}

}  // namespace raftwc::node
