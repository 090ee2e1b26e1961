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

namespace raftwc::storage {

using raft::EntryType;
using raft::Index;
using raft::Term;

namespace {

constexpr char kSegmentMagic[8] = {'R', 'W', 'C', 'L', 'O', 'G', 'S', 'G'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kHdr = SegmentedLog::kRecordHeaderBytes;
constexpr std::uint32_t kSegHdr = SegmentedLog::kSegmentHeaderBytes;
constexpr std::size_t kWindow = 1u << 20;  // recovery read buffer
constexpr std::uint64_t kSector = 512;     // the unit a torn write leaves zero-filled

bool validType(std::uint8_t t) {
    return t >= 1 && t <= 3;
}

void encodeRecordHeader(char* h, const Record& r) {
    std::memset(h, 0, kHdr);
    detail::putU32(h + 4, static_cast<std::uint32_t>(r.payload.size()));
    h[8] = static_cast<char>(r.type);
    detail::putU64(h + 16, r.term);
    detail::putU64(h + 24, r.index);
    std::uint32_t crc = crc32c(h + 4, kHdr - 4);
    crc = crc32cExtend(crc, r.payload.data(), r.payload.size());
    detail::putU32(h, crc);
}

struct RecordHeader {
    std::uint32_t crc;
    std::uint32_t length;
    std::uint8_t type;
    bool reservedZero;
    Term term;
    Index index;
};

RecordHeader decodeRecordHeader(const char* h) {
    RecordHeader r{};
    r.crc = detail::getU32(h);
    r.length = detail::getU32(h + 4);
    r.type = static_cast<std::uint8_t>(h[8]);
    r.reservedZero = std::all_of(h + 9, h + 16, [](char c) { return c == 0; });
    r.term = detail::getU64(h + 16);
    r.index = detail::getU64(h + 24);
    return r;
}

std::string encodeSegmentHeader(Index first, Term prevTerm) {
    std::string h(kSegHdr, '\0');
    std::memcpy(h.data(), kSegmentMagic, 8);
    detail::putU32(h.data() + 8, kFormatVersion);
    detail::putU32(h.data() + 12, kSegHdr);
    detail::putU64(h.data() + 16, first);
    detail::putU64(h.data() + 24, prevTerm);
    detail::putU32(h.data() + 32, crc32c(h.data(), 32));
    return h;
}

/// Sequential reads through a buffer (recovery reads every byte of every segment once).
class WindowReader {
  public:
    WindowReader(FileOps& ops, int fd, const std::string& path, std::uint64_t size)
        : ops_(ops), fd_(fd), path_(path), size_(size) {}
    /// Pointer to [off, off + n), n <= kWindow, off + n <= size.
    const char* get(std::uint64_t off, std::size_t n, Status& st) {
        if (off < bufOff_ || off + n > bufOff_ + buf_.size()) {
            const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kWindow, size_ - off));
            buf_.resize(len);
            bufOff_ = off;
            st = detail::readAllAt(ops_, fd_, path_, buf_.data(), len, off);
            if (!st.ok()) {
                buf_.clear();
                return nullptr;
            }
        }
        return buf_.data() + (off - bufOff_);
    }

  private:
    FileOps& ops_;
    int fd_;
    const std::string& path_;
    std::uint64_t size_;
    std::uint64_t bufOff_ = 0;
    std::string buf_;
};

std::string offsetText(const std::string& path, std::uint64_t off) {
    return path + " at byte offset " + std::to_string(off);
}

}  // namespace

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

