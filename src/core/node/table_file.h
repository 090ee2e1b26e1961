// A finished job's frequency table copied out of the log (DIR/tables/<sha256 of the job id>, written through
// storage::BlobStore): the payloads of its JobResult entry and JobTablePiece entries, by log index, so the
// table outlives the log entries (log compaction) and `GET /api/jobs/{id}/words` reads one file.
//
// Format: "RWCTBL1\0", the payloads one after another, then a footer of n records {u64 log index,
// u64 offset, u32 length, u32 CRC32C of the payload}, then u32 n, u32 CRC32C of the footer records, and
// "RWCTBL1\0" again. Damage is detected (nullopt), never served.
#pragma once

#include <QByteArray>
#include <QString>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "raft/types.h"
#include "storage/blob_store.h"

namespace raftwc::node {

/// The name of a job's table file in DIR/tables: the SHA-256 of the job id (32 raw bytes).
std::string tableFileName(const QByteArray& jobId);

/// Writes the payloads (log index → command bytes) into `w` (not committed: the caller commits).
storage::Status writeTableFile(storage::BlobStore::Writer& w,
                               const std::map<raft::Index, QByteArray>& payloads);

class TableFile {
  public:
    /// Opens and checks the footer; nullptr (with *why) if the file is missing or damaged.
    static std::unique_ptr<TableFile> open(const std::string& path, QString* why = nullptr);
    ~TableFile();
    TableFile(const TableFile&) = delete;
    TableFile& operator=(const TableFile&) = delete;
    /// The payload of the entry at `index`, nullopt if the file does not hold it or it is damaged.
    std::optional<QByteArray> read(raft::Index index) const;

  private:
    struct Slot {
        std::uint64_t offset = 0;
        std::uint32_t length = 0;
        std::uint32_t crc = 0;
    };
    TableFile() = default;
    int fd_ = -1;
    std::map<raft::Index, Slot> slots_;
};

}  // namespace raftwc::node
