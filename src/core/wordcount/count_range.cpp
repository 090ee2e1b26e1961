#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "wordcount/kernel.h"
#include "wordcount/normalize.h"
#include "wordcount/wordcount.h"

namespace raftwc::wordcount {

namespace {

constexpr std::size_t kFront = 128;  // room for the unprocessed tail carried to the next read
constexpr std::size_t kBack = 256;   // zero padding after the data for the final partial block
constexpr std::size_t kGroupBlocks = 64;
constexpr std::size_t kPastEndRead = 4096;
// Bytes needed after the last processed block: 2 for a separator, 5 for a 6-byte character.
constexpr std::size_t kLookahead =
    std::max<std::size_t>(2, detail::kCharLookahead);  // read size while finishing the last word past the end

struct AlignedFree {
    void operator()(unsigned char* p) const { std::free(p); }
};

/// Separator state at a range start: whether byte off-1 is a separator (true at the file start), and
/// separator bits of bytes off, off+1 covered by a separator that starts before off.
struct StartState {
    std::uint64_t prevSep = 1;
    std::uint64_t carry = 0;
};

bool startState(const ByteSource& src, std::uint64_t fileSize, std::uint64_t off, StartState& st) {
    if (off == 0) return true;
    // win[i] is the byte at off - 3 + i (zero outside the file).
    unsigned char win[8] = {};
    const std::uint64_t from = off >= 3 ? off - 3 : 0;
    const std::uint64_t to = std::min<std::uint64_t>(fileSize, off + 2);
    if (!src.read(from, static_cast<std::size_t>(to - from), reinterpret_cast<char*>(win + (from + 3 - off))))
        return false;
    unsigned sepBits = 0;  // bit i = byte off - 3 + i
    for (auto i = static_cast<unsigned>(from + 3 - off); i < 3; ++i) {
        if (detail::isAsciiSeparator(win[i])) {
            sepBits |= 1u << i;
        } else if (const unsigned len = detail::utf8SeparatorLength(win + i)) {
            sepBits |= ((1u << len) - 1) << i;
        }
    }
    st.prevSep = (sepBits >> 2) & 1;
    st.carry = (sepBits >> 3) & 3;
    return true;
}

class Counter {
  public:
    Counter(const ByteSource& src, std::uint64_t fileSize, ShardSpec shard, const CountOptions& opt)
        : src_(src), fileSize_(fileSize), off_(shard.offset), end_(shard.offset + shard.length), opt_(opt) {
        const Kernel k = kernelSupported(opt.kernel) ? opt.kernel : Kernel::Auto;
        classify_ = detail::classifier(k);
        totals_ = detail::totalsKernel(k);
        linesFn_ = detail::linesKernel(k);
        bufBytes_ = std::max<std::size_t>(4096, (opt.bufferBytes + 63) / 64 * 64);
        // Room for the words expected (a hint), so the table does not grow step by step; never more than
        // the range could hold (one word per two bytes).
        if (opt.mode != FreqMode::None && opt.expectedDistinct > 0)
            table_.reserve(std::size_t(std::min<std::uint64_t>(opt.expectedDistinct, shard.length / 2 + 1)));
    }

