#include "net/frame.h"

#include <QMessageAuthenticationCode>
#include <QRandomGenerator>

#include <algorithm>
#include <cstring>

#ifdef RAFTWC_NET_HAVE_OPENSSL
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif

#include "net/bytes.h"

namespace raftwc::net {

namespace {

bool validKind(std::uint8_t k) {
    switch (static_cast<FrameKind>(k)) {
        case FrameKind::Probe:
        case FrameKind::Announce:
        case FrameKind::Hello:
        case FrameKind::Raft:
        case FrameKind::AppRequest:
        case FrameKind::AppResponse:
            return true;
    }
    return false;
}

QByteArray computeMac(QByteArrayView covered, QByteArrayView key) {
    return hmacSha256(key, covered);
}

bool constantTimeEqual(QByteArrayView a, QByteArrayView b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

OpenResult dropped(DropReason r) {
    return OpenResult{std::nullopt, r};
}

}  // namespace

QByteArray hmacSha256(QByteArrayView key, QByteArrayView data) {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const unsigned char kEmpty = 0;
    const auto* k = key.isEmpty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
    const auto* d = data.isEmpty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
    if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, static_cast<std::size_t>(data.size()), out,
             &len) &&
        len == kMacSize)
        return QByteArray(reinterpret_cast<const char*>(out), kMacSize);
        // Fall through to Qt's implementation if OpenSSL fails for any reason.
#endif
    return qtHmacSha256(key, data);
}

bool hmacUsesOpenSsl() {
#ifdef RAFTWC_NET_HAVE_OPENSSL
    return true;
#else
    return false;
#endif
}

QByteArray qtHmacSha256(QByteArrayView key, QByteArrayView data) {
    QMessageAuthenticationCode mac(QCryptographicHash::Sha256, key.toByteArray());
    mac.addData(data.data(), data.size());
    return mac.result();
}

bool kindAllowedOn(FrameKind kind, Channel channel) {
    const bool datagram = kind == FrameKind::Probe || kind == FrameKind::Announce || kind == FrameKind::Hello;
    return (channel == Channel::Datagram) == datagram;
}

QLatin1StringView dropReasonName(DropReason r) {
    switch (r) {
        case DropReason::Truncated:
            return QLatin1StringView("truncated");
        case DropReason::BadMagic:
            return QLatin1StringView("bad_magic");
        case DropReason::BadVersion:
            return QLatin1StringView("bad_version");
        case DropReason::BadKind:
            return QLatin1StringView("bad_kind");
        case DropReason::TooLarge:
            return QLatin1StringView("too_large");
        case DropReason::LengthMismatch:
            return QLatin1StringView("length_mismatch");
        case DropReason::Unauthenticated:
            return QLatin1StringView("unauthenticated");
        case DropReason::BadMac:
            return QLatin1StringView("bad_mac");
        case DropReason::Stale:
            return QLatin1StringView("stale");
        case DropReason::FromFuture:
            return QLatin1StringView("from_future");
        case DropReason::Replayed:
            return QLatin1StringView("replayed");
        case DropReason::BehindWindow:
            return QLatin1StringView("behind_window");
        case DropReason::OwnEcho:
            return QLatin1StringView("own_echo");
        case DropReason::BadPayload:
            return QLatin1StringView("bad_payload");
        case DropReason::SenderMismatch:
            return QLatin1StringView("sender_mismatch");
        case DropReason::Count:
            break;
    }
    return QLatin1StringView("unknown");
}

std::uint64_t DropCounters::total() const {
    std::uint64_t t = 0;
    for (std::uint64_t c : counts)
        t += c;
    return t;
}

DropCounters& DropCounters::operator+=(const DropCounters& o) {
    for (std::size_t i = 0; i < counts.size(); ++i)
        counts[i] += o.counts[i];
    return *this;
}

bool DropLogLimiter::shouldLog(DropReason r, qint64 nowMs, std::uint64_t* suppressedSinceLast) {
    const auto i = static_cast<std::size_t>(r);
    if (i >= kDropReasonCount) return false;
    if (logged_[i] && nowMs - last_[i] < intervalMs_) {
        ++suppressed_[i];
        return false;
    }
    if (suppressedSinceLast) *suppressedSinceLast = suppressed_[i];
    suppressed_[i] = 0;
    logged_[i] = true;
    last_[i] = nowMs;
    return true;
}

QByteArray sealFrame(FrameHeader h, QByteArrayView payload, QByteArrayView key) {
    QByteArray out;
    out.reserve(kHeaderSize + payload.size() + kMacSize);
    ByteWriter w(out);
    w.raw(QByteArrayView(kMagic, 4));
    w.u8(h.version);
    w.u8(static_cast<std::uint8_t>(h.kind));
    const std::uint16_t flags = key.isEmpty() ? (h.flags | kFlagOpen) : (h.flags & ~kFlagOpen);
    w.u16(flags);
    w.u64(h.sender);
    w.u64(h.incarnation);
    w.u64(h.seq);
    w.i64(h.timestampMs);
    w.u32(static_cast<std::uint32_t>(payload.size()));
    w.raw(payload);
    if (key.isEmpty())
        out.append(kMacSize, '\0');
    else
        out.append(computeMac(out, key));
    return out;
}

