#include "net/bytes.h"

#include <QStringDecoder>

namespace raftwc::net {

void ByteWriter::u16(std::uint16_t v) {
    const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out_->append(b, 2);
}

void ByteWriter::u32(std::uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
    out_->append(b, 4);
}

void ByteWriter::u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
}

void ByteWriter::bytes(QByteArrayView v) {
    u32(static_cast<std::uint32_t>(v.size()));
    raw(v);
}

bool ByteReader::need(qsizetype n) {
    if (!ok_ || n < 0 || in_.size() - pos_ < n) {
        ok_ = false;
        return false;
    }
    return true;
}

std::uint8_t ByteReader::u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(in_[pos_++]);
}

std::uint16_t ByteReader::u16() {
    if (!need(2)) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos_);
    pos_ += 2;
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t ByteReader::u32() {
    if (!need(4)) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos_);
    pos_ += 4;
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

std::uint64_t ByteReader::u64() {
    if (!need(8)) return 0;
    const std::uint64_t hi = u32();
    const std::uint64_t lo = u32();
    return (hi << 32) | lo;
}

bool ByteReader::boolean() {
    const std::uint8_t v = u8();
    if (v > 1) ok_ = false;
    return ok_ && v == 1;
}

QByteArrayView ByteReader::raw(qsizetype n) {
    if (!need(n)) return {};
    QByteArrayView v = in_.sliced(pos_, n);
    pos_ += n;
    return v;
}

QByteArray ByteReader::bytes(std::uint32_t maxLen) {
    const std::uint32_t n = u32();
    if (!ok_ || n > maxLen) {
        ok_ = false;
        return {};
    }
    return raw(static_cast<qsizetype>(n)).toByteArray();
}

std::string ByteReader::stdBytes(std::uint32_t maxLen) {
    const std::uint32_t n = u32();
    if (!ok_ || n > maxLen) {
        ok_ = false;
        return {};
    }
    const QByteArrayView v = raw(static_cast<qsizetype>(n));
    return std::string(v.data(), static_cast<std::size_t>(v.size()));
}

QString ByteReader::string(std::uint32_t maxLen) {
    const QByteArray b = bytes(maxLen);
    if (!ok_) return {};
    QStringDecoder dec(QStringDecoder::Utf8,
                       QStringDecoder::Flag::Stateless | QStringDecoder::Flag::ConvertInitialBom);
    QString s = dec.decode(b);
    if (dec.hasError()) {
        ok_ = false;
        return {};
    }
    return s;
}

}  // namespace raftwc::net
