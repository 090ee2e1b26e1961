#include "storage/segmented_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "storage/crc32c.h"
#include "storage/io_util.h"
#include "storage/segment_format.h"

namespace raftwc::storage {

using raft::EntryType;
using raft::Index;
using raft::Term;
using namespace segment_format;

SegmentedLog::SegmentedLog(SegmentedLogOptions options) : opt_(std::move(options)), ops_(opt_.fileOps) {}

SegmentedLog::~SegmentedLog() {
    for (Segment& s : segments_)
        if (s.fd >= 0) ops_->close(s.fd);
}

void SegmentedLog::log(LogLevel level, const std::string& msg) const {
    if (opt_.logger) opt_.logger(level, msg);
}

std::string SegmentedLog::segmentPath(Index first) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020" PRIu64 ".seg", static_cast<std::uint64_t>(first));
    return opt_.dir + "/" + name;
}

Result<std::unique_ptr<SegmentedLog>> SegmentedLog::open(SegmentedLogOptions options) {
    if (!options.fileOps) options.fileOps = FileOps::posix();
    if (options.dir.empty()) return Status::error("log directory not set", EINVAL);
    if (options.segmentBytes < kSegHdr + kHdr)
        return Status::error("segment size too small: " + std::to_string(options.segmentBytes), EINVAL);
    if (options.maxPayloadBytes > 0xffffffffu - kHdr) options.maxPayloadBytes = 0xffffffffu - kHdr;
    std::unique_ptr<SegmentedLog> log(new SegmentedLog(std::move(options)));
    if (Status s = log->recover(); !s.ok()) return s;
    return log;
}

Status SegmentedLog::createSegment(Index first, Term prevTerm, Segment* out) {
    const std::string path = segmentPath(first);
    const int fd = ops_->open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return detail::sysError("cannot create segment", path, errno);
    const std::string h = encodeSegmentHeader(first, prevTerm);
    Status s = detail::writeAllAt(*ops_, fd, path, {iovec{const_cast<char*>(h.data()), h.size()}}, 0);
    if (s.ok() && ops_->fdatasync(fd) != 0) s = detail::sysError("fdatasync", path, errno);
    if (s.ok()) s = detail::syncDir(*ops_, opt_.dir);
    if (!s.ok()) {
        ops_->close(fd);
        ops_->unlink(path.c_str());
        return s;
    }
    *out = Segment{first, prevTerm, path, fd, kSegHdr};
    return {};
}

Index SegmentedLog::firstIndex() const {
    std::shared_lock lk(indexMutex_);
    return segments_.front().first;
}

Index SegmentedLog::lastIndex() const {
    std::shared_lock lk(indexMutex_);
    return segments_.front().first + entries_.size() - 1;
}

Term SegmentedLog::lastTerm() const {
    std::shared_lock lk(indexMutex_);
    return entries_.empty() ? segments_.front().prevTerm : entries_.back().term;
}

Term SegmentedLog::prevTerm() const {
    std::shared_lock lk(indexMutex_);
    return segments_.front().prevTerm;
}

std::optional<EntryInfo> SegmentedLog::info(Index i) const {
    std::shared_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    if (i < first || i - first >= entries_.size()) return std::nullopt;
    const Meta& m = entries_[i - first];
    return EntryInfo{m.term, m.type, m.length};
}

std::optional<Term> SegmentedLog::term(Index i) const {
    std::shared_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    if (i + 1 == first) return segments_.front().prevTerm;
    if (i < first || i - first >= entries_.size()) return std::nullopt;
    return entries_[i - first].term;
}

std::size_t SegmentedLog::segmentFor(Index i) const {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), i,
                               [](Index v, const Segment& s) { return v < s.first; });
    return static_cast<std::size_t>(it - segments_.begin()) - 1;
}

std::optional<RecordLocation> SegmentedLog::locate(Index i) const {
    std::shared_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    if (i < first || i - first >= entries_.size()) return std::nullopt;
    const Meta& m = entries_[i - first];
    return RecordLocation{segments_[segmentFor(i)].path, m.offset, m.length};
}

std::size_t SegmentedLog::segmentCount() const {
    std::shared_lock lk(indexMutex_);
    return segments_.size();
}

std::uint64_t SegmentedLog::bytes() const {
    std::shared_lock lk(indexMutex_);
    std::uint64_t n = 0;
    for (const Segment& s : segments_)
        n += s.size;
    return n;
}

std::uint64_t SegmentedLog::syncCount() const {
    return syncs_.load(std::memory_order_relaxed);
}

