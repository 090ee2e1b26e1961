#include "storage/file_ops.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace raftwc::storage {

int FileOps::open(const char* path, int flags, mode_t mode) {
    return ::open(path, flags, mode);
}
int FileOps::close(int fd) {
    return ::close(fd);
}
ssize_t FileOps::pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) {
    return ::pwritev(fd, iov, iovcnt, offset);
}
ssize_t FileOps::pread(int fd, void* buf, std::size_t n, off_t offset) {
    return ::pread(fd, buf, n, offset);
}
int FileOps::fdatasync(int fd) {
    return ::fdatasync(fd);
}
int FileOps::fsync(int fd) {
    return ::fsync(fd);
}
int FileOps::ftruncate(int fd, off_t length) {
    return ::ftruncate(fd, length);
}
int FileOps::rename(const char* from, const char* to) {
    return std::rename(from, to);
}
int FileOps::unlink(const char* path) {
    return ::unlink(path);
}

std::shared_ptr<FileOps> FileOps::posix() {
    return std::make_shared<FileOps>();
}

}  // namespace raftwc::storage
