// Randomized robustness test: arbitrary bytes, truncations and bit flips of valid frames are fed to
// every decoder. Nothing may crash, no modified frame may pass authentication, and every payload that
// decodes must re-encode to exactly the same bytes (the encodings are canonical).
// Deterministic: the seed is fixed (override with RAFTWC_FUZZ_SEED=<n>; iterations RAFTWC_FUZZ_ITERS).
#include <QtTest>

#include <random>

#include "net/address.h"
#include "net/bytes.h"
#include "net/frame.h"
#include "net/messages.h"

using namespace raftwc;
using namespace raftwc::net;

namespace {

const QByteArray kKey = QByteArrayLiteral("fuzz key");
constexpr qint64 kNow = 1'800'000'000'000;

class Gen {
  public:
    explicit Gen(std::uint64_t seed) : rng_(seed) {}
    std::uint64_t u64() { return rng_(); }
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool coin() { return (rng_() & 1) != 0; }
    std::uint64_t smallOrBig() { return coin() ? below(1000) : u64(); }
    QByteArray bytes(qsizetype maxLen) {
        QByteArray b(static_cast<qsizetype>(below(static_cast<std::uint64_t>(maxLen) + 1)), '\0');
        for (char& c : b)
            c = static_cast<char>(rng_());
        return b;
    }
    QString text(int maxLen) {
        QString s;
        const int n = static_cast<int>(below(static_cast<std::uint64_t>(maxLen) + 1));
        for (int i = 0; i < n; ++i) {
            const char16_t pick[] = {u'a', u'Z', u'0', u':', u'.', u'-', u'é', u'ß', u'中', u' '};
            s.append(QChar(pick[below(std::size(pick))]));
        }
        return s;
    }
    raft::Message message() {
        raft::Message m;
        m.type = static_cast<raft::MessageType>(1 + below(9));
        m.from = smallOrBig();
        m.to = smallOrBig();
        m.term = smallOrBig();
        m.logTerm = smallOrBig();
        m.index = smallOrBig();
        m.commit = smallOrBig();
        m.commitTerm = smallOrBig();
        m.reject = coin();
        m.transfer = coin();
        m.rejectHint = smallOrBig();
        m.rejectHintTerm = smallOrBig();
        const auto n = below(4);
        for (std::uint64_t i = 0; i < n; ++i) {
            const QByteArray d = bytes(64);
            m.entries.push_back({smallOrBig(), smallOrBig(), static_cast<raft::EntryType>(1 + below(3)),
                                 std::string(d.constData(), static_cast<std::size_t>(d.size()))});
        }
        return m;
    }
    std::mt19937_64& rng() { return rng_; }

  private:
    std::mt19937_64 rng_;
};

std::uint64_t envOr(const char* name, std::uint64_t def) {
    bool ok = false;
    const std::uint64_t v = qEnvironmentVariable(name).toULongLong(&ok);
    return ok ? v : def;
}

}  // namespace

class tst_NetFuzz : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase();
    void randomBytesIntoEveryDecoder();
    void mutatedValidFrames();
    void streamReassemblyFromRandomChunks();

  private:
    /// Feeds `b` to every payload decoder; checks canonical re-encoding of whatever decodes.
    void decodeAll(const QByteArray& b);
    std::uint64_t seed_ = 0;
    std::uint64_t iters_ = 0;
    std::uint64_t inputs_ = 0;
};

