// Normalized tokens inside one raw word (docs/WORDS.md, "Frequencies"):
// maximal runs of token characters (Unicode letters L*, numbers N*, and combining marks M* after a
// token character), simple-case-folded, where an apostrophe (U+0027 or U+2019, both written as U+0027)
// or a hyphen-minus (U+002D) is kept only between two token characters. Everything else, including
// invalid UTF-8, ends a token.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace raftwc::wordcount {

namespace detail {

enum AsciiClass : std::uint8_t { kOther = 0, kToken = 1, kJoiner = 2 };

struct AsciiTables {
    std::uint8_t cls[128];
    char lower[128];
};

constexpr AsciiTables makeAsciiTables() {
    AsciiTables t{};
    for (int c = 0; c < 128; ++c) {
        t.cls[c] = kOther;
        t.lower[c] = static_cast<char>(c);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) t.cls[c] = kToken;
        if (c >= 'A' && c <= 'Z') {
            t.cls[c] = kToken;
            t.lower[c] = static_cast<char>(c + 32);
        }
        if (c == '\'' || c == '-') t.cls[c] = kJoiner;
    }
    return t;
}
inline constexpr AsciiTables kAscii = makeAsciiTables();

inline constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
inline constexpr std::uint64_t bytesOf(std::uint8_t b) {
    return 0x0101010101010101ULL * b;
}

/// Whether every byte of x selected by `high` (0x80 in each byte in use; the others are 0 in x) is an
/// ASCII letter or digit. SWAR: for bytes below 0x80, b + (0x80 - lo) sets bit 7 iff b >= lo, and
/// b + (0x7f - hi) leaves it clear iff b <= hi, with no carry into the next byte.
inline bool asciiAlnumBytes(std::uint64_t x, std::uint64_t high) {
    if (x & kHigh) return false;
    const std::uint64_t y = x | bytesOf(0x20);  // letters lower-cased; digits already have bit 5 set
    const std::uint64_t letter = (y + bytesOf(0x80 - 'a')) & ~(y + bytesOf(0x7f - 'z'));
    const std::uint64_t digit = (x + bytesOf(0x80 - '0')) & ~(x + bytesOf(0x7f - '9'));
    return ((letter | digit) & high) == high;
}

/// The common case: 1..16 bytes, every one an ASCII letter or digit. Then the word is one token, its
/// lower case (byte | 0x20) written to out, zero-padded to 8 or 16 bytes with whole 8-byte stores (so a
/// reader's 8-byte loads of the token are forwarded from these stores instead of stalling on several
/// smaller ones); out needs 16 bytes of room. False otherwise (nothing useful written). The input is
/// read with (overlapping) fixed-size loads, never past p + n.
[[gnu::always_inline]] inline bool asciiAlnumLower(const char* p, std::size_t n, char* out) {
    if (n >= 8 && n <= 16) {
        std::uint64_t a, b;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + n - 8, 8);
        if (!asciiAlnumBytes(a, kHigh) || !asciiAlnumBytes(b, kHigh)) return false;
        a |= bytesOf(0x20);
        b = n == 8 ? 0 : (b | bytesOf(0x20)) >> (8 * (16 - n));  // bytes 8..n-1, zero-padded
        std::memcpy(out, &a, 8);
        std::memcpy(out + 8, &b, 8);
        return true;
    }
    std::uint64_t v;
    if (n >= 4 && n < 8) {
        std::uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        v = lo | (std::uint64_t{hi} << (8 * (n - 4)));
    } else if (n >= 1 && n < 4) {
        const auto* u = reinterpret_cast<const unsigned char*>(p);
        v = u[0] | (std::uint64_t{u[n >> 1]} << (8 * (n >> 1))) | (std::uint64_t{u[n - 1]} << (8 * (n - 1)));
    } else {
        return false;
    }
    const std::uint64_t used = (std::uint64_t{1} << (8 * n)) - 1;  // n < 8
    if (!asciiAlnumBytes(v, kHigh & used)) return false;
    v |= bytesOf(0x20) & used;
    std::memcpy(out, &v, 8);
    return true;
}

