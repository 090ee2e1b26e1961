#include "wordcount/normalize.h"

#include <QChar>

namespace raftwc::wordcount {

namespace detail {

namespace {

inline bool isCont(unsigned char b) {
    return (b & 0xC0) == 0x80;
}

/// Strict UTF-8 decode (no overlongs, no surrogates, <= U+10FFFF). Returns length, 0 if invalid.
unsigned decodeUtf8(const unsigned char* p, std::size_t n, char32_t& cp) {
    const unsigned char b0 = p[0];
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (n < 2 || !isCont(p[1])) return 0;
        cp = (char32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (n < 3 || !isCont(p[1]) || !isCont(p[2])) return 0;
        if (b0 == 0xE0 && p[1] < 0xA0) return 0;   // overlong
        if (b0 == 0xED && p[1] >= 0xA0) return 0;  // surrogate
        cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (n < 4 || !isCont(p[1]) || !isCont(p[2]) || !isCont(p[3])) return 0;
        if (b0 == 0xF0 && p[1] < 0x90) return 0;   // overlong
        if (b0 == 0xF4 && p[1] >= 0x90) return 0;  // > U+10FFFF
        cp = (char32_t(b0 & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
             (p[3] & 0x3F);
        return 4;
    }
    return 0;
}

unsigned encodeUtf8(char* out, char32_t cp) {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | (cp >> 6));
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | (cp >> 12));
        out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

}  // namespace

unsigned classifyNonAscii(const unsigned char* p, std::size_t n, bool markIsToken, std::uint8_t& cls,
                          char* out, unsigned& outLen) {
    char32_t cp = 0;
    const unsigned len = decodeUtf8(p, n, cp);
    if (len == 0) {
        cls = kOther;
        return 1;
    }
    if (cp == 0x2019) {
        cls = kJoiner;
        return len;
    }
    switch (QChar::category(cp)) {
        case QChar::Letter_Uppercase:
        case QChar::Letter_Lowercase:
        case QChar::Letter_Titlecase:
        case QChar::Letter_Modifier:
        case QChar::Letter_Other:
        case QChar::Number_DecimalDigit:
        case QChar::Number_Letter:
        case QChar::Number_Other:
            cls = kToken;
            outLen = encodeUtf8(out, QChar::toCaseFolded(cp));
            return len;
        case QChar::Mark_NonSpacing:
        case QChar::Mark_SpacingCombining:
        case QChar::Mark_Enclosing:
            if (markIsToken) {
                cls = kToken;
                outLen = encodeUtf8(out, cp);
            } else {
                cls = kOther;
            }
            return len;
        default:
            cls = kOther;
            return len;
    }
}

}  // namespace detail

std::vector<std::string> normalizedTokens(std::string_view rawWord) {
    std::vector<std::string> out;
    std::string scratch;
    forEachNormalizedToken(rawWord, scratch, [&](std::string_view t) { out.emplace_back(t); });
    return out;
}

}  // namespace raftwc::wordcount