std::optional<FrameHeader> parseFrameHeader(QByteArrayView bytes, Channel channel, DropReason* why) {
    auto fail = [why](DropReason r) -> std::optional<FrameHeader> {
        if (why) *why = r;
        return std::nullopt;
    };
    // Check the magic on whatever prefix is there, so garbage is rejected early on a stream.
    const qsizetype m = std::min<qsizetype>(bytes.size(), 4);
    if (m > 0 && std::memcmp(bytes.data(), kMagic, static_cast<std::size_t>(m)) != 0)
        return fail(DropReason::BadMagic);
    if (bytes.size() < kHeaderSize) return fail(DropReason::Truncated);
    ByteReader r(bytes.first(kHeaderSize));
    r.raw(4);
    FrameHeader h;
    h.version = r.u8();
    const std::uint8_t kind = r.u8();
    h.flags = r.u16();
    h.sender = r.u64();
    h.incarnation = r.u64();
    h.seq = r.u64();
    h.timestampMs = r.i64();
    h.payloadLength = r.u32();
    if (h.version != kProtocolVersion) return fail(DropReason::BadVersion);
    if (!validKind(kind)) return fail(DropReason::BadKind);
    h.kind = static_cast<FrameKind>(kind);
    if (!kindAllowedOn(h.kind, channel)) return fail(DropReason::BadKind);
    const std::uint64_t limit = channel == Channel::Datagram
                                    ? static_cast<std::uint64_t>(kMaxDatagramBytes - kHeaderSize - kMacSize)
                                    : kMaxStreamPayload;
    if (h.payloadLength > limit) return fail(DropReason::TooLarge);
    return h;
}

OpenResult verifyFrame(QByteArrayView bytes, Channel channel, QByteArrayView key) {
    if (channel == Channel::Datagram && bytes.size() > kMaxDatagramBytes)
        return dropped(DropReason::TooLarge);
    DropReason why = DropReason::Truncated;
    const std::optional<FrameHeader> h = parseFrameHeader(bytes, channel, &why);
    if (!h) return dropped(why);
    const qsizetype total = kHeaderSize + static_cast<qsizetype>(h->payloadLength) + kMacSize;
    if (bytes.size() < total) return dropped(DropReason::Truncated);
    if (bytes.size() > total) return dropped(DropReason::LengthMismatch);
    const QByteArrayView covered = bytes.first(total - kMacSize);
    const QByteArrayView mac = bytes.last(kMacSize);
    if (!key.isEmpty()) {
        if ((h->flags & kFlagOpen) != 0) return dropped(DropReason::Unauthenticated);
        if (!constantTimeEqual(mac, computeMac(covered, key))) return dropped(DropReason::BadMac);
    }
    Frame f;
    f.header = *h;
    f.payload = bytes.sliced(kHeaderSize, h->payloadLength).toByteArray();
    return OpenResult{std::move(f), DropReason::Truncated};
}

// ---- ReplayWindow ------------------------------------------------------------------------------

ReplayWindow::ReplayWindow(std::size_t bits) {
    const std::size_t words = std::max<std::size_t>(1, (bits + 63) / 64);
    words_.assign(words, 0);
    bits_ = words * 64;
}

bool ReplayWindow::bit(std::uint64_t seq) const {
    const std::uint64_t pos = seq % bits_;
    return (words_[pos / 64] >> (pos % 64)) & 1u;
}

void ReplayWindow::setBit(std::uint64_t seq, bool v) {
    const std::uint64_t pos = seq % bits_;
    const std::uint64_t mask = std::uint64_t{1} << (pos % 64);
    if (v)
        words_[pos / 64] |= mask;
    else
        words_[pos / 64] &= ~mask;
}

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t seq) const {
    if (seq == 0) return Verdict::BehindWindow;
    if (seq > highest_) return Verdict::Fresh;
    if (highest_ - seq >= bits_) return Verdict::BehindWindow;
    return bit(seq) ? Verdict::Replayed : Verdict::Fresh;
}

void ReplayWindow::accept(std::uint64_t seq) {
    if (seq > highest_) {
        if (seq - highest_ >= bits_) {
            std::fill(words_.begin(), words_.end(), 0);
        } else {
            for (std::uint64_t s = highest_ + 1; s < seq; ++s)
                setBit(s, false);
        }
        highest_ = seq;
    }
    setBit(seq, true);
}

ReplayWindow::Verdict ReplayGuard::checkAndAccept(NodeId sender, std::uint64_t incarnation,
                                                  std::uint64_t seq) {
    const Key key{sender, incarnation};
    auto it = table_.find(key);
    if (it == table_.end()) {
        if (maxEntries_ > 0 && table_.size() >= maxEntries_) {
            auto oldest = std::min_element(table_.begin(), table_.end(), [](const auto& a, const auto& b) {
                return a.second.lastUse < b.second.lastUse;
            });
            table_.erase(oldest);
        }
        it = table_.emplace(key, Slot{ReplayWindow(windowBits_), 0}).first;
    }
    it->second.lastUse = ++useClock_;
    const ReplayWindow::Verdict v = it->second.window.check(seq);
    if (v == ReplayWindow::Verdict::Fresh) it->second.window.accept(seq);
    return v;
}

