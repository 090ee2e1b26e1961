#include "node/commands.h"

#include "net/bytes.h"

namespace raftwc::node {

using net::ByteReader;
using net::ByteWriter;

QByteArray encodeCommand(const Command& c) {
    ByteWriter w;
    w.u8(kCommandVersion);
    if (const auto* chunk = std::get_if<FileChunk>(&c)) {
        w.u8(std::uint8_t(CommandKind::FileChunk));
        w.raw(chunk->fileId.leftJustified(kFileIdBytes, '\0', true));
        w.u64(chunk->fileOffset);
        w.bytes(chunk->bytes);
    } else if (const auto* m = std::get_if<FileManifest>(&c)) {
        w.u8(std::uint8_t(CommandKind::FileManifest));
        w.raw(m->fileId.leftJustified(kFileIdBytes, '\0', true));
        w.string(m->name);
        w.u64(m->size);
        w.bytes(m->sha256);
        w.bytes(m->jobId);
        w.bytes(m->coordinator);
    } else if (const auto* a = std::get_if<MemberAddressUpdate>(&c)) {
        w.u8(std::uint8_t(CommandKind::MemberAddress));
        w.u64(a->node);
        w.string(a->address.rpc);
        w.string(a->address.http);
    } else if (const auto* f = std::get_if<FileAbandoned>(&c)) {
        w.u8(std::uint8_t(CommandKind::FileAbandoned));
        w.raw(f->fileId.leftJustified(kFileIdBytes, '\0', true));
    } else if (const auto* r = std::get_if<JobResult>(&c)) {
        w.u8(std::uint8_t(CommandKind::JobResult));
        w.bytes(r->jobId);
        w.bytes(r->json);
        w.bytes(r->freqTable);
    } else if (const auto* t = std::get_if<JobTablePiece>(&c)) {
        w.u8(std::uint8_t(CommandKind::JobTablePiece));
        w.bytes(t->jobId);
        w.u32(t->piece);
        w.u64(t->entries);
        w.bytes(t->table);
    } else if (const auto* jd = std::get_if<JobDeleted>(&c)) {
        w.u8(std::uint8_t(CommandKind::JobDeleted));
        w.bytes(jd->jobId);
    } else if (const auto* fd = std::get_if<FileDeleted>(&c)) {
        w.u8(std::uint8_t(CommandKind::FileDeleted));
        w.bytes(fd->sha256);
    }
    return w.take();
}

std::optional<Command> decodeCommand(const QByteArray& payload, QString* why) {
    auto fail = [why](const char* reason) -> std::optional<Command> {
        if (why) *why = QString::fromLatin1(reason);
        return std::nullopt;
    };
    ByteReader r(payload);
    if (r.u8() != kCommandVersion) return fail("unknown command version");
    const auto kind = CommandKind(r.u8());
    switch (kind) {
        case CommandKind::FileChunk: {
            FileChunk c;
            c.fileId = r.raw(kFileIdBytes).toByteArray();
            c.fileOffset = r.u64();
            c.bytes = r.bytes();
            if (!r.atEnd()) return fail("malformed file chunk");
            return c;
        }
        case CommandKind::FileManifest: {
            FileManifest m;
            m.fileId = r.raw(kFileIdBytes).toByteArray();
            m.name = r.string(4096);
            m.size = r.u64();
            m.sha256 = r.bytes(64);
            m.jobId = r.bytes(128);
            m.coordinator = r.bytes(64);
            if (!r.atEnd()) return fail("malformed file manifest");
            return m;
        }
        case CommandKind::JobResult: {
            JobResult j;
            j.jobId = r.bytes(128);
            j.json = r.bytes();
            j.freqTable = r.bytes();
            if (!r.atEnd()) return fail("malformed job result");
            return j;
        }
        case CommandKind::JobTablePiece: {
            JobTablePiece t;
            t.jobId = r.bytes(128);
            t.piece = r.u32();
            t.entries = r.u64();
            t.table = r.bytes();
            if (!r.atEnd() || t.piece == 0) return fail("malformed job table piece");
            return t;
        }
        case CommandKind::JobDeleted: {
            JobDeleted d;
            d.jobId = r.bytes(128);
            if (!r.atEnd() || d.jobId.isEmpty()) return fail("malformed job deletion");
            return d;
        }
        case CommandKind::FileDeleted: {
            FileDeleted d;
            d.sha256 = r.bytes(32);
            if (!r.atEnd() || d.sha256.size() != 32) return fail("malformed file deletion");
            return d;
        }
        case CommandKind::FileAbandoned: {
            FileAbandoned f;
            f.fileId = r.raw(kFileIdBytes).toByteArray();
            if (!r.atEnd()) return fail("malformed file abandonment");
            return f;
        }
        case CommandKind::MemberAddress: {
            MemberAddressUpdate a;
            a.node = r.u64();
            a.address.rpc = r.string(300);
            a.address.http = r.string(300);
            if (!r.atEnd() || a.node == 0) return fail("malformed member address");
            return a;
        }
    }
    return fail("unknown command kind");
}

std::optional<ChunkHeader> decodeChunkHeader(const QByteArray& prefix) {
    ByteReader r(prefix);
    if (r.u8() != kCommandVersion || CommandKind(r.u8()) != CommandKind::FileChunk) return std::nullopt;
    ChunkHeader h;
    h.fileId = r.raw(kFileIdBytes).toByteArray();
    h.fileOffset = r.u64();
    h.length = r.u32();
    if (!r.ok()) return std::nullopt;
    return h;
}

QByteArray encodeMemberAddress(const MemberAddress& a) {
    ByteWriter w;
    w.u8(kCommandVersion);
    w.string(a.rpc);
    w.string(a.http);
    return w.take();
}

std::optional<MemberAddress> decodeMemberAddress(const QByteArray& bytes) {
    ByteReader r(bytes);
    if (r.u8() != kCommandVersion) return std::nullopt;
    MemberAddress a;
    a.rpc = r.string(300);
    a.http = r.string(300);
    if (!r.atEnd()) return std::nullopt;
    return a;
}

}  // namespace raftwc::node