void tst_NetFuzz::initTestCase() {
    seed_ = envOr("RAFTWC_FUZZ_SEED", 0x5eed2026);
    iters_ = envOr("RAFTWC_FUZZ_ITERS", 40'000);
    qInfo("fuzz seed %llu, %llu iterations per case", static_cast<unsigned long long>(seed_),
          static_cast<unsigned long long>(iters_));
}

void tst_NetFuzz::decodeAll(const QByteArray& b) {
    if (auto m = decodeRaftMessage(b)) QCOMPARE(encodeRaftMessage(*m), b);
    if (auto p = decodeProbe(b)) QCOMPARE(encodeProbe(*p), b);
    if (auto a = decodeAnnounce(b)) QCOMPARE(encodeAnnounce(*a), b);
    if (auto h = decodeHello(b)) QCOMPARE(encodeHello(*h), b);
    if (auto e = decodeAppEnvelope(b)) QCOMPARE(encodeAppEnvelope(*e), b);
    ++inputs_;
}

void tst_NetFuzz::randomBytesIntoEveryDecoder() {
    Gen g(seed_);
    FrameAuth keyed(AuthConfig{kKey, 2, 2, kDefaultMaxAgeMs, 1024, 64});
    FrameAuth open(AuthConfig{{}, 3, 3, kDefaultMaxAgeMs, 1024, 64});
    StreamState st;
    for (std::uint64_t i = 0; i < iters_; ++i) {
        QByteArray b = g.bytes(g.coin() ? 64 : 1600);
        // Half the inputs start with a plausible header so the deeper checks are reached.
        if (g.coin() && b.size() >= 6) {
            std::memcpy(b.data(), kMagic, 4);
            b[4] = static_cast<char>(kProtocolVersion);
            const char kinds[] = {1, 2, 3, 16, 17, 18};
            b[5] = kinds[g.below(6)];
        }
        decodeAll(b);
        QVERIFY(!verifyFrame(b, Channel::Datagram, kKey).ok());
        QVERIFY(!verifyFrame(b, Channel::Stream, kKey).ok());
        QVERIFY(!keyed.openDatagram(b, kNow).ok());
        QVERIFY(!keyed.openStreamFrame(b, kNow, st).ok());
        open.openDatagram(b, kNow);  // may accept: open mode; must not crash
        DropReason why = DropReason::Truncated;
        const qsizetype n = FrameAuth::streamFrameSize(b, &why);
        QVERIFY(n >= -1);
        parseHostPort(QString::fromUtf8(b));
        defaultRouteInterfaceFrom(b);
        ByteReader r(b);
        r.string(100);
        r.bytes(50);
        inputs_ += 6;
    }
    QVERIFY(keyed.counters().total() >= 2 * iters_);
    qInfo("%llu inputs so far", static_cast<unsigned long long>(inputs_));
}

void tst_NetFuzz::mutatedValidFrames() {
    Gen g(seed_ + 1);
    FrameAuth sender(AuthConfig{kKey, 1, 1, kDefaultMaxAgeMs, 1024, 64});
    FrameAuth receiver(AuthConfig{kKey, 2, 2, kDefaultMaxAgeMs, 1024, 64});
    std::uint64_t accepted = 0;
    for (std::uint64_t i = 0; i < iters_; ++i) {
        QByteArray payload;
        FrameKind kind = FrameKind::Raft;
        switch (g.below(5)) {
            case 0:
                payload = encodeRaftMessage(g.message());
                kind = FrameKind::Raft;
                break;
            case 1:
                payload = encodeProbe(Probe{1, g.text(20), g.text(20), g.text(10), g.coin()});
                kind = FrameKind::Probe;
                break;
            case 2:
                payload =
                    encodeAnnounce(Announce{g.smallOrBig(), 1, g.text(20), g.text(20), g.smallOrBig(),
                                            g.text(10), g.smallOrBig(), static_cast<std::uint32_t>(g.u64())});
                kind = FrameKind::Announce;
                break;
            case 3:
                payload = encodeHello(Hello{1, g.text(20), g.text(20), g.coin(), g.text(10)});
                kind = FrameKind::Hello;
                break;
            default:
                payload = encodeAppEnvelope(AppEnvelope{g.u64(), static_cast<std::uint16_t>(g.u64()),
                                                        static_cast<std::uint16_t>(g.u64()), g.bytes(200)});
                kind = g.coin() ? FrameKind::AppRequest : FrameKind::AppResponse;
                break;
        }
        const Channel ch = kindAllowedOn(kind, Channel::Datagram) ? Channel::Datagram : Channel::Stream;
        const QByteArray frame = sender.seal(kind, payload, kNow);
        // The intact frame verifies and its payload round-trips.
        const OpenResult ok = verifyFrame(frame, ch, kKey);
        QVERIFY(ok.ok());
        QCOMPARE(ok.frame->payload, payload);
        decodeAll(payload);

        // Truncation: never accepted (frame), never crashes (payload decoders).
        const qsizetype cut = static_cast<qsizetype>(g.below(static_cast<std::uint64_t>(frame.size())));
        QVERIFY(!verifyFrame(QByteArrayView(frame).first(cut), ch, kKey).ok());
        decodeAll(
            payload.first(static_cast<qsizetype>(g.below(static_cast<std::uint64_t>(payload.size()) + 1))));

        // 1-3 bit flips: never accepted with the key; payload decoders stay canonical.
        QByteArray flipped = frame;
        QByteArray flippedPayload = payload;
        const auto flips = 1 + g.below(3);
        for (std::uint64_t f = 0; f < flips; ++f) {
            const auto pos = g.below(static_cast<std::uint64_t>(flipped.size()));
            flipped[static_cast<qsizetype>(pos)] ^= static_cast<char>(1u << g.below(8));
            if (!flippedPayload.isEmpty()) {
                const auto pp = g.below(static_cast<std::uint64_t>(flippedPayload.size()));
                flippedPayload[static_cast<qsizetype>(pp)] ^= static_cast<char>(1u << g.below(8));
            }
        }
        if (flipped != frame) {
            QVERIFY(!verifyFrame(flipped, ch, kKey).ok());
            StreamState st;
            QVERIFY(!(ch == Channel::Datagram ? receiver.openDatagram(flipped, kNow)
                                              : receiver.openStreamFrame(flipped, kNow, st))
                         .ok());
        }
        decodeAll(flippedPayload);
        // The original is accepted once by a full receiver (it was never accepted before).
        StreamState st2;
        const OpenResult full = ch == Channel::Datagram ? receiver.openDatagram(frame, kNow)
                                                        : receiver.openStreamFrame(frame, kNow, st2);
        QVERIFY(full.ok());
        ++accepted;
        inputs_ += 4;
    }
    QCOMPARE(accepted, iters_);
    qInfo("%llu inputs so far", static_cast<unsigned long long>(inputs_));
}

void tst_NetFuzz::streamReassemblyFromRandomChunks() {
    Gen g(seed_ + 2);
    const std::uint64_t rounds = std::max<std::uint64_t>(iters_ / 20, 1);
    for (std::uint64_t round = 0; round < rounds; ++round) {
        FrameAuth sender(AuthConfig{kKey, 1, round + 1, kDefaultMaxAgeMs, 1024, 4096});
        FrameAuth receiver(AuthConfig{kKey, 2, 2, kDefaultMaxAgeMs, 1024, 4096});
        QList<raft::Message> sent;
        QByteArray wire;
        const auto n = 1 + g.below(8);
        for (std::uint64_t i = 0; i < n; ++i) {
            raft::Message m = g.message();
            m.from = 1;
            sent.append(m);
            wire += sender.seal(FrameKind::Raft, encodeRaftMessage(m), kNow);
        }
        const bool corrupt = g.below(4) == 0;
        if (corrupt) wire[static_cast<qsizetype>(g.below(static_cast<std::uint64_t>(wire.size())))] ^= 0x01;
        // Deliver in random chunks, as TCP would.
        QByteArray buf;
        StreamState st;
        QList<raft::Message> got;
        bool failed = false;
        qsizetype pos = 0;
        while (pos < wire.size() && !failed) {
            const qsizetype chunk =
                std::min<qsizetype>(wire.size() - pos, 1 + static_cast<qsizetype>(g.below(300)));
            buf += wire.sliced(pos, chunk);
            pos += chunk;
            for (;;) {
                DropReason why = DropReason::Truncated;
                const qsizetype size = FrameAuth::streamFrameSize(buf, &why);
                if (size < 0) {
                    failed = true;
                    break;
                }
                if (size == 0 || buf.size() < size) break;
                const OpenResult r = receiver.openStreamFrame(QByteArrayView(buf).first(size), kNow, st);
                buf.remove(0, size);
                if (!r.ok()) {
                    failed = true;
                    break;
                }
                auto m = decodeRaftMessage(r.frame->payload);
                QVERIFY(m.has_value());
                got.append(*m);
            }
        }
        if (corrupt) {
            QVERIFY(failed || got.size() < sent.size() || !buf.isEmpty());
            QVERIFY(got.size() <= sent.size());
            for (qsizetype i = 0; i < got.size(); ++i)
                QVERIFY(got[i] == sent[i]);  // prefix only
        } else {
            QVERIFY(!failed);
            QVERIFY(buf.isEmpty());
            QCOMPARE(got.size(), sent.size());
            for (qsizetype i = 0; i < got.size(); ++i)
                QVERIFY(got[i] == sent[i]);
        }
        ++inputs_;
    }
    qInfo("%llu inputs in total", static_cast<unsigned long long>(inputs_));
    QVERIFY(inputs_ >= 100'000 || iters_ < 40'000);
}

QTEST_GUILESS_MAIN(tst_NetFuzz)
#include "tst_net_fuzz.moc"
