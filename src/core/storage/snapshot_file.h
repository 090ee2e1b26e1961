// DIR/snapshot: the newest Raft snapshot of a data directory (docs/STORAGE.md, "Snapshot file"). Written
// to DIR/snapshot.tmp, synced, renamed over DIR/snapshot and the directory synced: a crash leaves the old
// file or the new one, never a mix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "raft/types.h"
#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage {

inline constexpr std::uint32_t kSnapshotFileVersion = 1;
inline constexpr std::uint64_t kMaxSnapshotDataBytes = 1ull << 30;

/// The file's bytes (pure).
std::string encodeSnapshotFile(const raft::Snapshot& s);
/// nullopt (with the reason in *why) on any damage: bad magic or version, bad counts, CRC mismatch,
/// unsorted or overlapping member lists, trailing bytes.
std::optional<raft::Snapshot> decodeSnapshotFile(std::string_view bytes, std::string* why);

/// Replaces DIR/snapshot atomically (write aside, fsync, rename, fsync DIR).
Status writeSnapshotFile(FileOps& ops, const std::string& dir, const raft::Snapshot& s);
/// The snapshot in DIR/snapshot, nullopt if there is none; an error if it is damaged (never ignored: the
/// log before it is gone). Removes a DIR/snapshot.tmp left by a crash.
Result<std::optional<raft::Snapshot>> readSnapshotFile(FileOps& ops, const std::string& dir);

}  // namespace raftwc::storage