    /// False with *needsMore set when the file is growing and the range needs bytes not known yet.
    bool run(ShardCounts& out, std::string& error, bool* needsMore) {
        const bool freq = opt_.mode != FreqMode::None;
        if (opt_.growing && fileSize_ - end_ < kLookahead) {
            *needsMore = true;
            error = "the range's last characters need bytes past the known end " + std::to_string(fileSize_);
            return false;
        }
        StartState st;
        if (!startState(src_, fileSize_, off_, st)) {
            error = "read failed before offset " + std::to_string(off_);
            return false;
        }
        prevSep_ = totalsState_.prevSep = st.prevSep;
        carry_ = totalsState_.carry = st.carry;
        const std::size_t cap = kFront + bufBytes_ + kBack;
        std::unique_ptr<unsigned char, AlignedFree> mem(
            static_cast<unsigned char*>(std::aligned_alloc(64, cap)));
        if (!mem) {
            error = "out of memory";
            return false;
        }
        unsigned char* const fresh = mem.get() + kFront;
        const std::uint64_t readLimit = freq ? fileSize_ : std::min(fileSize_, end_ + kLookahead);
        std::uint64_t readPos = off_;
        std::size_t tail = 0;
        while (!done_) {
            std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(bufBytes_, readLimit - readPos));
            // Read little past the end: only the rest of the last word is needed there.
            want = static_cast<std::size_t>(std::min<std::uint64_t>(
                want, readPos >= end_ ? kPastEndRead : end_ - readPos + kPastEndRead));
            if (want > 0 && !src_.read(readPos, want, reinterpret_cast<char*>(fresh))) {
                error = "read failed at offset " + std::to_string(readPos);
                return false;
            }
            readPos += want;
            const bool atLimit = readPos == readLimit;
            // A growing file's known end is not its end: a word reaching it may go on (totals stop at
            // end_ + kLookahead, as they do in a longer file).
            const bool last = atLimit && !(opt_.growing && freq);
            unsigned char* data = fresh - tail;
            const std::size_t avail = tail + want;
            const std::uint64_t dataPos = readPos - avail;
            std::size_t proc;
            if (last) {
                proc = avail;
                std::memset(data + avail, 0, kBack);
            } else {
                // keep lookahead bytes for the last block
                proc = avail > kLookahead ? (avail - kLookahead) / 64 * 64 : 0;
            }
            if (freq) {
                scanWords(data, proc, dataPos, last);
            } else {
                scanTotals(data, proc, dataPos);
            }
            if (last) break;
            if (atLimit) {  // growing, with a table: the last word must have ended before the known end
                if (done_) break;
                *needsMore = true;
                error = "a word runs past the known end " + std::to_string(fileSize_);
                return false;
            }
            tail = avail - proc;
            std::memmove(fresh - tail, data + proc, tail);
        }
        out.words = words_ + totalsState_.words;
        out.lines = lines_ + totalsState_.lines;
        out.chars = lineState_.chars;
        out.lineWidths.fragments.push_back(LineFragment{off_, end_ - off_, detail::lineSummary(lineState_)});
        out.freq = std::move(table_);
        return true;
    }

  private:
    static std::uint64_t lowBits(std::uint64_t n) {
        return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    }

    /// Totals over data[0, proc) at file position dataPos (only bytes before end_ count).
    void scanTotals(const unsigned char* data, std::size_t proc, std::uint64_t dataPos) {
        if (dataPos >= end_) return;
        const std::size_t limit = static_cast<std::size_t>(std::min<std::uint64_t>(proc, end_ - dataPos));
        totals_(data, limit, totalsState_);
        linesFn_(data, limit, lineState_);
    }

    /// `padded`: 16 readable bytes follow the word (it lies in the read buffer, not in pending_).
    void addWord(std::string_view word, bool padded) {
        if (opt_.mode == FreqMode::Raw) {
            if (padded)
                table_.addPadded(word);
            else
                table_.add(word);
        } else {
            // Tokens are written at the start of scratch_, which keeps 16 bytes of room after any of them.
            if (scratch_.size() < 2 * word.size() + 32) scratch_.resize(2 * word.size() + 32);
            forEachNormalizedToken(
                word, scratch_, [this](std::string_view t) { table_.addPadded(t); }, padded);
        }
    }

    /// Words with their text over data[0, proc) at file position dataPos; last = data ends at EOF.
    void scanWords(const unsigned char* data, std::size_t proc, std::uint64_t dataPos, bool last) {
        if (dataPos < end_)  // characters and line widths of the owned bytes (all of them are here)
            linesFn_(data, static_cast<std::size_t>(std::min<std::uint64_t>(proc, end_ - dataPos)),
                     lineState_);
        const std::size_t nBlocks = (proc + 63) / 64;
        std::uint64_t sep[kGroupBlocks], nl[kGroupBlocks];
        std::size_t wordBegin = 0;  // index in data of the current word (0 when it began before data)
        for (std::size_t g = 0; g < nBlocks && !done_; g += kGroupBlocks) {
            const std::size_t nb = std::min(kGroupBlocks, nBlocks - g);
            classify_(data + 64 * g, nb, sep, nl, carry_);
            for (std::size_t b = 0; b < nb; ++b) {
                const std::size_t base = 64 * (g + b);
                const std::uint64_t pos = dataPos + base;
                const std::uint64_t valid = lowBits(proc - base);
                const std::uint64_t own = pos >= end_ ? 0 : lowBits(end_ - pos);
                const std::uint64_t s = sep[b];
                const std::uint64_t before = (s << 1) | prevSep_;
                const std::uint64_t starts = ~s & before & valid & own;
                const std::uint64_t stops = s & ~before & valid;
                prevSep_ = s >> 63;
                lines_ += static_cast<std::uint64_t>(__builtin_popcountll(nl[b] & valid & own));
                words_ += static_cast<std::uint64_t>(__builtin_popcountll(starts));
                std::uint64_t ev = starts | stops;
                while (ev) {
                    const unsigned j = static_cast<unsigned>(__builtin_ctzll(ev));
                    ev &= ev - 1;
                    if ((starts >> j) & 1) {
                        inWord_ = true;
                        wordBegin = base + j;
                    } else if (inWord_) {
                        finishWord(data, wordBegin, base + j);
                        if (pos + j >= end_) {
                            done_ = true;
                            return;
                        }
                    }
                }
                if (!inWord_ && pos + 64 >= end_) {
                    done_ = true;
                    return;
                }
            }
        }
        if (inWord_) {
            if (last) {
                finishWord(data, wordBegin, proc);  // the word runs to the end of the file
                done_ = true;
            } else {
                pending_.append(reinterpret_cast<const char*>(data) + wordBegin, proc - wordBegin);
                pendingActive_ = true;
            }
        }
    }

