// The hard-state file DIR/hardstate: Raft's term, vote and commit index plus the node's identity
// (cluster id, node id), replaced atomically (temp file, fsync, rename, fsync of the directory).
#pragma once

#include <memory>
#include <string>

#include "raft/types.h"
#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage {

struct HardStateRecord {
    raft::HardState hs;
    std::string clusterId;  ///< Opaque bytes, at most kMaxClusterIdBytes (16-byte UUIDs or a name).
    raft::NodeId nodeId = raft::kNoNode;

    bool operator==(const HardStateRecord&) const = default;
    static constexpr std::size_t kMaxClusterIdBytes = 1024;
};

/// Not thread-safe: one owner (RaftLogStore) calls it.
class HardStateFile {
  public:
    static constexpr const char* kFileName = "hardstate";
    static constexpr const char* kTempName = "hardstate.tmp";

    /// Reads DIR/hardstate (a missing file means the empty initial state) and removes a leftover
    /// DIR/hardstate.tmp from an interrupted write. A damaged hardstate file is an error naming it.
    static Result<HardStateFile> open(const std::string& dir, Logger logger = {},
                                      std::shared_ptr<FileOps> ops = nullptr);

    const HardStateRecord& current() const { return current_; }

    /// Durably replaces the file. On error the previous file is intact unless the rename already
    /// happened (then current() is the new value; only the directory sync failed).
    Status write(const HardStateRecord& rec);

    /// The file image of `rec` (exposed for tests of the format).
    static std::string encode(const HardStateRecord& rec);
    static Result<HardStateRecord> decode(std::string_view bytes, const std::string& path);

  private:
    HardStateFile(std::string dir, Logger logger, std::shared_ptr<FileOps> ops)
        : dir_(std::move(dir)), logger_(std::move(logger)), ops_(std::move(ops)) {}
    std::string dir_;
    Logger logger_;
    std::shared_ptr<FileOps> ops_;
    HardStateRecord current_;
};

}  // namespace raftwc::storage
