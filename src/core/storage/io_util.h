// Internal helpers shared by the storage sources (not part of the public API).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage::detail {

/// "what path: strerror(err)".
std::string sysMessage(const std::string& what, const std::string& path, int err);
Status sysError(const std::string& what, const std::string& path, int err);

/// Writes every byte of `iov` at `offset` (looping over short writes; a write of 0 bytes is reported as
/// a short write, ENOSPC). Returns the number of bytes written before a failure in `written`.
Status writeAllAt(FileOps& ops, int fd, const std::string& path, std::vector<iovec> iov, std::uint64_t offset,
                  std::uint64_t* written = nullptr);
/// Reads exactly n bytes at offset (EOF before n bytes is an error).
Status readAllAt(FileOps& ops, int fd, const std::string& path, void* buf, std::size_t n,
                 std::uint64_t offset);
/// fsync of a directory (makes creations, renames and deletions inside it durable).
Status syncDir(FileOps& ops, const std::string& dir);

inline void putU32(char* p, std::uint32_t v) {
    std::memcpy(p, &v, 4);
}
inline void putU64(char* p, std::uint64_t v) {
    std::memcpy(p, &v, 8);
}
inline std::uint32_t getU32(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline std::uint64_t getU64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

}  // namespace raftwc::storage::detail
