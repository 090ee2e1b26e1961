#include "crash_file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>

#include "cluster.h"

namespace raftwc::raftsim {

namespace {

constexpr std::uint64_t kSector = 512;

std::uint64_t fileSize(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::string preadAll(int fd, std::uint64_t offset, std::uint64_t n) {
    std::string out(static_cast<std::size_t>(n), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

void pwriteAt(const std::string& path, std::uint64_t offset, const std::string& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w =
            ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (w <= 0) break;
        done += static_cast<std::size_t>(w);
    }
    ::close(fd);
}

bool isDirectory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string CrashFileOps::dirOf(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string CrashFileOps::readAll(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string s = preadAll(fd, 0, fileSize(fd));
    ::close(fd);
    return s;
}

void CrashFileOps::writeAll(const std::string& path, const std::string& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ::close(fd);
    pwriteAt(path, 0, bytes);
}

bool CrashFileOps::powerFailed() {
    if (failed_) return true;
    if (failAfter_ > 0 && --failAfter_ == 0) failed_ = true;
    return failed_;
}

void CrashFileOps::failAfter(int n) {
    std::lock_guard lk(mu_);
    failAfter_ = n;
    failed_ = false;
}

int CrashFileOps::open(const char* path, int flags, mode_t mode) {
    std::lock_guard lk(mu_);
    const bool creates = (flags & O_CREAT) != 0;
    const bool existed = ::access(path, F_OK) == 0;
    if ((creates || (flags & O_TRUNC)) && powerFailed()) {
        errno = EIO;
        return -1;
    }
    std::string before;
    if (existed && (flags & O_TRUNC)) before = readAll(path);
    const int fd = FileOps::open(path, flags, mode);
    if (fd < 0) return fd;
    paths_[fd] = path;
    if (creates && !existed) names_.push_back(NameOp{NameOp::Kind::Create, path, {}, {}, false});
    if (existed && (flags & O_TRUNC) && !before.empty())
        unsynced_[path].push_back(Write{0, std::move(before), before.size(), 0, true});
    return fd;
}

int CrashFileOps::close(int fd) {
    std::lock_guard lk(mu_);
    paths_.erase(fd);
    return FileOps::close(fd);
}

ssize_t CrashFileOps::pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    std::uint64_t len = 0;
    for (int i = 0; i < iovcnt; ++i)
        len += iov[i].iov_len;
    Write w;
    w.offset = static_cast<std::uint64_t>(offset);
    w.oldSize = fileSize(fd);
    w.length = len;
    if (w.offset < w.oldSize) w.before = preadAll(fd, w.offset, std::min(len, w.oldSize - w.offset));
    const ssize_t r = FileOps::pwritev(fd, iov, iovcnt, offset);
    if (r > 0) {
        w.length = static_cast<std::uint64_t>(r);
        if (auto it = paths_.find(fd); it != paths_.end()) unsynced_[it->second].push_back(std::move(w));
    }
    return r;
}

int CrashFileOps::fdatasync(int fd) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    if (auto it = paths_.find(fd); it != paths_.end()) unsynced_.erase(it->second);
    return FileOps::fdatasync(fd);
}

int CrashFileOps::fsync(int fd) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    if (auto it = paths_.find(fd); it != paths_.end()) {
        const std::string& p = it->second;
        if (isDirectory(p)) {
            std::erase_if(names_, [&](const NameOp& op) {
                return dirOf(op.path) == p || (op.kind == NameOp::Kind::Rename && dirOf(op.to) == p);
            });
        } else {
            unsynced_.erase(p);
        }
    }
    return FileOps::fsync(fd);
}

int CrashFileOps::ftruncate(int fd, off_t length) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    Write w;
    w.truncate = true;
    w.oldSize = fileSize(fd);
    w.offset = static_cast<std::uint64_t>(length);
    if (w.offset < w.oldSize) w.before = preadAll(fd, w.offset, w.oldSize - w.offset);
    const int r = FileOps::ftruncate(fd, length);
    if (r == 0)
        if (auto it = paths_.find(fd); it != paths_.end()) unsynced_[it->second].push_back(std::move(w));
    return r;
}

int CrashFileOps::rename(const char* from, const char* to) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    NameOp op{NameOp::Kind::Rename, from, to, {}, ::access(to, F_OK) == 0};
    if (op.targetExisted) op.content = readAll(to);
    const int r = FileOps::rename(from, to);
    if (r == 0) {
        names_.push_back(std::move(op));
        if (auto it = unsynced_.find(from); it != unsynced_.end()) {
            unsynced_[to] = std::move(it->second);
            unsynced_.erase(from);
        }
    }
    return r;
}