/// asciiAlnumLower for a word followed by at least 16 readable bytes: loads, checks and lower-cases 16
/// bytes under masks, with no branch on the word's length (random lengths mispredict those branches).
[[gnu::always_inline]] inline bool asciiAlnumLowerPadded(const char* p, std::size_t n, char* out) {
    if (n - 1 >= 16) return false;  // n == 0 (wraps) or n > 16
    std::uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    const auto bits = static_cast<unsigned>(8 * n);
    const std::uint64_t ma = n >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    const std::uint64_t mb = n <= 8 ? 0 : n >= 16 ? ~std::uint64_t{0} : (std::uint64_t{1} << (bits - 64)) - 1;
    a &= ma;
    b &= mb;
    if (!(asciiAlnumBytes(a, kHigh & ma) & asciiAlnumBytes(b, kHigh & mb))) return false;
    a |= bytesOf(0x20) & ma;
    b |= bytesOf(0x20) & mb;
    std::memcpy(out, &a, 8);
    std::memcpy(out + 8, &b, 8);
    return true;
}

/// Decodes one non-ASCII character at p (n > 0 bytes available, p[0] >= 0x80).
/// Returns its length (1 for an invalid byte) and sets cls: kToken (its case-folded UTF-8, at most
/// 4 bytes, is then written to out and its length to outLen), kJoiner (U+2019) or kOther (invalid
/// UTF-8 included). A combining mark is kToken only when markIsToken (it continues a token).
unsigned classifyNonAscii(const unsigned char* p, std::size_t n, bool markIsToken, std::uint8_t& cls,
                          char* out, unsigned& outLen);

}  // namespace detail

/// Calls sink(std::string_view token) for each normalized token of rawWord, in order.
/// tok is scratch storage (reused between calls to avoid allocations).
/// inputPadded: at least 16 readable bytes follow rawWord (a padded read buffer), which lets the common
/// all-ASCII-alphanumeric word take a branch-free path.
template <class F>
void forEachNormalizedToken(std::string_view rawWord, std::string& tok, F&& sink, bool inputPadded = false) {
    using namespace detail;
    const auto* p = reinterpret_cast<const unsigned char*>(rawWord.data());
    const std::size_t n = rawWord.size();
    // Output never exceeds 2 bytes per input byte (a 2-byte character may fold to 3 bytes, plus a joiner).
    if (tok.size() < 2 * n + 8) tok.resize(2 * n + 8);
    char* const base = tok.data();
    if (inputPadded ? asciiAlnumLowerPadded(rawWord.data(), n, base)
                    : asciiAlnumLower(rawWord.data(), n, base)) {  // one token, no joiner, no decoding
        sink(std::string_view(base, n));
        return;
    }
    char* o = base;
    char joiner = 0;  // a joiner seen right after a token character, written if a token char follows
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        std::uint8_t cls;
        if (c < 0x80) {
            cls = kAscii.cls[c];
            ++i;
            if (cls == kToken) {
                if (joiner) *o++ = joiner;
                joiner = 0;
                *o++ = kAscii.lower[c];
                continue;
            }
            if (cls == kJoiner && o != base && !joiner) {
                joiner = static_cast<char>(c);
                continue;
            }
        } else {
            unsigned len = 0;
            char folded[4];
            i += classifyNonAscii(p + i, n - i, o != base && !joiner, cls, folded, len);
            if (cls == kToken) {
                if (joiner) *o++ = joiner;
                joiner = 0;
                for (unsigned k = 0; k < len; ++k)
                    *o++ = folded[k];
                continue;
            }
            if (cls == kJoiner && o != base && !joiner) {
                joiner = '\'';
                continue;
            }
        }
        // Anything else ends the token (a dangling joiner is dropped).
        if (o != base) sink(std::string_view(base, static_cast<std::size_t>(o - base)));
        o = base;
        joiner = 0;
    }
    if (o != base) sink(std::string_view(base, static_cast<std::size_t>(o - base)));
}

/// Convenience for tests and callers that want a list.
std::vector<std::string> normalizedTokens(std::string_view rawWord);

}  // namespace raftwc::wordcount
