#include "storage/hard_state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "storage/crc32c.h"
#include "storage/io_util.h"

namespace raftwc::storage {
namespace {

constexpr char kMagic[8] = {'R', 'W', 'C', 'H', 'S', 'T', 'A', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kFixedBody = 8 * 4 + 4;  // term, vote, commit, node id, cluster id length
constexpr std::size_t kMaxFile = 16 + kFixedBody + HardStateRecord::kMaxClusterIdBytes + 4;

}  // namespace

std::string HardStateFile::encode(const HardStateRecord& rec) {
    const std::size_t body = kFixedBody + rec.clusterId.size();
    std::string out(16 + body + 4, '\0');
    char* p = out.data();
    std::memcpy(p, kMagic, 8);
    detail::putU32(p + 8, kVersion);
    detail::putU32(p + 12, static_cast<std::uint32_t>(body));
    detail::putU64(p + 16, rec.hs.term);
    detail::putU64(p + 24, rec.hs.vote);
    detail::putU64(p + 32, rec.hs.commit);
    detail::putU64(p + 40, rec.nodeId);
    detail::putU32(p + 48, static_cast<std::uint32_t>(rec.clusterId.size()));
    std::memcpy(p + 52, rec.clusterId.data(), rec.clusterId.size());
    detail::putU32(p + 16 + body, crc32c(p, 16 + body));
    return out;
}

Result<HardStateRecord> HardStateFile::decode(std::string_view b, const std::string& path) {
    auto bad = [&](const std::string& why) {
        return Status::error("hard-state file " + path + " is damaged: " + why, EIO);
    };
    if (b.size() < 16 + kFixedBody + 4) return bad("too short (" + std::to_string(b.size()) + " bytes)");
    if (std::memcmp(b.data(), kMagic, 8) != 0) return bad("bad magic");
    const std::uint32_t version = detail::getU32(b.data() + 8);
    if (version != kVersion) return bad("unsupported format version " + std::to_string(version));
    const std::uint32_t body = detail::getU32(b.data() + 12);
    if (body < kFixedBody || 16ull + body + 4 != b.size())
        return bad("length field does not match the file size");
    const std::uint32_t stored = detail::getU32(b.data() + 16 + body);
    if (crc32c(b.data(), 16 + body) != stored) return bad("checksum mismatch");
    const std::uint32_t idLen = detail::getU32(b.data() + 48);
    if (idLen != body - kFixedBody || idLen > HardStateRecord::kMaxClusterIdBytes)
        return bad("bad cluster id length");
    HardStateRecord r;
    r.hs.term = detail::getU64(b.data() + 16);
    r.hs.vote = detail::getU64(b.data() + 24);
    r.hs.commit = detail::getU64(b.data() + 32);
    r.nodeId = detail::getU64(b.data() + 40);
    r.clusterId.assign(b.data() + 52, idLen);
    return r;
}

Result<HardStateFile> HardStateFile::open(const std::string& dir, Logger logger,
                                          std::shared_ptr<FileOps> ops) {
    if (!ops) ops = FileOps::posix();
    HardStateFile f(dir, std::move(logger), std::move(ops));
    const std::string tmp = dir + "/" + kTempName;
    if (::access(tmp.c_str(), F_OK) == 0) {
        if (f.logger_)
            f.logger_(LogLevel::Warning, "removing " + tmp + " left by an interrupted hard-state write");
        if (f.ops_->unlink(tmp.c_str()) != 0) return detail::sysError("cannot remove", tmp, errno);
    }
    const std::string path = dir + "/" + kFileName;
    const int fd = f.ops_->open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT) return f;  // never written: the empty initial state
        return detail::sysError("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        f.ops_->close(fd);
        return detail::sysError("cannot stat", path, err);
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxFile) {
        f.ops_->close(fd);
        return Status::error("hard-state file " + path + " is damaged: too large", EIO);
    }
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    Status rs = detail::readAllAt(*f.ops_, fd, path, bytes.data(), bytes.size(), 0);
    f.ops_->close(fd);
    if (!rs.ok()) return rs;
    auto rec = decode(bytes, path);
    if (!rec.ok()) return rec.status();
    f.current_ = rec.take();
    return f;
}

Status HardStateFile::write(const HardStateRecord& rec) {
    if (rec.clusterId.size() > HardStateRecord::kMaxClusterIdBytes)
        return Status::error("cluster id too long (" + std::to_string(rec.clusterId.size()) + " bytes)",
                             EINVAL);
    const std::string tmp = dir_ + "/" + kTempName;
    const std::string path = dir_ + "/" + kFileName;
    const std::string bytes = encode(rec);

    const int fd = ops_->open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return detail::sysError("cannot create", tmp, errno);
    auto failBeforeRename = [&](Status s, bool close) {
        if (close) ops_->close(fd);
        ops_->unlink(tmp.c_str());
        return s;
    };
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    if (Status s = detail::writeAllAt(*ops_, fd, tmp, {iov}, 0); !s.ok()) return failBeforeRename(s, true);
    if (ops_->fsync(fd) != 0) return failBeforeRename(detail::sysError("fsync", tmp, errno), true);
    if (ops_->close(fd) != 0) return failBeforeRename(detail::sysError("close", tmp, errno), false);
    if (ops_->rename(tmp.c_str(), path.c_str()) != 0)
        return failBeforeRename(detail::sysError("cannot rename " + tmp + " to", path, errno), false);
    current_ = rec;
    return detail::syncDir(*ops_, dir_);
}

}  // namespace raftwc::storage
