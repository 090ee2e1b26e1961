#include "node/job_codecs.h"

#include <QCryptographicHash>

#include "net/bytes.h"
#include "wordcount/serialize.h"

namespace raftwc::node {

using net::ByteReader;
using net::ByteWriter;
using wordcount::FreqMode;
using wordcount::ShardCounts;

QByteArray encodeShardRequest(const ShardRequest& r) {
    ByteWriter w;
    const bool pipelined = r.knownEnd > 0;
    w.u8(pipelined ? 2 : 1);
    w.bytes(r.jobId);
    w.bytes(r.fileId);
    w.u64(r.manifestIndex);
    w.u64(r.shard.offset);
    w.u64(r.shard.length);
    w.u8(std::uint8_t(r.mode));
    w.u32(r.shardNo);
    if (pipelined) {
        w.u64(r.knownEnd);
        w.boolean(r.finalEnd);
    }
    return w.take();
}

std::optional<ShardRequest> decodeShardRequest(const QByteArray& bytes) {
    ByteReader r(bytes);
    const std::uint8_t version = r.u8();
    if (version != 1 && version != 2) return std::nullopt;
    ShardRequest q;
    q.jobId = r.bytes(128);
    q.fileId = r.bytes(64);
    q.manifestIndex = r.u64();
    q.shard.offset = r.u64();
    q.shard.length = r.u64();
    const std::uint8_t mode = r.u8();
    q.shardNo = r.u32();
    if (version == 2) {
        q.knownEnd = r.u64();
        q.finalEnd = r.boolean();
        // The piece lies in the known bytes (a version 2 request always names some).
        if (q.knownEnd == 0 || q.shard.offset > q.knownEnd || q.shard.length > q.knownEnd - q.shard.offset)
            return std::nullopt;
    }
    if (!r.atEnd() || mode > std::uint8_t(FreqMode::Normalized)) return std::nullopt;
    q.mode = FreqMode(mode);
    return q;
}

QByteArray encodeShardReply(const ShardReply& r) {
    ByteWriter w;
    w.u8(1);
    w.boolean(r.ok);
    w.string(r.error);
    w.u32(r.ms);
    w.bytes(r.ok ? wordcount::encodeShardCounts(r.counts) : std::string());
    return w.take();
}

QByteArray encodeShardReplyBounded(const ShardReply& reply, qsizetype limit) {
    QByteArray bytes = encodeShardReply(reply);
    if (bytes.size() <= limit) return bytes;
    return encodeShardReply(
        {false,
         QStringLiteral("%1: %2 bytes").arg(QLatin1String(kReplyTooLarge)).arg(bytes.size()),
         {},
         reply.ms});
}

std::optional<ShardReply> decodeShardReply(const QByteArray& bytes) {
    ByteReader r(bytes);
    if (r.u8() != 1) return std::nullopt;
    ShardReply s;
    s.ok = r.boolean();
    s.error = r.string(4096);
    s.ms = r.u32();
    const std::string counts = r.stdBytes();
    if (!r.atEnd()) return std::nullopt;
    if (s.ok && !wordcount::decodeShardCounts(counts, s.counts)) return std::nullopt;
    return s;
}

QByteArray encodeShardProgress(const ShardProgressNote& p) {
    ByteWriter w;
    w.u8(1);
    w.bytes(p.jobId);
    w.u32(p.shardNo);
    w.u64(p.bytesDone);
    return w.take();
}

std::optional<ShardProgressNote> decodeShardProgress(const QByteArray& bytes) {
    ByteReader r(bytes);
    if (r.u8() != 1) return std::nullopt;
    ShardProgressNote p;
    p.jobId = r.bytes(128);
    p.shardNo = r.u32();
    p.bytesDone = r.u64();
    if (!r.atEnd()) return std::nullopt;
    return p;
}

// ---- worker ------------------------------------------------------------------------------------

QByteArray encodeWordTable(const std::vector<wordcount::WordCount>& sorted, std::size_t maxCompressedBytes,
                           std::size_t* kept, bool* complete) {
    std::size_t n = sorted.size();
    for (;;) {
        ByteWriter w;
        w.u8(1);
        w.u64(n);
        for (std::size_t i = 0; i < n; ++i) {
            w.bytes(sorted[i].word);
            w.u64(sorted[i].count);
        }
        QByteArray packed = qCompress(w.data(), 3);
        if (std::size_t(packed.size()) <= maxCompressedBytes || n == 0) {
            *kept = n;
            *complete = n == sorted.size();
            return packed;
        }
        // Shrink in proportion to the excess, with a margin.
        n = std::size_t(double(n) * double(maxCompressedBytes) / double(packed.size()) * 0.9);
    }
}

namespace {
QByteArray packWords(const std::vector<wordcount::WordCount>& sorted, std::size_t from, std::size_t n) {
    ByteWriter w;
    w.u8(1);
    w.u64(n);
    for (std::size_t i = from; i < from + n; ++i) {
        w.bytes(sorted[i].word);
        w.u64(sorted[i].count);
    }
    return qCompress(w.data(), 3);
}
}  // namespace

std::vector<QByteArray> encodeWordTablePieces(const std::vector<wordcount::WordCount>& sorted,
                                              std::size_t maxCompressedBytes,
                                              std::vector<std::size_t>* entries) {
    std::vector<QByteArray> pieces;
    entries->clear();
    std::size_t from = 0;
    do {
        // First guess: words worth 2.5× the budget uncompressed (word lists compress about 3:1), then
        // shrink in proportion to any excess. Each piece costs a few compressions of its own size.
        std::size_t n = 0, raw = 0;
        const std::size_t rawTarget = maxCompressedBytes * 5 / 2;
        while (from + n < sorted.size() && raw < rawTarget)
            raw += sorted[from + n++].word.size() + 12;
        QByteArray packed = packWords(sorted, from, n);
        while (std::size_t(packed.size()) > maxCompressedBytes && n > 1) {
            n = std::max<std::size_t>(
                1, std::size_t(double(n) * double(maxCompressedBytes) / double(packed.size()) * 0.9));
            packed = packWords(sorted, from, n);
        }
        pieces.push_back(std::move(packed));
        entries->push_back(n);
        from += n;
    } while (from < sorted.size());
    return pieces;
}

std::optional<std::vector<wordcount::WordCount>> decodeWordTable(const QByteArray& compressed) {
    const QByteArray raw = qUncompress(compressed);
    ByteReader r(raw);
    if (r.u8() != 1) return std::nullopt;
    const std::uint64_t n = r.u64();
    if (!r.ok() || n > std::uint64_t(raw.size())) return std::nullopt;
    std::vector<wordcount::WordCount> out;
    out.reserve(std::size_t(n));
    for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
        wordcount::WordCount wc;
        wc.word = r.stdBytes(1u << 20);
        wc.count = r.u64();
        out.push_back(std::move(wc));
    }
    if (!r.atEnd()) return std::nullopt;
    return out;
}