Status SegmentedLog::append(std::span<const Record> records) {
    if (records.empty()) return {};
    std::lock_guard w(writeMutex_);
    // Only writers (serialized by writeMutex_) change segments_/entries_, so reading them here is safe.
    const Index last = segments_.front().first + entries_.size() - 1;
    Term prevT = entries_.empty() ? segments_.front().prevTerm : entries_.back().term;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        if (r.index != last + 1 + i)
            return Status::error("append: entry index " + std::to_string(r.index) +
                                     " does not follow index " + std::to_string(last + i) + " in " + opt_.dir,
                                 EINVAL);
        if (r.term < prevT)
            return Status::error("append: entry " + std::to_string(r.index) + " has term " +
                                     std::to_string(r.term) + " lower than the previous term " +
                                     std::to_string(prevT),
                                 EINVAL);
        if (!validType(static_cast<std::uint8_t>(r.type)))
            return Status::error("append: entry " + std::to_string(r.index) + " has an invalid type", EINVAL);
        if (r.payload.size() > opt_.maxPayloadBytes)
            return Status::error("append: entry " + std::to_string(r.index) + " payload of " +
                                     std::to_string(r.payload.size()) + " bytes exceeds the limit of " +
                                     std::to_string(opt_.maxPayloadBytes),
                                 EINVAL);
        prevT = r.term;
    }
    if (tailDirty_) {
        const Segment& seg = segments_.back();
        if (ops_->ftruncate(seg.fd, static_cast<off_t>(seg.size)) != 0)
            return detail::sysError("cannot cut back the failed tail of", seg.path, errno);
        tailDirty_ = false;
    }

    const Index batchFirst = records.front().index;
    auto fail = [&](Status s) {
        const Segment& seg = segments_.back();
        if (ops_->ftruncate(seg.fd, static_cast<off_t>(seg.size)) != 0) tailDirty_ = true;
        if (segments_.front().first + entries_.size() > batchFirst) {
            // Part of the batch was synced into an earlier segment before a roll: take it back out.
            Status t = truncateSuffixLocked(batchFirst);
            if (!t.ok())
                s = Status::error(s.message() + "; undoing the partial batch also failed: " + t.message(),
                                  s.sysErrno());
        }
        return s;
    };

    std::vector<std::array<char, kHdr>> headers(records.size());
    for (std::size_t i = 0; i < records.size(); ++i)
        encodeRecordHeader(headers[i].data(), records[i]);

    std::size_t i = 0;
    std::vector<iovec> iov;
    std::vector<Meta> metas;
    while (i < records.size()) {
        Segment& seg = segments_.back();
        std::uint64_t pos = seg.size;
        iov.clear();
        metas.clear();
        while (i < records.size()) {
            const Record& r = records[i];
            const std::uint64_t bytes = kHdr + r.payload.size();
            if (pos > kSegHdr && pos + bytes > opt_.segmentBytes)
                break;  // roll (an empty segment takes any record)
            iov.push_back(iovec{headers[i].data(), kHdr});
            if (!r.payload.empty())
                iov.push_back(iovec{const_cast<char*>(r.payload.data()), r.payload.size()});
            metas.push_back(Meta{pos, r.term, static_cast<std::uint32_t>(r.payload.size()), r.type});
            pos += bytes;
            ++i;
        }
        if (!metas.empty()) {
            if (Status s = detail::writeAllAt(*ops_, seg.fd, seg.path, iov, seg.size); !s.ok())
                return fail(s);
            if (ops_->fdatasync(seg.fd) != 0) return fail(detail::sysError("fdatasync", seg.path, errno));
            syncs_.fetch_add(1, std::memory_order_relaxed);
            std::unique_lock lk(indexMutex_);
            entries_.insert(entries_.end(), metas.begin(), metas.end());
            seg.size = pos;
        }
        if (i < records.size()) {
            // The full segment is synced; only now may a successor exist (recovery never treats damage in a
            // non-last segment as a torn write).
            Segment next;
            const Term before = i > 0
                                    ? records[i - 1].term
                                    : (entries_.empty() ? segments_.front().prevTerm : entries_.back().term);
            if (Status s = createSegment(records[i].index, before, &next); !s.ok()) return fail(s);
            std::unique_lock lk(indexMutex_);
            segments_.push_back(next);
        }
    }
    return {};
}

Result<raft::Entry> SegmentedLog::read(Index i) const {
    std::shared_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    if (i < first || i - first >= entries_.size())
        return Status::error("read: index " + std::to_string(i) + " is outside the log [" +
                                 std::to_string(first) + ", " + std::to_string(first + entries_.size() - 1) +
                                 "]",
                             ERANGE);
    const Meta& m = entries_[i - first];
    const Segment& seg = segments_[segmentFor(i)];
    std::string buf(kHdr + m.length, '\0');
    if (Status s = detail::readAllAt(*ops_, seg.fd, seg.path, buf.data(), buf.size(), m.offset); !s.ok())
        return s;
    const RecordHeader r = decodeRecordHeader(buf.data());
    const std::uint32_t crc = crc32c(buf.data() + 4, buf.size() - 4);
    if (crc != r.crc || r.index != i || r.length != m.length || r.term != m.term)
        return Status::error("corrupt log record in " + offsetText(seg.path, m.offset) + " (entry " +
                                 std::to_string(i) + ") changed on disk since it was verified",
                             EIO);
    raft::Entry e;
    e.term = r.term;
    e.index = r.index;
    e.type = static_cast<EntryType>(r.type);
    e.data.assign(buf.data() + kHdr, m.length);
    return e;
}

