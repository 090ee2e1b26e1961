// The replicated state machine every node applies committed entries to, in log order: stored files
// (their chunks stay in the log on disk; only their positions are kept here), finished jobs, and member
// addresses. Deterministic: the same committed entries give the same state on every node.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "node/commands.h"
#include "raft/types.h"

namespace raftwc::node {

struct ChunkRef {
    raft::Index index = 0;  ///< Log entry holding the chunk.
    std::uint64_t fileOffset = 0;
    std::uint32_t length = 0;
};

struct StoredFile {
    QByteArray id;
    QString name;
    std::uint64_t size = 0;
    QByteArray sha256;
    QByteArray jobId;
    QByteArray coordinator;
    raft::Index manifestIndex = 0;
    raft::Term manifestTerm = 0;
    std::vector<ChunkRef> chunks;  ///< Sorted by fileOffset, contiguous, covering [0, size).
};

/// A committed piece of a job's table (JobTablePiece): where it is in the log, and how many words it has.
struct TablePieceRef {
    raft::Index index = 0;
    std::uint64_t entries = 0;
};

struct StoredJob {
    QByteArray jobId;
    QJsonObject result;
    raft::Index index = 0;  ///< The JobResult entry; it holds piece 0 of the table (read from the log)
    /// Pieces 1.. of the table, read from the log when asked for (their bytes are not kept here).
    std::vector<TablePieceRef> pieces;
    bool tableComplete = true;  ///< false if a piece the result counts was never applied
    /// The result's `createdAt` in ms since the epoch (-1 if it has none), parsed once (retention by age).
    qint64 createdAtMs = -1;
};

/// A result's `createdAt` (ISO 8601 with ms) in ms since the epoch; -1 if missing or malformed.
qint64 createdAtMsOf(const QJsonObject& result);

/// What one applied entry changed, decoded once, for the node's side effects.
struct Applied {
    std::optional<raft::ConfChange> confChange;  ///< a membership change
    /// A member's addresses recorded (from a ConfChange's context or a MemberAddressUpdate).
    std::optional<std::pair<raft::NodeId, MemberAddress>> address;
    bool fileStored = false;  ///< a manifest completed a file
    QByteArray storedFileId;  ///< that file
    /// Contents no stored file has any more (a deletion): the node drops their blob.
    std::vector<QByteArray> unreferencedSha256;
    bool deleted = false;     ///< a job or files were deleted
    QByteArray deletedJobId;  ///< a JobDeleted command's job (whether or not it was known)
    bool jobResult = false;   ///< a job's result was recorded
    QByteArray resultJobId;   ///< its job
};

class StateMachine {
  public:
    /// Applies one committed entry. Entries must come in log order without gaps; a malformed Normal
    /// payload is skipped with a note (it cannot come from an honest leader, but must not stop the node).
    Applied apply(const raft::Entry& e);

    raft::Index applied() const { return applied_; }
    const StoredFile* file(const QByteArray& fileId) const;
    const StoredFile* fileForJob(const QByteArray& jobId) const;
    const StoredJob* job(const QByteArray& jobId) const;
    /// Finished jobs, newest first.
    std::vector<const StoredJob*> jobs() const;
    const std::map<raft::NodeId, MemberAddress>& memberAddresses() const { return addresses_; }
    /// The chunks of a file applied so far, sorted by offset, one per offset: a stored file's, or those of an
    /// upload still waiting for its manifest (pipelined counting reads them); empty if none.
    std::vector<ChunkRef> chunksOf(const QByteArray& fileId) const;
    /// Whether any stored file has this content (SHA-256, 32 bytes).
    bool hasContent(const QByteArray& sha256) const;
    /// Files with chunks applied but no manifest yet (uploads in progress, or abandoned).
    std::size_t pendingFiles() const { return pendingChunks_.size(); }
    /// Every stored file, by id.
    std::vector<const StoredFile*> files() const;
    /// Work half committed: an upload's chunks without its manifest, or a table's pieces without its result.
    /// Their bytes are only in the log, so the node compacts at a moment when there is none.
    struct Partial {
        QByteArray id;  ///< the file id (upload) or job id (table)
        bool upload = true;
        std::size_t parts = 0;  ///< chunks or pieces applied so far (progress shows as a change)
    };
    std::vector<Partial> partialWork() const;
    bool hasPartialWork() const { return !pendingChunks_.empty() || !pendingPieces_.empty(); }
    /// Problems seen while applying (malformed entries, incomplete manifests); drained by the node's log.
    QStringList takeNotes();

    /// The whole state as bytes (statemachine_snapshot.cpp; docs/STORAGE.md, "State machine snapshot"):
    /// what a Raft snapshot at applied() carries. Deterministic: equal states encode to equal bytes.
    QByteArray snapshot() const;
    /// The state a snapshot encodes; nullopt (with the reason in *why) for anything malformed.
    static std::optional<StateMachine> restore(const QByteArray& bytes, QString* why = nullptr);

  private:
    /// Drops a stored file; its content's SHA-256 goes to *out if no other file has it.
    void dropFile(const QByteArray& fileId, Applied* out);
    raft::Index applied_ = 0;
    std::map<QByteArray, std::vector<ChunkRef>> pendingChunks_;  ///< fileId → chunks before the manifest
    std::map<QByteArray, StoredFile> files_;
    std::set<QByteArray> abandoned_;  ///< files whose late chunks are ignored (FileAbandoned), bounded
    static constexpr std::size_t kMaxAbandoned = 4096;
    void markAbandoned(const QByteArray& fileId);
    std::map<QByteArray, QByteArray> fileByJob_;
    std::map<QByteArray, StoredJob> jobs_;
    /// Pieces of tables whose JobResult has not been applied yet: jobId → piece number → where.
    std::map<QByteArray, std::map<std::uint32_t, TablePieceRef>> pendingPieces_;
    std::vector<QByteArray> jobOrder_;
    std::map<raft::NodeId, MemberAddress> addresses_;
    QStringList notes_;
};

}  // namespace raftwc::node
