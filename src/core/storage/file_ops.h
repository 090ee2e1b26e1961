// The seam between the durable log and the operating system. Every write-side system call the log makes
// goes through a FileOps, so tests can inject ENOSPC, EIO, short writes or a simulated crash.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>

namespace raftwc::storage {

/// POSIX semantics: return -1 and set errno on failure. The default implementation calls the system.
/// Subclasses override what they want to break. Must be thread-safe if the log is used from several
/// threads (the default is).
class FileOps {
  public:
    virtual ~FileOps() = default;
    virtual int open(const char* path, int flags, mode_t mode);
    virtual int close(int fd);
    virtual ssize_t pwritev(int fd, const iovec* iov, int iovcnt, off_t offset);
    virtual ssize_t pread(int fd, void* buf, std::size_t n, off_t offset);
    virtual int fdatasync(int fd);
    virtual int fsync(int fd);
    virtual int ftruncate(int fd, off_t length);
    virtual int rename(const char* from, const char* to);
    virtual int unlink(const char* path);

    /// The plain POSIX implementation (stateless, shared).
    static std::shared_ptr<FileOps> posix();
};

}  // namespace raftwc::storage
