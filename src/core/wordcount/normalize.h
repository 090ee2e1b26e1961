// Normalized tokens inside one raw word (docs/WORDS.md, "Frequencies"):
// maximal runs of token characters (Unicode letters L*, numbers N*, and combining marks M* after a
// token character), simple-case-folded, where an apostrophe (U+0027 or U+2019, both written as U+0027)
// or a hyphen-minus (U+002D) is kept only between two token characters. Everything else, including
// invalid UTF-8, ends a token.
#pragma once

#include <cstdint>
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

/// Decodes one non-ASCII character at p (n > 0 bytes available, p[0] >= 0x80).
/// Returns its length (1 for an invalid byte) and sets cls: kToken (its case-folded UTF-8, at most
/// 4 bytes, is then written to out and its length to outLen), kJoiner (U+2019) or kOther (invalid
/// UTF-8 included). A combining mark is kToken only when markIsToken (it continues a token).
unsigned classifyNonAscii(const unsigned char* p, std::size_t n, bool markIsToken, std::uint8_t& cls,
                          char* out, unsigned& outLen);

}  // namespace detail

/// Calls sink(std::string_view token) for each normalized token of rawWord, in order.
/// tok is scratch storage (reused between calls to avoid allocations).
template <class F>
void forEachNormalizedToken(std::string_view rawWord, std::string& tok, F&& sink) {
    using namespace detail;
    const auto* p = reinterpret_cast<const unsigned char*>(rawWord.data());
    const std::size_t n = rawWord.size();
    // Output never exceeds 2 bytes per input byte (a 2-byte character may fold to 3 bytes, plus a joiner).
    if (tok.size() < 2 * n + 8) tok.resize(2 * n + 8);
    char* const base = tok.data();
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
