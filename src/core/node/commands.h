// Commands of the replicated state machine: the payloads of Normal log entries, and the member
// addresses carried in ConfChange contexts. Pure codecs over bytes; versioned; decode never throws.
#pragma once

#include <QByteArray>
#include <QString>
#include <cstdint>
#include <optional>
#include <variant>

namespace raftwc::node {

inline constexpr std::uint8_t kCommandVersion = 1;

enum class CommandKind : std::uint8_t {
    FileChunk = 1,      ///< A piece of an uploaded file.
    FileManifest = 2,   ///< The file is complete: name, size, sha256. Counting may start.
    JobResult = 3,      ///< A finished job's result (JSON) and its full frequency table.
    MemberAddress = 4,  ///< A member's current addresses (bootstrap node, or a node back on a new address).
    FileAbandoned = 5,  ///< An upload that will never complete: its chunks are released.
    JobTablePiece = 6,  ///< One more piece of a job's frequency table, committed before its JobResult.
    JobDeleted = 7,     ///< A finished job and the file uploaded for it are dropped (DELETE, retention).
    FileDeleted = 8,    ///< Every stored file with this content is dropped (DELETE /api/files/{sha256}).
};

/// A chunk's bytes sit at a fixed offset inside the entry payload, so a shard can pread just the range
/// it needs: payload = header (kChunkHeaderBytes) + bytes.
struct FileChunk {
    QByteArray fileId;  ///< 16 bytes.
    std::uint64_t fileOffset = 0;
    QByteArray bytes;
};
inline constexpr int kFileIdBytes = 16;
/// version u8, kind u8, fileId 16, fileOffset u64, length u32.
inline constexpr std::uint64_t kChunkHeaderBytes = 1 + 1 + kFileIdBytes + 8 + 4;

struct FileManifest {
    QByteArray fileId;
    QString name;
    std::uint64_t size = 0;
    QByteArray sha256;       ///< 32 bytes.
    QByteArray jobId;        ///< The job this upload belongs to (client-chosen or generated).
    QByteArray coordinator;  ///< Node id (hex) of the node that received the upload.
};

struct JobResult {
    QByteArray jobId;
    QByteArray json;  ///< The result object, compact JSON ("tablePieces": how many pieces the table has).
    QByteArray freqTable;  ///< Piece 0 of the frequency table (encodeWordTable: the most frequent words).
};

/// Piece `piece` (1 .. pieces-1) of a job's frequency table: the next `entries` words in table order. A
/// table is cut into pieces of bounded size so no table, however many distinct words it has, meets the
/// entry or decoder limits; every piece commits before the job's JobResult, which completes the table.
struct JobTablePiece {
    QByteArray jobId;
    std::uint32_t piece = 0;
    std::uint64_t entries = 0;
    QByteArray table;  ///< encodeWordTable of those entries.
};

/// Addresses of a member, the context of its AddLearner ConfChange and the MemberAddress command.
struct MemberAddress {
    QString rpc;   ///< host:port for node-to-node TCP
    QString http;  ///< host:port of its HTTP server
    bool operator==(const MemberAddress&) const = default;
};

struct MemberAddressUpdate {
    std::uint64_t node = 0;
    MemberAddress address;
};

/// The coordinator gave up on an upload before its manifest (the client left, storing failed): every node
/// drops the chunks it holds for the file, and ignores any that commit later. A stored file is unaffected.
struct FileAbandoned {
    QByteArray fileId;
};

struct JobDeleted {
    QByteArray jobId;
};

struct FileDeleted {
    QByteArray sha256;  ///< 32 bytes
};

using Command = std::variant<FileChunk, FileManifest, JobResult, MemberAddressUpdate, FileAbandoned,
                             JobTablePiece, JobDeleted, FileDeleted>;

QByteArray encodeCommand(const Command& c);
/// Decodes a Normal entry's payload; std::nullopt (with `why` set) on malformed input.
std::optional<Command> decodeCommand(const QByteArray& payload, QString* why = nullptr);
/// Reads only the header of a FileChunk payload (for replay without copying bytes).
struct ChunkHeader {
    QByteArray fileId;
    std::uint64_t fileOffset = 0;
    std::uint32_t length = 0;
};
std::optional<ChunkHeader> decodeChunkHeader(const QByteArray& payloadPrefix);

QByteArray encodeMemberAddress(const MemberAddress& a);
std::optional<MemberAddress> decodeMemberAddress(const QByteArray& bytes);

}  // namespace raftwc::node
