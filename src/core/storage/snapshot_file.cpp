#include "storage/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/crc32c.h"
#include "storage/io_util.h"

namespace raftwc::storage {

namespace {

constexpr char kMagic[8] = {'R', 'W', 'C', 'S', 'N', 'A', 'P', '\0'};
constexpr std::size_t kHeaderBytes = 48;  // magic, version, crc, index, term, voters, learners, data length
constexpr std::uint32_t kMaxMembers = 1u << 16;

bool sortedDistinct(const std::vector<raft::NodeId>& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == raft::kNoNode || (i > 0 && ids[i] <= ids[i - 1])) return false;
    return true;
}

}  // namespace

std::string encodeSnapshotFile(const raft::Snapshot& s) {
    const auto& cs = s.meta.conf;
    std::string out(kHeaderBytes + 8 * (cs.voters.size() + cs.learners.size()) + s.data.size(), '\0');
    char* p = out.data();
    std::memcpy(p, kMagic, 8);
    detail::putU32(p + 8, kSnapshotFileVersion);
    detail::putU64(p + 16, s.meta.index);
    detail::putU64(p + 24, s.meta.term);
    detail::putU32(p + 32, static_cast<std::uint32_t>(cs.voters.size()));
    detail::putU32(p + 36, static_cast<std::uint32_t>(cs.learners.size()));
    detail::putU64(p + 40, s.data.size());
    std::size_t at = kHeaderBytes;
    for (const auto* list : {&cs.voters, &cs.learners})
        for (raft::NodeId id : *list) {
            detail::putU64(p + at, id);
            at += 8;
        }
    std::memcpy(p + at, s.data.data(), s.data.size());
    detail::putU32(p + 12, crc32c(p + 16, out.size() - 16));
    return out;
}

std::optional<raft::Snapshot> decodeSnapshotFile(std::string_view b, std::string* why) {
    auto bad = [&](const char* reason) -> std::optional<raft::Snapshot> {
        if (why) *why = reason;
        return std::nullopt;
    };
    if (b.size() < kHeaderBytes) return bad("shorter than its header");
    const char* p = b.data();
    if (std::memcmp(p, kMagic, 8) != 0) return bad("not a raftwc snapshot (bad magic)");
    if (detail::getU32(p + 8) != kSnapshotFileVersion) return bad("unknown snapshot format version");
    const std::uint32_t voters = detail::getU32(p + 32), learners = detail::getU32(p + 36);
    const std::uint64_t dataLen = detail::getU64(p + 40);
    if (voters > kMaxMembers || learners > kMaxMembers || dataLen > kMaxSnapshotDataBytes)
        return bad("member count or data length out of range");
    const std::uint64_t total = kHeaderBytes + 8ull * (voters + learners) + dataLen;
    if (b.size() != total) return bad(b.size() < total ? "truncated" : "trailing bytes");
    if (crc32c(p + 16, b.size() - 16) != detail::getU32(p + 12)) return bad("checksum mismatch");
    raft::Snapshot s;
    s.meta.index = detail::getU64(p + 16);
    s.meta.term = detail::getU64(p + 24);
    std::size_t at = kHeaderBytes;
    for (std::uint32_t i = 0; i < voters; ++i, at += 8)
        s.meta.conf.voters.push_back(detail::getU64(p + at));
    for (std::uint32_t i = 0; i < learners; ++i, at += 8)
        s.meta.conf.learners.push_back(detail::getU64(p + at));
    s.data.assign(p + at, dataLen);
    if (s.meta.index == 0 || s.meta.term == 0) return bad("index or term 0");
    if (!sortedDistinct(s.meta.conf.voters) || !sortedDistinct(s.meta.conf.learners) ||
        s.meta.conf.voters.empty())
        return bad("member lists empty, unsorted or with duplicates");
    for (raft::NodeId v : s.meta.conf.voters)
        if (s.meta.conf.isLearner(v)) return bad("a member is both voter and learner");
    return s;
}

Status writeSnapshotFile(FileOps& ops, const std::string& dir, const raft::Snapshot& s) {
    const std::string tmp = dir + "/snapshot.tmp", path = dir + "/snapshot";
    const std::string bytes = encodeSnapshotFile(s);
    const int fd = ops.open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return detail::sysError("cannot create snapshot", tmp, errno);
    Status st = detail::writeAllAt(ops, fd, tmp, {iovec{const_cast<char*>(bytes.data()), bytes.size()}}, 0);
    if (st.ok() && ops.fsync(fd) != 0) st = detail::sysError("fsync", tmp, errno);
    ops.close(fd);
    if (st.ok() && ops.rename(tmp.c_str(), path.c_str()) != 0)
        st = detail::sysError("cannot rename", tmp, errno);
    if (!st.ok()) {
        ops.unlink(tmp.c_str());
        return st;
    }
    return detail::syncDir(ops, dir);
}

Result<std::optional<raft::Snapshot>> readSnapshotFile(FileOps& ops, const std::string& dir) {
    const std::string tmp = dir + "/snapshot.tmp", path = dir + "/snapshot";
    if (ops.unlink(tmp.c_str()) == 0) {  // never renamed: the write it belonged to did not happen
        if (Status s = detail::syncDir(ops, dir); !s.ok()) return s;
    }
    const int fd = ops.open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<raft::Snapshot>{};
        return detail::sysError("cannot open snapshot", path, errno);
    }
    std::string bytes;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ops.pread(fd, buf, sizeof buf, static_cast<off_t>(bytes.size()));
        if (n < 0) {
            const int err = errno;
            ops.close(fd);
            return detail::sysError("cannot read snapshot", path, err);
        }
        if (n == 0) break;
        bytes.append(buf, static_cast<std::size_t>(n));
        if (bytes.size() > kMaxSnapshotDataBytes + (1u << 22)) break;  // decode reports the size
    }
    ops.close(fd);
    std::string why;
    auto s = decodeSnapshotFile(bytes, &why);
    if (!s)
        return Status::error(
            "snapshot " + path + " is damaged (" + why +
                "); the log before it is gone, so the node cannot start from this directory: "
                "restore it from a backup, or remove it so the node rejoins as a new member",
            EIO);
    return std::optional<raft::Snapshot>(std::move(*s));
}

}  // namespace raftwc::storage
