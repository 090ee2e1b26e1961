// SegmentedLog recovery at open: every segment is checked record by record; a tail that is provably
// unwritten (a short write, zero-filled, or a record with a zero-filled sector) is torn and dropped, any
// other damage is an error (docs/STORAGE.md, "Recovery").
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

}  // namespace raftwc::storage
