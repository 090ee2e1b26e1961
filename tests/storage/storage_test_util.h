// Shared helpers of the storage tests: fault-injecting FileOps and small file utilities.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <QByteArray>
#include <QFile>
#include <QString>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage::test {

/// FileOps that can fail chosen calls. Thread-safe.
class FaultyFileOps : public FileOps {
  public:
    enum class Op { Open, Pwritev, Fdatasync, Fsync, Ftruncate, Rename, Unlink };

    /// The next call of `op` fails with `err` (after `skip` successful ones), once.
    void failNext(Op op, int err, int skip = 0) {
        std::lock_guard lk(mu_);
        rules_.push_back(Rule{op, err, skip, false});
    }
    /// Every call of `op` fails with `err` until clear().
    void failAlways(Op op, int err) {
        std::lock_guard lk(mu_);
        rules_.push_back(Rule{op, err, 0, true});
    }
    /// The next pwritev really writes only `bytes` bytes and returns that count (like a nearly full disk).
    void shortWriteNext(std::size_t bytes) {
        std::lock_guard lk(mu_);
        shortWrite_ = bytes;
    }
    /// Simulated power cut: from the n-th mutating call on (1-based, counting open, pwritev, fdatasync,
    /// fsync, ftruncate, rename, unlink), every mutating call fails with EIO and changes nothing.
    void crashAtStep(int n) {
        std::lock_guard lk(mu_);
        crashAt_ = n;
        steps_ = 0;
    }
    void clear() {
        std::lock_guard lk(mu_);
        rules_.clear();
        shortWrite_ = 0;
        crashAt_ = 0;
    }
    int steps() const {
        std::lock_guard lk(mu_);
        return steps_;
    }

    int open(const char* path, int flags, mode_t mode) override {
        if (int e = check(Op::Open)) return fail(e);
        return FileOps::open(path, flags, mode);
    }
    ssize_t pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) override {
        if (int e = check(Op::Pwritev)) return fail(e);
        std::size_t shortBytes = 0;
        {
            std::lock_guard lk(mu_);
            std::swap(shortBytes, shortWrite_);
        }
        if (shortBytes > 0) {
            std::vector<iovec> cut;
            std::size_t left = shortBytes;
            for (int i = 0; i < iovcnt && left > 0; ++i) {
                const std::size_t n = std::min(left, iov[i].iov_len);
                cut.push_back(iovec{iov[i].iov_base, n});
                left -= n;
            }
            return FileOps::pwritev(fd, cut.data(), static_cast<int>(cut.size()), offset);
        }
        return FileOps::pwritev(fd, iov, iovcnt, offset);
    }
    int fdatasync(int fd) override {
        if (int e = check(Op::Fdatasync)) return fail(e);
        return FileOps::fdatasync(fd);
    }
    int fsync(int fd) override {
        if (int e = check(Op::Fsync)) return fail(e);
        return FileOps::fsync(fd);
    }
    int ftruncate(int fd, off_t length) override {
        if (int e = check(Op::Ftruncate)) return fail(e);
        return FileOps::ftruncate(fd, length);
    }
    int rename(const char* from, const char* to) override {
        if (int e = check(Op::Rename)) return fail(e);
        return FileOps::rename(from, to);
    }
    int unlink(const char* path) override {
        if (int e = check(Op::Unlink)) return fail(e);
        return FileOps::unlink(path);
    }

  private:
    struct Rule {
        Op op;
        int err;
        int skip;
        bool sticky;
    };
    static int fail(int e) {
        errno = e;
        return -1;
    }
    int check(Op op) {
        std::lock_guard lk(mu_);
        ++steps_;
        if (crashAt_ > 0 && steps_ >= crashAt_) return EIO;
        for (auto it = rules_.begin(); it != rules_.end(); ++it) {
            if (it->op != op) continue;
            if (it->skip > 0) {
                --it->skip;
                continue;
            }
            const int e = it->err;
            if (!it->sticky) rules_.erase(it);
            return e;
        }
        return 0;
    }
    mutable std::mutex mu_;
    std::vector<Rule> rules_;
    std::size_t shortWrite_ = 0;
    int crashAt_ = 0;
    int steps_ = 0;
};

inline std::string randomBytes(std::mt19937_64& rng, std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

inline QByteArray readFile(const std::string& path) {
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

inline bool writeFile(const std::string& path, const QByteArray& bytes) {
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(bytes) == bytes.size();
}

inline std::int64_t fileSize(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return -1;
    return st.st_size;
}

/// Collects logger output.
struct LogCapture {
    std::vector<std::pair<LogLevel, std::string>> lines;
    Logger logger() {
        return [this](LogLevel l, std::string_view m) { lines.emplace_back(l, std::string(m)); };
    }
    int count(LogLevel level) const {
        int n = 0;
        for (const auto& l : lines)
            n += l.first == level;
        return n;
    }
};

}  // namespace raftwc::storage::test