std::string shownWord(std::string_view word) {
    if (word.size() <= kMaxShownWordBytes) return std::string(word);
    std::size_t cut = kMaxShownWordBytes;
    while (cut > 0 && (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80)  // inside a UTF-8 character
        --cut;
    const QByteArray hash = QCryptographicHash::hash(QByteArrayView(word.data(), qsizetype(word.size())),
                                                     QCryptographicHash::Sha256)
                                .toHex()
                                .left(16);
    return std::string(word.substr(0, cut)) + " \xE2\x80\xA6[" + std::to_string(word.size()) +
           " bytes, sha256 " + hash.toStdString() + "]";
}

namespace {
// Length of the valid UTF-8 sequence at `p` (1..4), or 0 if the bytes there are not one (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8SequenceAt(const unsigned char* p, std::size_t left) {
    const unsigned char c = p[0];
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}
}  // namespace

QString wordText(std::string_view word, bool* valid) {
    const auto* p = reinterpret_cast<const unsigned char*>(word.data());
    std::string out;
    out.reserve(word.size());
    bool ok = true;
    for (std::size_t i = 0; i < word.size();) {
        const std::size_t n = utf8SequenceAt(p + i, word.size() - i);
        if (n == 0) {
            static const char hex[] = "0123456789ABCDEF";
            out += "\\x";
            out += hex[p[i] >> 4];
            out += hex[p[i] & 0xF];
            ok = false;
            ++i;
        } else {
            out.append(word.data() + i, n);
            i += n;
        }
    }
    if (valid) *valid = ok;
    return QString::fromUtf8(out.data(), qsizetype(out.size()));
}

QJsonObject wordJson(std::string_view word, qint64 count) {
    bool valid = true;
    QJsonObject o{{QStringLiteral("word"), wordText(word, &valid)}, {QStringLiteral("count"), count}};
    if (!valid)
        o.insert(QStringLiteral("bytes"),
                 QString::fromLatin1(QByteArray(word.data(), qsizetype(word.size())).toBase64()));
    return o;
}

}  // namespace raftwc::node