int CrashFileOps::unlink(const char* path) {
    std::lock_guard lk(mu_);
    if (powerFailed()) {
        errno = EIO;
        return -1;
    }
    NameOp op{NameOp::Kind::Unlink, path, {}, readAll(path), false};
    const int r = FileOps::unlink(path);
    if (r == 0) {
        names_.push_back(std::move(op));
        unsynced_.erase(path);
    }
    return r;
}

std::string CrashFileOps::crash(Rng& rng) {
    std::lock_guard lk(mu_);
    std::uint64_t kept = 0, torn = 0, lost = 0, undone = 0;
    // File contents: writes up to a random point survive, the one there is torn at sector granularity,
    // later ones survive only by chance (reordered by the device) when they overlap nothing lost.
    for (auto& [path, ops] : unsynced_) {
        if (ops.empty() || ::access(path.c_str(), F_OK) != 0) continue;
        const std::size_t cut = static_cast<std::size_t>(rng.range(0, ops.size()));
        std::vector<int> fate(ops.size(), 0);  // 0 kept, 1 torn, 2 lost
        std::vector<std::pair<std::uint64_t, std::uint64_t>> damaged;
        for (std::size_t i = cut; i < ops.size(); ++i) {
            const Write& w = ops[i];
            const std::uint64_t lo = w.offset, hi = w.truncate ? w.oldSize : w.offset + w.length;
            const bool overlaps = std::any_of(damaged.begin(), damaged.end(),
                                              [&](const auto& d) { return lo < d.second && d.first < hi; });
            fate[i] = i == cut ? 1 : (!overlaps && !w.truncate && rng.chance(0.3)) ? 0 : 2;
            if (w.truncate && fate[i] == 1) fate[i] = 2;
            if (fate[i] != 0) damaged.emplace_back(lo, hi);
        }
        std::uint64_t keptEnd = ops.front().oldSize;
        bool anyTruncate = false;
        for (std::size_t i = ops.size(); i-- > 0;) {
            const Write& w = ops[i];
            anyTruncate = anyTruncate || w.truncate;
            if (fate[i] == 0) {
                ++kept;
                if (!w.truncate) keptEnd = std::max(keptEnd, w.offset + w.length);
                continue;
            }
            if (w.truncate) {  // the removed bytes come back
                pwriteAt(path, w.offset, w.before);
                ++lost;
                continue;
            }
            // Lost or torn: bytes inside the old length revert, bytes past it were never written (zeros).
            std::string old = w.before;
            if (w.offset + w.length > w.oldSize)
                old.append(static_cast<std::size_t>(w.offset + w.length - std::max(w.offset, w.oldSize)),
                           '\0');
            if (fate[i] == 2) {
                pwriteAt(path, w.offset, old);
                ++lost;
                continue;
            }
            ++torn;
            keptEnd = std::max(keptEnd, w.offset + w.length);
            for (std::uint64_t s = w.offset / kSector * kSector; s < w.offset + w.length; s += kSector) {
                if (!rng.chance(0.5)) continue;
                const std::uint64_t lo = std::max(s, w.offset),
                                    hi = std::min(s + kSector, w.offset + w.length);
                pwriteAt(
                    path, lo,
                    old.substr(static_cast<std::size_t>(lo - w.offset), static_cast<std::size_t>(hi - lo)));
            }
        }
        // The length may or may not cover pages of lost writes (a zero-filled tail).
        if (!anyTruncate && rng.chance(0.5)) {
            const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (fileSize(fd) > keptEnd && ::ftruncate(fd, static_cast<off_t>(keptEnd)) != 0) {
                }
                ::close(fd);
            }
        }
    }
    // Names: the unsynced changes that survive are a prefix in call order (a journaling file system
    // commits metadata in order): undo the latest ones, latest first.
    const std::size_t keepNames = static_cast<std::size_t>(rng.range(0, names_.size()));
    for (std::size_t i = names_.size(); i-- > keepNames;) {
        const NameOp& op = names_[i];
        ++undone;
        switch (op.kind) {
            case NameOp::Kind::Create:
                ::unlink(op.path.c_str());
                break;
            case NameOp::Kind::Rename:
                if (::rename(op.to.c_str(), op.path.c_str()) == 0 && op.targetExisted)
                    writeAll(op.to, op.content);
                break;
            case NameOp::Kind::Unlink:
                writeAll(op.path, op.content);
                break;
        }
    }
    unsynced_.clear();
    names_.clear();
    paths_.clear();
    failAfter_ = 0;
    failed_ = false;
    return fmt("disk after power loss: %" PRIu64 " unsynced writes kept, %" PRIu64 " torn, %" PRIu64
               " lost, %" PRIu64 " name changes undone",
               kept, torn, lost, undone);
}

}  // namespace raftwc::raftsim
