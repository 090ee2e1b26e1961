// Exclusive ownership of a data directory: flock(LOCK_EX | LOCK_NB) on DIR/LOCK, held while open.
#pragma once

#include <string>

#include "storage/status.h"

namespace raftwc::storage {

/// Movable owner of the lock. A second acquire() on the same directory — from another process, or
/// from this process through another open — fails with "data directory X is in use by another raftwc
/// process (pid N)". The LOCK file holds the owner's pid as text (informational only; the flock is
/// the lock, so a stale file after a crash does not block).
class DirLock {
  public:
    static Result<DirLock> acquire(const std::string& dir);

    DirLock(DirLock&& other) noexcept;
    DirLock& operator=(DirLock&& other) noexcept;
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;
    ~DirLock();

    const std::string& dir() const { return dir_; }

  private:
    DirLock(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
    std::string dir_;
    int fd_ = -1;
};

}  // namespace raftwc::storage
