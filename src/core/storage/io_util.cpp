#include "storage/io_util.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>

namespace raftwc::storage::detail {

static_assert(std::endian::native == std::endian::little, "the on-disk format is little-endian");

std::string sysMessage(const std::string& what, const std::string& path, int err) {
    return what + " " + path + ": " + std::strerror(err);
}

Status sysError(const std::string& what, const std::string& path, int err) {
    return Status::error(sysMessage(what, path, err), err);
}

Status writeAllAt(FileOps& ops, int fd, const std::string& path, std::vector<iovec> iov, std::uint64_t offset,
                  std::uint64_t* written) {
    std::uint64_t done = 0;
    std::size_t first = 0;
    auto report = [&] {
        if (written) *written = done;
    };
    while (first < iov.size()) {
        if (iov[first].iov_len == 0) {
            ++first;
            continue;
        }
        const int cnt = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
        const ssize_t n = ops.pwritev(fd, iov.data() + first, cnt, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            report();
            return sysError("write to", path, err);
        }
        if (n == 0) {
            report();
            return Status::error("short write to " + path + " (no space left?)", ENOSPC);
        }
        done += static_cast<std::uint64_t>(n);
        auto left = static_cast<std::size_t>(n);
        while (left > 0 && first < iov.size()) {
            if (left >= iov[first].iov_len) {
                left -= iov[first].iov_len;
                ++first;
            } else {
                iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
                iov[first].iov_len -= left;
                left = 0;
            }
        }
    }
    report();
    return {};
}

Status readAllAt(FileOps& ops, int fd, const std::string& path, void* buf, std::size_t n,
                 std::uint64_t offset) {
    std::size_t done = 0;
    while (done < n) {
        const ssize_t r =
            ops.pread(fd, static_cast<char*>(buf) + done, n - done, static_cast<off_t>(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return sysError("read from", path, errno);
        }
        if (r == 0) return Status::error("unexpected end of file reading " + path, EIO);
        done += static_cast<std::size_t>(r);
    }
    return {};
}

Status syncDir(FileOps& ops, const std::string& dir) {
    const int fd = ops.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return sysError("open directory", dir, errno);
    const int rc = ops.fsync(fd);
    const int err = errno;
    ops.close(fd);
    if (rc != 0) return sysError("fsync directory", dir, err);
    return {};
}

}  // namespace raftwc::storage::detail