    void finishWord(const unsigned char* data, std::size_t from, std::size_t to) {
        const char* d = reinterpret_cast<const char*>(data);
        if (pendingActive_) {
            pending_.append(d, to);  // the word began in an earlier buffer; from is 0 here
            addWord(pending_, false);
            pending_.clear();
            pendingActive_ = false;
        } else {
            addWord(std::string_view(d + from, to - from), true);
        }
        inWord_ = false;
    }

    const ByteSource& src_;
    const std::uint64_t fileSize_, off_, end_;
    const CountOptions& opt_;
    detail::ClassifyFn classify_;
    detail::TotalsFn totals_;
    detail::TotalsState totalsState_;
    detail::LinesFn linesFn_;
    detail::LineState lineState_;
    std::size_t bufBytes_;
    std::uint64_t prevSep_ = 1, carry_ = 0;
    std::uint64_t words_ = 0, lines_ = 0;
    bool inWord_ = false, pendingActive_ = false, done_ = false;
    std::string pending_, scratch_;
    FrequencyTable table_;
};

}  // namespace

bool MemoryByteSource::read(std::uint64_t offset, std::size_t len, char* out) const {
    if (offset > bytes_.size() || len > bytes_.size() - offset) return false;
    if (len) std::memcpy(out, bytes_.data() + offset, len);
    return true;
}

CountResult countRange(const ByteSource& src, std::uint64_t fileSize, ShardSpec shard,
                       const CountOptions& options) {
    CountResult r;
    if (shard.offset > fileSize || shard.length > fileSize - shard.offset) {
        r.error = "shard [" + std::to_string(shard.offset) + ", +" + std::to_string(shard.length) +
                  ") lies outside the file of " + std::to_string(fileSize) + " bytes";
        return r;
    }
    r.counts.bytes = shard.length;
    r.counts.mode = options.mode;
    if (shard.length == 0) {
        r.ok = true;
        return r;
    }
    Counter counter(src, fileSize, shard, options);
    r.ok = counter.run(r.counts, r.error, &r.needsMore);
    if (!r.ok) r.counts = ShardCounts{};
    return r;
}

ShardCounts countBytes(std::string_view bytes, FreqMode mode) {
    const MemoryByteSource src(bytes);
    CountOptions opt;
    opt.mode = mode;
    return countRange(src, bytes.size(), ShardSpec{0, bytes.size()}, opt).counts;
}

bool mergeInto(ShardCounts& acc, const ShardCounts& part) {
    FreqMode mode = acc.mode;
    if (part.mode != FreqMode::None) {
        if (acc.mode != FreqMode::None && acc.mode != part.mode) return false;
        mode = part.mode;
    }
    acc.words += part.words;
    acc.lines += part.lines;
    acc.bytes += part.bytes;
    if (acc.chars && part.chars) {
        *acc.chars += *part.chars;
    } else {
        acc.chars.reset();
    }
    acc.lineWidths.merge(part.lineWidths);
    acc.mode = mode;
    acc.freq.merge(part.freq);
    return true;
}

std::optional<ShardCounts> merge(const ShardCounts& a, const ShardCounts& b) {
    ShardCounts out = a;
    if (!mergeInto(out, b)) return std::nullopt;
    return out;
}

}  // namespace raftwc::wordcount
