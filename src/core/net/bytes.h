// Bounds-checked binary writer/reader shared by every wire format of raftwc.
//
// Encoding rules (see docs/PROTOCOL.md):
//  - all integers are BIG-ENDIAN (network order), fixed width (u8/u16/u32/u64, i64 as two's complement);
//  - `bytes` fields are a u32 length followed by that many raw bytes;
//  - `string` fields are `bytes` holding UTF-8.
// The reader never reads past its end: any short read, over-long length or bad value sets a sticky
// failure flag and every later read returns zero/empty. Callers check ok() (or atEnd()) once at the end.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <string>
#include <utility>

namespace raftwc::net {

/// Appends big-endian fields to a QByteArray (owned or external).
class ByteWriter {
  public:
    ByteWriter() : out_(&own_) {}
    /// Appends to `target` (which must outlive the writer).
    explicit ByteWriter(QByteArray& target) : out_(&target) {}
    ByteWriter(const ByteWriter&) = delete;
    ByteWriter& operator=(const ByteWriter&) = delete;

    void u8(std::uint8_t v) { out_->append(static_cast<char>(v)); }
    void u16(std::uint16_t v);
    void u32(std::uint32_t v);
    void u64(std::uint64_t v);
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    /// u32 length + raw bytes.
    void bytes(QByteArrayView v);
    void bytes(const std::string& v) { bytes(QByteArrayView(v.data(), static_cast<qsizetype>(v.size()))); }
    /// u32 length + UTF-8.
    void string(const QString& v) { bytes(v.toUtf8()); }
    /// Raw bytes, no length prefix.
    void raw(QByteArrayView v) { out_->append(v.data(), v.size()); }

    qsizetype size() const { return out_->size(); }
    /// The written bytes (only meaningful for the owning constructor; returns the target otherwise).
    const QByteArray& data() const { return *out_; }
    QByteArray take() { return std::move(*out_); }

  private:
    QByteArray own_;
    QByteArray* out_;
};

/// Reads big-endian fields from a byte view that must outlive the reader.
class ByteReader {
  public:
    explicit ByteReader(QByteArrayView in) : in_(in) {}
    /// A temporary QByteArray would dangle: keep the bytes in a variable.
    explicit ByteReader(QByteArray&&) = delete;

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    std::uint64_t u64();
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    /// 0 → false, 1 → true, anything else fails the reader.
    bool boolean();
    /// u32 length + bytes; fails if the length exceeds `maxLen` or the remaining input.
    QByteArray bytes(std::uint32_t maxLen = kDefaultMaxBytes);
    std::string stdBytes(std::uint32_t maxLen = kDefaultMaxBytes);
    /// u32 length + UTF-8; fails on invalid UTF-8 or over-long strings.
    QString string(std::uint32_t maxLen = kDefaultMaxString);
    /// `n` raw bytes (view into the input); fails if fewer remain.
    QByteArrayView raw(qsizetype n);

    /// Marks the reader failed (for callers that detect a bad value themselves).
    void fail() { ok_ = false; }
    bool ok() const { return ok_; }
    qsizetype remaining() const { return ok_ ? in_.size() - pos_ : 0; }
    /// True if every byte was consumed and no read failed: the usual end-of-decode check.
    bool atEnd() const { return ok_ && pos_ == in_.size(); }

    static constexpr std::uint32_t kDefaultMaxBytes = 64u * 1024 * 1024;
    static constexpr std::uint32_t kDefaultMaxString = 4096;

  private:
    bool need(qsizetype n);
    QByteArrayView in_;
    qsizetype pos_ = 0;
    bool ok_ = true;
};

}  // namespace raftwc::net
