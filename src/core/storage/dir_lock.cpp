#include "storage/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "storage/io_util.h"

namespace raftwc::storage {

Result<DirLock> DirLock::acquire(const std::string& dir) {
    const std::string path = dir + "/LOCK";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return detail::sysError("cannot open lock file", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            char buf[32] = {};
            const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            ::close(fd);
            std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
                pid.pop_back();
            if (pid.empty()) pid = "unknown";
            return Status::error(
                "data directory " + dir + " is in use by another raftwc process (pid " + pid + ")", err);
        }
        ::close(fd);
        return detail::sysError("cannot lock", path, err);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The pid is informational; the lock itself is held.
    }
    return DirLock(dir, fd);
}

DirLock::DirLock(DirLock&& other) noexcept : dir_(std::move(other.dir_)), fd_(other.fd_) {
    other.fd_ = -1;
}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        dir_ = std::move(other.dir_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

DirLock::~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace raftwc::storage