// ---- FrameAuth ---------------------------------------------------------------------------------

std::uint64_t randomIncarnation() {
    std::uint64_t v = 0;
    while (v == 0)
        v = QRandomGenerator::system()->generate64();
    return v;
}

FrameAuth::FrameAuth(AuthConfig cfg)
    : cfg_(std::move(cfg)), guard_(cfg_.replayWindowBits, cfg_.maxTrackedSenders) {}

QByteArray FrameAuth::seal(FrameKind kind, QByteArrayView payload, qint64 nowMs) {
    FrameHeader h;
    h.kind = kind;
    h.sender = cfg_.self;
    h.incarnation = cfg_.incarnation;
    h.seq = ++seq_;
    h.timestampMs = nowMs;
    return sealFrame(h, payload, cfg_.key);
}

OpenResult FrameAuth::finish(OpenResult r) {
    if (!r.ok()) counters_.add(r.reason);
    return r;
}

bool FrameAuth::checkFreshness(const FrameHeader& h, qint64 nowMs, DropReason* why) const {
    // Compare in a way that cannot overflow for any timestamp value.
    if (h.timestampMs<nowMs&& static_cast<std::uint64_t>(nowMs) -
                      static_cast<std::uint64_t>(h.timestampMs)> static_cast<std::uint64_t>(cfg_.maxAgeMs)) {
        *why = DropReason::Stale;
        return false;
    }
    if (h.timestampMs > nowMs &&
        static_cast<std::uint64_t>(h.timestampMs) - static_cast<std::uint64_t>(nowMs) >
            static_cast<std::uint64_t>(cfg_.maxAgeMs)) {
        *why = DropReason::FromFuture;
        return false;
    }
    return true;
}

OpenResult FrameAuth::openDatagram(QByteArrayView bytes, qint64 nowMs) {
    OpenResult r = verifyFrame(bytes, Channel::Datagram, cfg_.key);
    if (!r.ok()) return finish(std::move(r));
    const FrameHeader& h = r.frame->header;
    if (h.sender == raft::kNoNode) return finish(dropped(DropReason::SenderMismatch));
    if (h.sender == cfg_.self && h.incarnation == cfg_.incarnation)
        return finish(dropped(DropReason::OwnEcho));
    DropReason why = DropReason::Stale;
    if (!checkFreshness(h, nowMs, &why)) return finish(dropped(why));
    switch (guard_.checkAndAccept(h.sender, h.incarnation, h.seq)) {
        case ReplayWindow::Verdict::Fresh:
            return r;
        case ReplayWindow::Verdict::Replayed:
            return finish(dropped(DropReason::Replayed));
        case ReplayWindow::Verdict::BehindWindow:
            return finish(dropped(DropReason::BehindWindow));
    }
    return finish(dropped(DropReason::Replayed));
}

OpenResult FrameAuth::openStreamFrame(QByteArrayView bytes, qint64 nowMs, StreamState& stream) {
    OpenResult r = verifyFrame(bytes, Channel::Stream, cfg_.key);
    if (!r.ok()) return finish(std::move(r));
    const FrameHeader& h = r.frame->header;
    if (h.sender == raft::kNoNode) return finish(dropped(DropReason::SenderMismatch));
    if (stream.sender != raft::kNoNode && (h.sender != stream.sender || h.incarnation != stream.incarnation))
        return finish(dropped(DropReason::SenderMismatch));
    DropReason why = DropReason::Stale;
    if (!checkFreshness(h, nowMs, &why)) return finish(dropped(why));
    if (h.seq <= stream.lastSeq) return finish(dropped(DropReason::BehindWindow));
    switch (guard_.checkAndAccept(h.sender, h.incarnation, h.seq)) {
        case ReplayWindow::Verdict::Fresh:
            break;
        case ReplayWindow::Verdict::Replayed:
            return finish(dropped(DropReason::Replayed));
        case ReplayWindow::Verdict::BehindWindow:
            return finish(dropped(DropReason::BehindWindow));
    }
    stream.sender = h.sender;
    stream.incarnation = h.incarnation;
    stream.lastSeq = h.seq;
    return r;
}

qsizetype FrameAuth::streamFrameSize(QByteArrayView buffered, DropReason* why) {
    if (buffered.isEmpty()) return 0;
    DropReason r = DropReason::Truncated;
    const std::optional<FrameHeader> h = parseFrameHeader(buffered, Channel::Stream, &r);
    if (!h) {
        if (r == DropReason::Truncated) return 0;
        if (why) *why = r;
        return -1;
    }
    return kHeaderSize + static_cast<qsizetype>(h->payloadLength) + kMacSize;
}

}  // namespace raftwc::net
