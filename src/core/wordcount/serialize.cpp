#include "wordcount/serialize.h"

#include <cstring>

namespace raftwc::wordcount {

namespace {

constexpr char kMagic[4] = {'R', 'W', 'C', 'S'};
constexpr std::size_t kHeader = 4 + 2 + 1 + 1 + 8 * 4;

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
    putLe(out, hashBytes(out.data(), out.size()), 8);
    return out;
}

bool decodeShardCounts(std::string_view in, ShardCounts& out, std::string* error) {
    if (in.size() < kHeader + 8) return fail(error, "too short");
    if (std::memcmp(in.data(), kMagic, 4) != 0) return fail(error, "bad magic");
    const char* p = in.data();
    if (getLe(p + 4, 2) != kShardCountsVersion) return fail(error, "unsupported version");
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
    if (pos != body) return fail(error, "trailing bytes");
    if (c.mode == FreqMode::Raw && c.freq.total() != c.words)
        return fail(error, "raw table does not sum to words");
    out = std::move(c);
    return true;
}

}  // namespace raftwc::wordcount
