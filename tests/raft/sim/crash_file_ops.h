// CrashFileOps: real files (in a scratch directory) with the failure semantics of a disk that loses
// power. Every write-side call goes through it and is remembered until the file (or, for names, its
// directory) is synced; crash() then keeps only part of what was never synced: writes in order up to a
// random point, the write at that point torn at 512-byte sectors, some later writes anyway (the device
// reordered them), a file length that may cover pages never written (zeros); of the unsynced creations,
// renames and deletions of names, only a prefix in call order survives (metadata is journaled in order). What
// was synced always survives. Deterministic for a given Rng. Used by the simulation to run
// storage::RaftLogStore as nodes crash (docs/raft-simulation.md).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "rng.h"
#include "storage/file_ops.h"

namespace raftwc::raftsim {

class CrashFileOps : public storage::FileOps {
  public:
    int open(const char* path, int flags, mode_t mode) override;
    int close(int fd) override;
    ssize_t pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) override;
    int fdatasync(int fd) override;
    int fsync(int fd) override;
    int ftruncate(int fd, off_t length) override;
    int rename(const char* from, const char* to) override;
    int unlink(const char* path) override;

    /// The power fails after `n` more mutating calls: that call and every later one fails with EIO and
    /// changes nothing (until crash()). 0 disarms.
    void failAfter(int n);
    /// Applies a power loss to the files (call with every descriptor closed). Returns a one-line summary.
    std::string crash(Rng& rng);

  private:
    struct Write {
        std::uint64_t offset = 0;
        std::string before;         ///< The bytes it replaced (inside the old length).
        std::uint64_t oldSize = 0;  ///< File length before the call.
        std::uint64_t length = 0;   ///< Bytes written (0 for a truncate).
        bool truncate = false;
    };
    struct NameOp {
        enum class Kind : std::uint8_t { Create, Rename, Unlink } kind = Kind::Create;
        std::string path, to;
        std::string content;  ///< Unlink: the removed file; Rename: the replaced target (if any).
        bool targetExisted = false;
    };
    bool powerFailed();  ///< Counts a mutating call; true if it must fail.
    static std::string dirOf(const std::string& path);
    static std::string readAll(const std::string& path);
    static void writeAll(const std::string& path, const std::string& bytes);

    std::mutex mu_;
    std::map<int, std::string> paths_;                    ///< Open descriptors.
    std::map<std::string, std::vector<Write>> unsynced_;  ///< Per file, in call order.
    std::vector<NameOp> names_;                           ///< Unsynced name changes, in call order.
    int failAfter_ = 0;
    bool failed_ = false;
};

}  // namespace raftwc::raftsim
