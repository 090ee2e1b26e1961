// The on-disk format of log segments (docs/STORAGE.md): magic, header and record framing, and the buffered
// reader recovery uses. Internal to storage: shared by the log's writer (segmented_log.cpp) and its recovery
// (segmented_log_recovery.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "raft/types.h"
#include "storage/crc32c.h"
#include "storage/file_ops.h"
#include "storage/io_util.h"
#include "storage/segmented_log.h"

namespace raftwc::storage::segment_format {

using raft::EntryType;
using raft::Index;
using raft::Term;

constexpr char kSegmentMagic[8] = {'R', 'W', 'C', 'L', 'O', 'G', 'S', 'G'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kHdr = SegmentedLog::kRecordHeaderBytes;
constexpr std::uint32_t kSegHdr = SegmentedLog::kSegmentHeaderBytes;
constexpr std::size_t kWindow = 1u << 20;  // recovery read buffer
constexpr std::uint64_t kSector = 512;     // the unit a torn write leaves zero-filled

inline bool validType(std::uint8_t t) {
    return t >= 1 && t <= 3;
}

inline void encodeRecordHeader(char* h, const Record& r) {
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

inline RecordHeader decodeRecordHeader(const char* h) {
    RecordHeader r{};
    r.crc = detail::getU32(h);
    r.length = detail::getU32(h + 4);
    r.type = static_cast<std::uint8_t>(h[8]);
    r.reservedZero = std::all_of(h + 9, h + 16, [](char c) { return c == 0; });
    r.term = detail::getU64(h + 16);
    r.index = detail::getU64(h + 24);
    return r;
}

inline std::string encodeSegmentHeader(Index first, Term prevTerm) {
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

inline std::string offsetText(const std::string& path, std::uint64_t off) {
    return path + " at byte offset " + std::to_string(off);
}

}  // namespace raftwc::storage::segment_format