Status SegmentedLog::recover() {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(opt_.dir, ec)) {
        fs::create_directories(opt_.dir, ec);
        if (ec)
            return Status::error("cannot create log directory " + opt_.dir + ": " + ec.message(), ec.value());
        const fs::path parent = fs::path(opt_.dir).parent_path();
        if (Status s = detail::syncDir(*ops_, parent.empty() ? std::string(".") : parent.string()); !s.ok())
            return s;
    }
    std::vector<std::pair<Index, std::string>> files;
    for (fs::directory_iterator it(opt_.dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        Index first = 0;
        if (name.size() != 24 || name.substr(20) != ".seg" ||
            std::from_chars(name.data(), name.data() + 20, first).ec != std::errc() || first == 0) {
            log(LogLevel::Debug, "ignoring " + it->path().string() + " (not a segment file)");
            continue;
        }
        files.emplace_back(first, it->path().string());
    }
    if (ec) return Status::error("cannot list log directory " + opt_.dir + ": " + ec.message(), ec.value());
    std::sort(files.begin(), files.end());
    for (std::size_t k = 0; k < files.size(); ++k) {
        const int fd = ops_->open(files[k].second.c_str(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) return detail::sysError("cannot open segment", files[k].second, errno);
        segments_.push_back(Segment{files[k].first, 0, files[k].second, fd, 0});
        if (Status s = recoverSegment(segments_.size() - 1, k + 1 == files.size()); !s.ok()) return s;
    }
    if (segments_.empty()) {
        Segment seg;
        if (Status s = createSegment(1, 0, &seg); !s.ok()) return s;
        segments_.push_back(seg);
    }
    log(LogLevel::Info, "log " + opt_.dir + ": " + std::to_string(segments_.size()) +
                            " segment(s), entries " + std::to_string(firstIndex()) + ".." +
                            std::to_string(lastIndex()));
    return {};
}

Status SegmentedLog::recoverSegment(std::size_t k, bool last) {
    Segment& seg = segments_[k];
    struct stat st {};
    if (::fstat(seg.fd, &st) != 0) return detail::sysError("cannot stat", seg.path, errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const Index expectedFirst = k == 0 ? seg.first : segments_.front().first + entries_.size();
    const Term termBefore =
        k == 0 ? 0 : (entries_.empty() ? segments_.front().prevTerm : entries_.back().term);
    if (seg.first != expectedFirst)
        return Status::error("log segment " + seg.path + " starts at index " + std::to_string(seg.first) +
                                 " but the previous segment ends at index " +
                                 std::to_string(expectedFirst - 1) + " (missing or extra segment file)",
                             EIO);

    // Segment header.
    std::string why;
    char h[kSegHdr];
    if (size < kSegHdr) {
        why = "segment header incomplete (" + std::to_string(size) + " bytes)";
    } else {
        if (Status s = detail::readAllAt(*ops_, seg.fd, seg.path, h, kSegHdr, 0); !s.ok()) return s;
        if (std::memcmp(h, kSegmentMagic, 8) != 0)
            why = "bad segment magic";
        else if (detail::getU32(h + 32) != crc32c(h, 32))
            why = "segment header checksum mismatch";
        else if (detail::getU32(h + 36) != 0)
            why = "reserved segment header bytes are not zero";
        else if (detail::getU32(h + 8) != kFormatVersion)
            why = "unsupported format version " + std::to_string(detail::getU32(h + 8));
        else if (detail::getU32(h + 12) != kSegHdr)
            why = "bad segment header size";
        else if (detail::getU64(h + 16) != seg.first)
            why = "header says first index " + std::to_string(detail::getU64(h + 16)) + ", file name says " +
                  std::to_string(seg.first);
        else if (k > 0 && detail::getU64(h + 24) != termBefore)
            why = "header says previous term " + std::to_string(detail::getU64(h + 24)) +
                  " but the previous segment ends with term " + std::to_string(termBefore);
    }
    if (!why.empty()) {
        // A segment is created with its header synced before any record: a damaged header with nothing
        // after it in the last segment is an interrupted roll. Only a segment we can re-create is dropped.
        if (last && size <= kSegHdr && (k > 0 || seg.first == 1)) {
            log(LogLevel::Warning, "removing log segment " + seg.path + " with a torn header (" + why +
                                       "), left by an interrupted segment roll");
            if (ops_->unlink(seg.path.c_str()) != 0)
                return detail::sysError("cannot remove", seg.path, errno);
            ops_->close(seg.fd);
            segments_.pop_back();
            return detail::syncDir(*ops_, opt_.dir);
        }
        return Status::error("corrupt log segment header in " + offsetText(seg.path, 0) + ": " + why, EIO);
    }
    seg.prevTerm = detail::getU64(h + 24);

    WindowReader rd(*ops_, seg.fd, seg.path, size);
    std::uint64_t off = kSegHdr;
    Index expected = seg.first;
    Term prevT = k == 0 ? seg.prevTerm : termBefore;
    while (off < size) {
        Status rs;
        std::string structural;  // damage a torn write can cause
        std::string logical;     // damage it cannot (checksum fine but contents wrong)
        RecordHeader r{};
        if (size - off < kHdr) {
            structural = "incomplete record header (" + std::to_string(size - off) + " bytes)";
        } else {
            const char* p = rd.get(off, kHdr, rs);
            if (!p) return rs;
            r = decodeRecordHeader(p);
            if (r.length > opt_.maxPayloadBytes) {
                structural = "record length " + std::to_string(r.length) + " exceeds the limit";
            } else if (size - off - kHdr < r.length) {
                structural =
                    "record extends past the end of the file (length " + std::to_string(r.length) + ")";
            } else {
                std::uint32_t crc = crc32c(p + 4, kHdr - 4);
                for (std::uint64_t pos = 0; pos < r.length;) {
                    const std::size_t chunk =
                        static_cast<std::size_t>(std::min<std::uint64_t>(kWindow, r.length - pos));
                    const char* q = rd.get(off + kHdr + pos, chunk, rs);
                    if (!q) return rs;
                    crc = crc32cExtend(crc, q, chunk);
                    pos += chunk;
                }
                if (crc != r.crc)
                    structural = "checksum mismatch";
                else if (!r.reservedZero)
                    logical = "reserved header bytes are not zero";
                else if (!validType(r.type))
                    logical = "unknown record type " + std::to_string(r.type);
                else if (r.index != expected)
                    logical = "record has index " + std::to_string(r.index) + ", expected " +
                              std::to_string(expected);
                else if (r.term < prevT)
                    logical = "term " + std::to_string(r.term) + " is lower than the previous term " +
                              std::to_string(prevT);
            }
        }
        if (structural.empty() && logical.empty()) {
            entries_.push_back(Meta{off, r.term, r.length, static_cast<EntryType>(r.type)});
            prevT = r.term;
            ++expected;
            off += kHdr + r.length;
            continue;
        }
        if (!structural.empty() && last) {
            // Torn (docs/STORAGE.md, "What counts as torn"): only a tail that is provably unwritten.
            //  - short: the header or the payload runs past the end of the file, and no complete,
            //    checksummed record follows (a write cut short);
            //  - zero-filled: a complete record fails its checksum and holds a whole zero 512-byte sector
            //    (by file offset), or everything from it to the end of the file is zero: pages of a write
            //    that was never synced. Later records of that unsynced batch may have reached the disk
            //    (writes are reordered before fdatasync): they are dropped with it, since nothing at or
            //    after the torn record was ever acknowledged.
            // A complete record with a bad checksum and no zero sector is a bit flip: an error.
            std::string rest(static_cast<std::size_t>(size - off), '\0');
            if (Status s = detail::readAllAt(*ops_, seg.fd, seg.path, rest.data(), rest.size(), off); !s.ok())
                return s;
            const bool checksumOnly = structural == "checksum mismatch";
            bool torn = false;
            std::string kind;
            if (std::all_of(rest.begin(), rest.end(), [](char ch) { return ch == 0; })) {
                torn = true;
                kind = "zero-filled tail";
            } else if (checksumOnly) {
                // A device writes whole sectors: a sector that never reached the disk still holds what
                // was there before, zeros past the old end of the file. So the record's part of some
                // sector is all zeros (a partial part at its start, after synced data that shares the
                // sector, or at its end, or a whole sector in between).
                const std::uint64_t end = off + kHdr + r.length;
                for (std::uint64_t sec = off / kSector * kSector; sec < end && !torn; sec += kSector) {
                    const std::uint64_t lo = std::max(sec, off), hi = std::min(sec + kSector, end);
                    const char* q = rest.data() + (lo - off);
                    torn = std::all_of(q, q + (hi - lo), [](char ch) { return ch == 0; });
                }
                kind = "record with a zero-filled sector";
                if (!torn)
                    structural +=
                        " in a complete record that is not zero-filled (a bit flip, not a torn write)";
            } else {
                std::optional<std::uint64_t> later;
                for (std::size_t p = 1; p + kHdr <= rest.size() && !later; ++p) {
                    const RecordHeader c = decodeRecordHeader(rest.data() + p);
                    if (!c.reservedZero || !validType(c.type) || c.index < expected ||
                        c.index > expected + size || c.length > rest.size() - p - kHdr)
                        continue;
                    std::uint32_t crc = crc32c(rest.data() + p + 4, kHdr - 4);
                    crc = crc32cExtend(crc, rest.data() + p + kHdr, c.length);
                    if (crc == c.crc) later = off + p;
                }
                torn = !later;
                kind = "short write";
                if (later) structural += "; a valid record follows at byte offset " + std::to_string(*later);
            }
            if (torn) {
                log(LogLevel::Warning,
                    "truncating torn tail of the log (" + kind + "): " + offsetText(seg.path, off) + " (" +
                        structural + "), dropping " + std::to_string(size - off) + " byte(s) from entry " +
                        std::to_string(expected) + " on; they were never synced, so never acknowledged");
                if (ops_->ftruncate(seg.fd, static_cast<off_t>(off)) != 0)
                    return detail::sysError("cannot truncate torn tail of", seg.path, errno);
                if (ops_->fdatasync(seg.fd) != 0) return detail::sysError("fdatasync", seg.path, errno);
                break;
            }
        }
        return Status::error("corrupt log record in " + offsetText(seg.path, off) + ": " +
                                 (structural.empty() ? logical : structural) + " (expected entry " +
                                 std::to_string(expected) +
                                 "); refusing to start rather than drop entries (restore the data directory "
                                 "from a backup, or remove it so the node rejoins as a new member)",
                             EIO);
    }
    seg.size = off;
    return {};
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

}  // namespace raftwc::storage