Status SegmentedLog::readPayload(Index i, std::uint64_t offset, std::size_t length, char* out) const {
    std::shared_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    if (i < first || i - first >= entries_.size())
        return Status::error("readPayload: index " + std::to_string(i) + " is outside the log", ERANGE);
    const Meta& m = entries_[i - first];
    if (offset > m.length || length > m.length - offset)
        return Status::error("readPayload: range [" + std::to_string(offset) + ", +" +
                                 std::to_string(length) + ") is outside the " + std::to_string(m.length) +
                                 "-byte payload of entry " + std::to_string(i),
                             ERANGE);
    const Segment& seg = segments_[segmentFor(i)];
    return detail::readAllAt(*ops_, seg.fd, seg.path, out, length, m.offset + kHdr + offset);
}

Status SegmentedLog::truncateSuffix(Index fromIndex) {
    std::lock_guard w(writeMutex_);
    return truncateSuffixLocked(fromIndex);
}

Status SegmentedLog::truncateSuffixLocked(Index from) {
    std::unique_lock lk(indexMutex_);
    const Index first = segments_.front().first;
    const Index last = first + entries_.size() - 1;
    if (from > last) return {};
    if (from < first)
        return Status::error("truncateSuffix: index " + std::to_string(from) + " is before the first index " +
                                 std::to_string(first),
                             EINVAL);
    // Delete whole segments from the back first and make that durable, then cut the one holding `from`:
    // a crash in between leaves a valid (longer) log, never a gap.
    bool removed = false;
    while (segments_.size() > 1 && segments_.back().first >= from) {
        Segment& s = segments_.back();
        if (ops_->unlink(s.path.c_str()) != 0)
            return detail::sysError("cannot remove segment", s.path, errno);
        ops_->close(s.fd);
        entries_.resize(s.first - first);
        segments_.pop_back();
        removed = true;
        tailDirty_ = false;
    }
    if (removed)
        if (Status s = detail::syncDir(*ops_, opt_.dir); !s.ok()) return s;
    Segment& seg = segments_.back();
    const std::uint64_t off = from - first < entries_.size() ? entries_[from - first].offset : seg.size;
    if (ops_->ftruncate(seg.fd, static_cast<off_t>(off)) != 0)
        return detail::sysError("cannot truncate segment", seg.path, errno);
    if (ops_->fdatasync(seg.fd) != 0) return detail::sysError("fdatasync", seg.path, errno);
    seg.size = off;
    entries_.resize(from - first);
    tailDirty_ = false;
    return {};
}

Status SegmentedLog::dropPrefix(Index upto) {
    std::lock_guard w(writeMutex_);
    const Index first = segments_.front().first;
    const Index last = first + entries_.size() - 1;
    if (upto < first) return {};
    if (upto >= last && segments_.back().size > kSegHdr) {
        Segment next;
        const Term lastT = entries_.empty() ? segments_.front().prevTerm : entries_.back().term;
        if (Status s = createSegment(last + 1, lastT, &next); !s.ok()) return s;
        std::unique_lock lk(indexMutex_);
        segments_.push_back(next);
    }
    bool removed = false;
    // Front first: a crash part-way leaves a contiguous suffix of segments, which is a valid log.
    while (segments_.size() > 1 && segments_[1].first - 1 <= upto) {
        std::unique_lock lk(indexMutex_);
        Segment& s = segments_.front();
        if (ops_->unlink(s.path.c_str()) != 0)
            return detail::sysError("cannot remove segment", s.path, errno);
        ops_->close(s.fd);
        entries_.erase(entries_.begin(),
                       entries_.begin() + static_cast<std::ptrdiff_t>(segments_[1].first - s.first));
        segments_.erase(segments_.begin());
        removed = true;
    }
    if (removed) return detail::syncDir(*ops_, opt_.dir);
    return {};
}

Status SegmentedLog::reset(Index first, Term prevTerm) {
    std::lock_guard w(writeMutex_);
    // Front first, like dropPrefix: a crash part-way leaves a contiguous suffix of segments.
    while (!segments_.empty()) {
        std::unique_lock lk(indexMutex_);
        Segment& seg = segments_.front();
        if (ops_->unlink(seg.path.c_str()) != 0)
            return detail::sysError("cannot remove segment", seg.path, errno);
        ops_->close(seg.fd);
        const std::size_t n =
            segments_.size() > 1 ? static_cast<std::size_t>(segments_[1].first - seg.first) : entries_.size();
        entries_.erase(entries_.begin(),
                       entries_.begin() + static_cast<std::ptrdiff_t>(std::min(n, entries_.size())));
        segments_.erase(segments_.begin());
        if (segments_.empty()) {
            // Readers never see an empty segment list: the new segment replaces the last one under the lock.
            Segment next;
            if (Status s = createSegment(first, prevTerm, &next); !s.ok()) {
                segments_.push_back(Segment{first, prevTerm, segmentPath(first), -1, kSegHdr});
                return s;
            }
            segments_.push_back(next);
            entries_.clear();
            tailDirty_ = false;
            return {};
        }
    }
    return {};
}

}  // namespace raftwc::storage
