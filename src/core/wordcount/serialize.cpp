#include "wordcount/serialize.h"

#include <cstring>

namespace raftwc::wordcount {

namespace {

constexpr char kMagic[4] = {'R', 'W', 'C', 'S'};
constexpr std::size_t kHeader = 4 + 2 + 1 + 1 + 8 * 4;
constexpr std::size_t kExtension = 1 + 8 + 4;         // v2: known flags, chars, fragment count
constexpr std::size_t kFragment = 8 + 8 + 1 + 8 * 4;  // offset, length, flags, four widths
constexpr unsigned kCharsKnown = 1, kWidthsKnown = 2;
constexpr unsigned kHasLineEnd = 1, kHeadTab = 2;

void putLe(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t getLe(const char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
}

bool fail(std::string* error, const char* why) {
    if (error) *error = std::string("malformed shard counts: ") + why;
    return false;
}

/// The v2 fields after the table at p[pos, body): characters and line-width fragments.
bool decodeExtension(const char* p, std::size_t body, std::size_t& pos, ShardCounts& c, std::string* error) {
    if (body - pos < kExtension) return fail(error, "truncated extension");
    const std::uint64_t known = getLe(p + pos, 1);
    const std::uint64_t chars = getLe(p + pos + 1, 8);
    const std::uint64_t count = getLe(p + pos + 9, 4);
    pos += kExtension;
    if (known & ~std::uint64_t{kCharsKnown | kWidthsKnown}) return fail(error, "bad flags");
    if (known & kCharsKnown) {
        if (chars > c.bytes) return fail(error, "chars exceed bytes");
        c.chars = chars;
    } else {
        if (chars != 0) return fail(error, "unknown chars not zero");
        c.chars.reset();
    }
    c.lineWidths.known = (known & kWidthsKnown) != 0;
    if (!c.lineWidths.known && count != 0) return fail(error, "fragments of unknown widths");
    if (count > (body - pos) / kFragment) return fail(error, "fragment count exceeds length");
    std::uint64_t covered = 0, nextOffset = 0;
    for (std::uint64_t i = 0; i < count; ++i, pos += kFragment) {
        LineFragment f;
        const char* q = p + pos;
        f.offset = getLe(q, 8);
        f.length = getLe(q + 8, 8);
        const std::uint64_t flags = getLe(q + 16, 1);
        LineWidthSummary& w = f.summary;
        w.hasLineEnd = (flags & kHasLineEnd) != 0;
        w.headTab = (flags & kHeadTab) != 0;
        w.headWidth = getLe(q + 17, 8);
        w.headAfterTab = getLe(q + 25, 8);
        w.innerMax = getLe(q + 33, 8);
        w.tail = getLe(q + 41, 8);
        if (flags & ~std::uint64_t{kHasLineEnd | kHeadTab}) return fail(error, "bad fragment flags");
        if (f.length == 0 || f.offset > ~std::uint64_t{0} - f.length)
            return fail(error, "bad fragment range");
        if (f.offset < nextOffset && i > 0) return fail(error, "fragments out of order");
        if (f.length > c.bytes - covered) return fail(error, "fragments exceed bytes");
        // A column grows by at most 8 per byte; fields that do not apply are zero.
        const std::uint64_t bound = f.length > (~std::uint64_t{0} >> 4) ? ~std::uint64_t{0} : 8 * f.length;
        if (w.headWidth > bound || w.headAfterTab > bound || w.innerMax > bound || w.tail > bound)
            return fail(error, "fragment width exceeds its length");
        if ((!w.headTab && w.headAfterTab) || (!w.hasLineEnd && (w.innerMax || w.tail)))
            return fail(error, "fragment not canonical");
        covered += f.length;
        nextOffset = f.offset;
        c.lineWidths.fragments.push_back(f);
    }
    return true;
}

}  // namespace

std::string encodeShardCounts(const ShardCounts& c) {
    std::string out;
    out.reserve(kHeader + 8 + c.freq.size() * 20);
    out.append(kMagic, 4);
    putLe(out, kShardCountsVersion, 2);
    putLe(out, static_cast<std::uint8_t>(c.mode), 1);
    putLe(out, 0, 1);
    putLe(out, c.words, 8);
    putLe(out, c.lines, 8);
    putLe(out, c.bytes, 8);
    putLe(out, c.freq.size(), 8);
    c.freq.forEach([&](std::string_view w, std::uint64_t n) {
        putLe(out, w.size(), 4);
        out.append(w);
        putLe(out, n, 8);
    });
    const auto& frags = c.lineWidths.fragments;
    const bool widths = c.lineWidths.known;
    putLe(out, (c.chars ? kCharsKnown : 0) | (widths ? kWidthsKnown : 0), 1);
    putLe(out, c.chars.value_or(0), 8);
    putLe(out, widths ? frags.size() : 0, 4);
    if (widths) {
        for (const LineFragment& f : frags) {
            const LineWidthSummary& w = f.summary;
            putLe(out, f.offset, 8);
            putLe(out, f.length, 8);
            putLe(out, (w.hasLineEnd ? kHasLineEnd : 0) | (w.headTab ? kHeadTab : 0), 1);
            putLe(out, w.headWidth, 8);
            putLe(out, w.headAfterTab, 8);
            putLe(out, w.innerMax, 8);
            putLe(out, w.tail, 8);
        }
    }
    putLe(out, hashBytes(out.data(), out.size()), 8);
    return out;
}

bool decodeShardCounts(std::string_view in, ShardCounts& out, std::string* error) {
    if (in.size() < kHeader + 8) return fail(error, "too short");
    if (std::memcmp(in.data(), kMagic, 4) != 0) return fail(error, "bad magic");
    const char* p = in.data();
    const std::uint64_t version = getLe(p + 4, 2);
    if (version != 1 && version != kShardCountsVersion) return fail(error, "unsupported version");
    const std::uint64_t mode = getLe(p + 6, 1);
    if (mode > static_cast<std::uint8_t>(FreqMode::Normalized)) return fail(error, "bad mode");
    if (getLe(p + 7, 1) != 0) return fail(error, "reserved byte set");
    const std::size_t body = in.size() - 8;
    if (getLe(p + body, 8) != hashBytes(p, body)) return fail(error, "checksum mismatch");
    ShardCounts c;
    c.mode = static_cast<FreqMode>(mode);
    c.words = getLe(p + 8, 8);
    c.lines = getLe(p + 16, 8);
    c.bytes = getLe(p + 24, 8);
    const std::uint64_t entries = getLe(p + 32, 8);
    if (c.words > c.bytes || c.lines > c.bytes) return fail(error, "counts exceed bytes");
    if (entries > (body - kHeader) / 12) return fail(error, "entry count exceeds length");
    if (entries && c.mode == FreqMode::None) return fail(error, "table without a mode");
    c.freq.reserve(static_cast<std::size_t>(entries));
    std::size_t pos = kHeader;
    for (std::uint64_t i = 0; i < entries; ++i) {
        if (body - pos < 4) return fail(error, "truncated entry");
        const std::uint64_t len = getLe(p + pos, 4);
        pos += 4;
        if (body - pos < len + 8) return fail(error, "truncated entry");
        const std::string_view word(p + pos, static_cast<std::size_t>(len));
        pos += static_cast<std::size_t>(len);
        const std::uint64_t n = getLe(p + pos, 8);
        pos += 8;
        if (n == 0) return fail(error, "zero count");
        if (c.freq.count(word) != 0) return fail(error, "duplicate word");
        c.freq.add(word, n);
    }
    if (version == 1) {  // from an older node: no characters, no line widths
        c.chars.reset();
        c.lineWidths.known = false;
    } else if (!decodeExtension(p, body, pos, c, error)) {
        return false;
    }
    if (pos != body) return fail(error, "trailing bytes");
    if (c.mode == FreqMode::Raw && c.freq.total() != c.words)
        return fail(error, "raw table does not sum to words");
    out = std::move(c);
    return true;
}

}  // namespace raftwc::wordcount
