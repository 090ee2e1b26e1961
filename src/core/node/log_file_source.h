// LogFileSource: a stored file as a wordcount::ByteSource — each read is served by pread from the payloads
// of the file's chunk entries in the log segments (SegmentedLog is safe to read from worker threads), so
// each member counts its shard from its own copy of the log.
#pragma once

#include <vector>

#include "node/statemachine.h"
#include "storage/segmented_log.h"
#include "wordcount/wordcount.h"

namespace raftwc::node {

class LogFileSource final : public wordcount::ByteSource {
  public:
    LogFileSource(const storage::SegmentedLog& log, std::vector<ChunkRef> chunks)
        : log_(log), chunks_(std::move(chunks)) {}
    bool read(std::uint64_t offset, std::size_t len, char* out) const override {
        auto it = std::upper_bound(chunks_.begin(), chunks_.end(), offset,
                                   [](std::uint64_t off, const ChunkRef& c) { return off < c.fileOffset; });
        if (it == chunks_.begin()) return len == 0;
        --it;
        while (len > 0) {
            if (it == chunks_.end() || offset < it->fileOffset || offset >= it->fileOffset + it->length)
                return false;
            const std::uint64_t within = offset - it->fileOffset;
            const std::size_t n = std::size_t(std::min<std::uint64_t>(len, it->length - within));
            if (!log_.readPayload(it->index, kChunkHeaderBytes + within, n, out).ok()) return false;
            out += n;
            offset += n;
            len -= n;
            ++it;
        }
        return true;
    }

  private:
    const storage::SegmentedLog& log_;
    std::vector<ChunkRef> chunks_;
};

}  // namespace raftwc::node
