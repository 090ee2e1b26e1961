// Pure codec, framing and authentication tests (no sockets).
#include <QCryptographicHash>
#include <QtTest>

#include <random>

#include "net/address.h"
#include "net/bytes.h"
#include "net/frame.h"
#include "net/messages.h"
#include "net/rpc_transport.h"
#include "net/sha256.h"

using namespace raftwc;
using namespace raftwc::net;

namespace {

raft::Message sampleMessage(raft::MessageType type) {
    raft::Message m;
    m.type = type;
    m.from = 0x0102030405060708ull;
    m.to = 42;
    m.term = 7;
    m.logTerm = 6;
    m.index = 1000;
    m.commit = 999;
    m.commitTerm = 6;
    m.reject = type == raft::MessageType::AppendResp;
    m.rejectHint = 17;
    m.rejectHintTerm = 5;
    m.transfer = type == raft::MessageType::Vote;
    if (type == raft::MessageType::Append) {
        m.entries.push_back({6, 1001, raft::EntryType::Normal, std::string("hello\0world", 11)});
        m.entries.push_back({6, 1002, raft::EntryType::NoOp, {}});
        m.entries.push_back({7, 1003, raft::EntryType::ConfChange, std::string(300, '\xff')});
    }
    if (type == raft::MessageType::Snapshot) {
        m.snapshot.meta = {1000, 6, {{1, 2, 0x0102030405060708ull}, {9}}};
        m.snapshot.data = std::string("state\0bytes", 11);
    }
    return m;
}

AuthConfig authFor(NodeId id, const QByteArray& key, std::uint64_t incarnation = 1000) {
    AuthConfig a;
    a.key = key;
    a.self = id;
    a.incarnation = incarnation;
    return a;
}

const QByteArray kKey = QByteArrayLiteral("correct horse battery staple");
constexpr qint64 kNow = 1'700'000'000'000;

}  // namespace

class tst_NetCodec : public QObject {
    Q_OBJECT
  private slots:
    void byteWriterReaderBigEndian();
    void byteReaderBoundsAndStickyFailure();
    void byteReaderRejectsInvalidUtf8AndBool();
    void raftMessageRoundTrip_data();
    void raftMessageRoundTrip();
    void raftMessageRejectsBadValues();
    void discoveryRoundTrips();
    void discoveryRejectsTrailingAndOverlong();
    void appEnvelopeRoundTrip();
    void hmacMatchesRfc4231AndQt();
    void sha256IncrementalMatchesQt();
    void frameSealVerifyRoundTrip();
    void frameRejectsWrongKeyAndModifications();
    void frameRejectsBadHeaderFields();
    void frameKindChannelSeparation();
    void openModeAcceptsAndKeyedRejectsOpen();
    void datagramReplayRejected();
    void datagramReorderWithinWindowAccepted();
    void datagramOldTimestampRejected();
    void newIncarnationAccepted();
    void ownEchoDropped();
    void streamReplayRejected();
    void streamSenderBinding();
    void streamFrameSize();
    void replayGuardBounded();
    void replayWindowLargeJump();
    void dropLogLimiterRateLimits();
    void dropReasonNamesDistinct();
    void hostPortParsing();
    void defaultRouteParsing();
    void backoffGrowsWithJitterAndCap();
};

void tst_NetCodec::byteWriterReaderBigEndian() {
    ByteWriter w;
    w.u8(0xAB);
    w.u16(0x1234);
    w.u32(0xDEADBEEF);
    w.u64(0x0102030405060708ull);
    w.i64(-2);
    w.boolean(true);
    w.bytes(QByteArrayLiteral("xyz"));
    w.string(QStringLiteral("größe"));
    const QByteArray b = w.take();
    QCOMPARE(b.left(7), QByteArray::fromHex("ab1234deadbeef"));
    QCOMPARE(b.mid(7, 8), QByteArray::fromHex("0102030405060708"));
    QCOMPARE(b.mid(15, 8), QByteArray::fromHex("fffffffffffffffe"));
    ByteReader r(b);
    QCOMPARE(r.u8(), 0xAB);
    QCOMPARE(r.u16(), 0x1234);
    QCOMPARE(r.u32(), 0xDEADBEEFu);
    QCOMPARE(r.u64(), 0x0102030405060708ull);
    QCOMPARE(r.i64(), -2);
    QCOMPARE(r.boolean(), true);
    QCOMPARE(r.bytes(), QByteArrayLiteral("xyz"));
    QCOMPARE(r.string(), QStringLiteral("größe"));
    QVERIFY(r.atEnd());
}

void tst_NetCodec::byteReaderBoundsAndStickyFailure() {
    const QByteArray b = QByteArray::fromHex("000000ff01");  // length 255 but 1 byte follows
    ByteReader r(b);
    QVERIFY(r.bytes().isEmpty());
    QVERIFY(!r.ok());
    QCOMPARE(r.u8(), 0);  // sticky: no read after failure
    QVERIFY(!r.atEnd());

    const QByteArray b2 = QByteArray::fromHex("00000004aabbccdd");
    ByteReader r2(b2);
    QVERIFY(r2.bytes(3).isEmpty());  // over maxLen
    QVERIFY(!r2.ok());

    const QByteArray b3 = QByteArray::fromHex("0102");
    ByteReader r3(b3);
    QCOMPARE(r3.u32(), 0u);
    QVERIFY(!r3.ok());

    ByteReader r4(QByteArrayView{});
    QCOMPARE(r4.u64(), 0ull);
    QVERIFY(!r4.ok());
}

void tst_NetCodec::byteReaderRejectsInvalidUtf8AndBool() {
    const QByteArray b = QByteArray::fromHex("00000002c328");
    ByteReader r(b);
    r.string();
    QVERIFY(!r.ok());
    const QByteArray b2 = QByteArray::fromHex("02");
    ByteReader r2(b2);
    r2.boolean();
    QVERIFY(!r2.ok());
}

void tst_NetCodec::raftMessageRoundTrip_data() {
    QTest::addColumn<int>("type");
    for (int t = 1; t <= 10; ++t)
        QTest::addRow("type%d", t) << t;
}

void tst_NetCodec::raftMessageRoundTrip() {
    QFETCH(int, type);
    const raft::Message m = sampleMessage(static_cast<raft::MessageType>(type));
    const QByteArray enc = encodeRaftMessage(m);
    const auto dec = decodeRaftMessage(enc);
    QVERIFY(dec.has_value());
    QVERIFY(*dec == m);
    // Every strict prefix fails.
    for (qsizetype n = 0; n < enc.size(); ++n)
        QVERIFY(!decodeRaftMessage(QByteArrayView(enc).first(n)));
    // Trailing garbage fails.
    QVERIFY(!decodeRaftMessage(QByteArray(enc + '\0')));
}

void tst_NetCodec::raftMessageRejectsBadValues() {
    QByteArray enc = encodeRaftMessage(sampleMessage(raft::MessageType::Append));
    QByteArray badType = enc;
    badType[0] = 0;
    QVERIFY(!decodeRaftMessage(badType));
    badType[0] = 11;
    QVERIFY(!decodeRaftMessage(badType));
    // A Snapshot's configuration must be sorted, distinct, non-zero ids, voters and learners disjoint.
    auto snapWith = [](raft::ConfState cs) {
        raft::Message m = sampleMessage(raft::MessageType::Snapshot);
        m.snapshot.meta.conf = std::move(cs);
        return encodeRaftMessage(m);
    };
    QVERIFY(decodeRaftMessage(snapWith({{1, 2}, {3}})));
    QVERIFY(!decodeRaftMessage(snapWith({{2, 1}, {}})));
    QVERIFY(!decodeRaftMessage(snapWith({{1, 1}, {}})));
    QVERIFY(!decodeRaftMessage(snapWith({{0, 1}, {}})));
    QVERIFY(!decodeRaftMessage(snapWith({{1, 2}, {2}})));
    // Layout (docs/PROTOCOL.md section 5): type, 7 u64 (from .. commitTerm), flags, 2 u64 hints, u32 count.
    constexpr int kFlags = 1 + 7 * 8;
    constexpr int kCount = kFlags + 1 + 16;
    QByteArray badFlags = enc;
    badFlags[kFlags] = 0x04;  // unknown flag bit
    QVERIFY(!decodeRaftMessage(badFlags));
    QByteArray badEntryType = enc;
    badEntryType[kCount + 4 + 16] = 9;  // first entry's type
    QVERIFY(!decodeRaftMessage(badEntryType));
    QByteArray hugeCount = enc;
    hugeCount[kCount] = '\x7f';  // entry count ~2^30
    QVERIFY(!decodeRaftMessage(hugeCount));
}

void tst_NetCodec::discoveryRoundTrips() {
    Probe p{7, QStringLiteral("10.0.0.7:7000"), QStringLiteral("10.0.0.7:8080"), QStringLiteral("c-1"), true};
    QVERIFY(decodeProbe(encodeProbe(p)) == p);
    Probe empty;
    QVERIFY(decodeProbe(encodeProbe(empty)) == empty);

    Announce a{12, 3, QStringLiteral("[::1]:7000"), QStringLiteral("h:80"), 555, QStringLiteral("cluster-α"),
               9,  5};
    QVERIFY(decodeAnnounce(encodeAnnounce(a)) == a);

    Hello h{99, QStringLiteral("a:1"), QStringLiteral("b:2"), false, QString()};
    QVERIFY(decodeHello(encodeHello(h)) == h);
    h.hasData = true;
    h.clusterId = QStringLiteral("x");
    QVERIFY(decodeHello(encodeHello(h)) == h);
    // Every encoding fits a datagram with room to spare at maximum field sizes.
    Announce big = a;
    big.leaderRpcAddress = QString(255, QLatin1Char('r'));
    big.leaderHttpAddress = QString(255, QLatin1Char('h'));
    big.clusterId = QString(255, QLatin1Char('c'));
    QVERIFY(encodeAnnounce(big).size() + kHeaderSize + kMacSize <= kMaxDatagramBytes);
}

void tst_NetCodec::discoveryRejectsTrailingAndOverlong() {
    Probe p{7, QStringLiteral("a:1"), QStringLiteral("b:2"), {}, false};
    QVERIFY(!decodeProbe(QByteArray(encodeProbe(p) + 'x')));
    p.rpcAddress = QString(256, QLatin1Char('a'));
    QVERIFY(!decodeProbe(encodeProbe(p)));
    const QByteArray enc = encodeAnnounce(Announce{});
    for (qsizetype n = 0; n < enc.size(); ++n)
        QVERIFY(!decodeAnnounce(QByteArrayView(enc).first(n)));
    const QByteArray he = encodeHello(Hello{});
    for (qsizetype n = 0; n < he.size(); ++n)
        QVERIFY(!decodeHello(QByteArrayView(he).first(n)));
}

void tst_NetCodec::appEnvelopeRoundTrip() {
    AppEnvelope e{0xFFFFFFFFFFFFFFFFull, 513, 100, QByteArray(5000, 'p')};
    QVERIFY(decodeAppEnvelope(encodeAppEnvelope(e)) == e);
    AppEnvelope empty;
    QVERIFY(decodeAppEnvelope(encodeAppEnvelope(empty)) == empty);
    QVERIFY(!decodeAppEnvelope(encodeAppEnvelope(e).chopped(1)));
}

void tst_NetCodec::hmacMatchesRfc4231AndQt() {
    qInfo("hmacSha256 uses %s", hmacUsesOpenSsl() ? "OpenSSL" : "QMessageAuthenticationCode");
    // RFC 4231 test cases 1 and 2.
    QCOMPARE(hmacSha256(QByteArray(20, '\x0b'), "Hi There").toHex(),
             QByteArrayLiteral("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    QCOMPARE(hmacSha256("Jefe", "what do ya want for nothing?").toHex(),
             QByteArrayLiteral("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    // Same bytes as Qt's implementation for many key/data sizes (incl. empty and > block size).
    std::mt19937_64 rng(3);
    for (int i = 0; i < 200; ++i) {
        QByteArray key(static_cast<qsizetype>(rng() % 150), '\0');
        QByteArray data(static_cast<qsizetype>(rng() % 3000), '\0');
        for (char& c : key)
            c = static_cast<char>(rng());
        for (char& c : data)
            c = static_cast<char>(rng());
        QCOMPARE(hmacSha256(key, data), qtHmacSha256(key, data));
    }
}

void tst_NetCodec::sha256IncrementalMatchesQt() {
    qInfo("Sha256 uses %s", Sha256::usesOpenSsl() ? "OpenSSL" : "QCryptographicHash");
    {
        Sha256 empty;
        QCOMPARE(empty.result().toHex(),
                 QByteArray("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        Sha256 abc;  // FIPS 180-2, in pieces
        abc.add("a");
        abc.add("");
        abc.add("bc");
        QCOMPARE(abc.result().toHex(),
                 QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }
    std::mt19937_64 rng(4);
    for (int i = 0; i < 100; ++i) {
        QByteArray data(static_cast<qsizetype>(rng() % 300000), '\0');
        for (char& c : data)
            c = static_cast<char>(rng());
        Sha256 h;
        for (qsizetype at = 0; at < data.size();) {  // fed in random pieces, as chunks arrive
            const qsizetype n = std::min<qsizetype>(data.size() - at, qsizetype(rng() % 70000));
            h.add(QByteArrayView(data).sliced(at, n));
            at += n;
        }
        QCOMPARE(h.result(), QCryptographicHash::hash(data, QCryptographicHash::Sha256));
    }
}

void tst_NetCodec::frameSealVerifyRoundTrip() {
    FrameHeader h;
    h.kind = FrameKind::Raft;
    h.sender = 5;
    h.incarnation = 77;
    h.seq = 3;
    h.timestampMs = kNow;
    const QByteArray payload = encodeRaftMessage(sampleMessage(raft::MessageType::Append));
    const QByteArray f = sealFrame(h, payload, kKey);
    QCOMPARE(f.size(), kHeaderSize + payload.size() + kMacSize);
    QCOMPARE(f.left(4), QByteArrayLiteral("RWC1"));
    const OpenResult r = verifyFrame(f, Channel::Stream, kKey);
    QVERIFY(r.ok());
    h.payloadLength = static_cast<std::uint32_t>(payload.size());
    QVERIFY(r.frame->header == h);
    QCOMPARE(r.frame->payload, payload);
}

void tst_NetCodec::frameRejectsWrongKeyAndModifications() {
    FrameAuth a(authFor(1, kKey));
    const QByteArray f = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    QCOMPARE(verifyFrame(f, Channel::Datagram, QByteArrayLiteral("wrong key")).reason, DropReason::BadMac);
    // Flipping any single bit anywhere is detected (by framing checks or by the mac).
    for (qsizetype i = 0; i < f.size(); ++i) {
        QByteArray m = f;
        m[i] = static_cast<char>(m[i] ^ 0x10);
        QVERIFY2(!verifyFrame(m, Channel::Datagram, kKey).ok(), qPrintable(QString::number(i)));
    }
    FrameAuth b(authFor(2, QByteArrayLiteral("other key")));
    const OpenResult r = b.openDatagram(f, kNow);
    QVERIFY(!r.ok());
    QCOMPARE(r.reason, DropReason::BadMac);
    QCOMPARE(b.counters().count(DropReason::BadMac), 1u);
}

void tst_NetCodec::frameRejectsBadHeaderFields() {
    FrameAuth a(authFor(1, kKey));
    const QByteArray f = a.seal(FrameKind::Hello, encodeHello(Hello{1, {}, {}, false, {}}), kNow);
    QByteArray bad = f;
    bad[0] = 'X';
    QCOMPARE(verifyFrame(bad, Channel::Datagram, kKey).reason, DropReason::BadMagic);
    // 1: configurations in force when appended; 2: vote requests without commitTerm
    for (const int v : {0, 1, 2, kProtocolVersion + 1}) {
        bad = f;
        bad[4] = static_cast<char>(v);
        QCOMPARE(verifyFrame(bad, Channel::Datagram, kKey).reason, DropReason::BadVersion);
    }
    bad = f;
    bad[5] = 99;
    QCOMPARE(verifyFrame(bad, Channel::Datagram, kKey).reason, DropReason::BadKind);
    QCOMPARE(verifyFrame(f.left(10), Channel::Datagram, kKey).reason, DropReason::Truncated);
    QCOMPARE(verifyFrame(f.chopped(1), Channel::Datagram, kKey).reason, DropReason::Truncated);
    QCOMPARE(verifyFrame(QByteArray(f + 'x'), Channel::Datagram, kKey).reason, DropReason::LengthMismatch);
    QCOMPARE(verifyFrame(QByteArray(kMaxDatagramBytes + 1, 'R'), Channel::Datagram, kKey).reason,
             DropReason::TooLarge);
    // A stream frame announcing more than 64 MiB is refused from its header alone.
    FrameHeader h;
    h.kind = FrameKind::Raft;
    h.sender = 1;
    h.seq = 1;
    QByteArray big = sealFrame(h, QByteArrayLiteral("x"), kKey);
    big[40] = '\x7f';
    DropReason why = DropReason::Truncated;
    QCOMPARE(FrameAuth::streamFrameSize(big, &why), -1);
    QCOMPARE(why, DropReason::TooLarge);
}

void tst_NetCodec::frameKindChannelSeparation() {
    FrameAuth a(authFor(1, kKey));
    const QByteArray raftFrame = a.seal(FrameKind::Raft, encodeRaftMessage(raft::Message{}), kNow);
    FrameAuth b(authFor(2, kKey));
    QCOMPARE(b.openDatagram(raftFrame, kNow).reason, DropReason::BadKind);
    const QByteArray probe = a.seal(FrameKind::Probe, encodeProbe(Probe{}), kNow);
    StreamState st;
    QCOMPARE(b.openStreamFrame(probe, kNow, st).reason, DropReason::BadKind);
}

void tst_NetCodec::openModeAcceptsAndKeyedRejectsOpen() {
    FrameAuth openA(authFor(1, {}));
    FrameAuth openB(authFor(2, {}));
    QVERIFY(openA.openMode());
    const QByteArray f = openA.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    QCOMPARE(f.right(kMacSize), QByteArray(kMacSize, '\0'));
    QVERIFY(openB.openDatagram(f, kNow).ok());
    // Open mode still checks framing, freshness and replay.
    QCOMPARE(openB.openDatagram(f, kNow).reason, DropReason::Replayed);
    QCOMPARE(openB.openDatagram(f.chopped(3), kNow).reason, DropReason::Truncated);
    FrameAuth keyed(authFor(3, kKey));
    QCOMPARE(keyed.openDatagram(f, kNow).reason, DropReason::Unauthenticated);
    // An open receiver accepts keyed frames too (it cannot check them).
    FrameAuth keyedSender(authFor(4, kKey));
    QVERIFY(openB
                .openDatagram(
                    keyedSender.seal(FrameKind::Probe, encodeProbe(Probe{4, {}, {}, {}, false}), kNow), kNow)
                .ok());
}

void tst_NetCodec::datagramReplayRejected() {
    FrameAuth a(authFor(1, kKey));
    FrameAuth b(authFor(2, kKey));
    const QByteArray f1 = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    const QByteArray f2 = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    QVERIFY(b.openDatagram(f1, kNow).ok());
    QVERIFY(b.openDatagram(f2, kNow + 1).ok());
    QCOMPARE(b.openDatagram(f1, kNow + 2).reason, DropReason::Replayed);
    QCOMPARE(b.openDatagram(f2, kNow + 2).reason, DropReason::Replayed);
    QCOMPARE(b.counters().count(DropReason::Replayed), 2u);
}

void tst_NetCodec::datagramReorderWithinWindowAccepted() {
    AuthConfig cfg = authFor(2, kKey);
    cfg.replayWindowBits = 64;
    FrameAuth a(authFor(1, kKey));
    FrameAuth b(cfg);
    QList<QByteArray> frames;
    for (int i = 0; i < 100; ++i)
        frames.append(a.seal(FrameKind::Hello, encodeHello(Hello{1, {}, {}, false, {}}), kNow));
    QVERIFY(b.openDatagram(frames[50], kNow).ok());
    QVERIFY(b.openDatagram(frames[40], kNow).ok());  // late but inside the window
    QCOMPARE(b.openDatagram(frames[40], kNow).reason, DropReason::Replayed);
    QVERIFY(b.openDatagram(frames[99], kNow).ok());
    QCOMPARE(b.openDatagram(frames[10], kNow).reason, DropReason::BehindWindow);  // 90 behind, window 64
    QVERIFY(b.openDatagram(frames[98], kNow).ok());
}

void tst_NetCodec::datagramOldTimestampRejected() {
    FrameAuth a(authFor(1, kKey));
    FrameAuth b(authFor(2, kKey));
    const QByteArray old = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow - 30'001);
    QCOMPARE(b.openDatagram(old, kNow).reason, DropReason::Stale);
    const QByteArray future =
        a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow + 30'001);
    QCOMPARE(b.openDatagram(future, kNow).reason, DropReason::FromFuture);
    const QByteArray edge = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow - 30'000);
    QVERIFY(b.openDatagram(edge, kNow).ok());
    // Extreme timestamps do not overflow the comparison.
    const QByteArray minTs = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}),
                                    std::numeric_limits<qint64>::min());
    QCOMPARE(b.openDatagram(minTs, kNow).reason, DropReason::Stale);
    const QByteArray maxTs = a.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}),
                                    std::numeric_limits<qint64>::max());
    QCOMPARE(b.openDatagram(maxTs, kNow).reason, DropReason::FromFuture);
}

void tst_NetCodec::newIncarnationAccepted() {
    FrameAuth first(authFor(1, kKey, 111));
    FrameAuth b(authFor(2, kKey));
    const QByteArray old1 = first.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    const QByteArray old2 = first.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow);
    QVERIFY(b.openDatagram(old1, kNow).ok());
    QVERIFY(b.openDatagram(old2, kNow).ok());
    FrameAuth restarted(authFor(1, kKey, 222));  // seq starts again at 1
    QVERIFY(
        b.openDatagram(restarted.seal(FrameKind::Probe, encodeProbe(Probe{1, {}, {}, {}, false}), kNow + 5),
                       kNow + 5)
            .ok());
    // The old incarnation's traffic cannot be replayed: recent frames hit its window, old ones the clock.
    QCOMPARE(b.openDatagram(old1, kNow + 10).reason, DropReason::Replayed);
    QCOMPARE(b.openDatagram(old2, kNow + 60'000).reason, DropReason::Stale);
}

void tst_NetCodec::ownEchoDropped() {
    FrameAuth a(authFor(1, kKey));
    const QByteArray f = a.seal(FrameKind::Announce, encodeAnnounce(Announce{}), kNow);
    QCOMPARE(a.openDatagram(f, kNow).reason, DropReason::OwnEcho);
}

void tst_NetCodec::streamReplayRejected() {
    FrameAuth a(authFor(1, kKey));
    FrameAuth b(authFor(2, kKey));
    QList<QByteArray> frames;
    for (int i = 0; i < 5; ++i)
        frames.append(
            a.seal(FrameKind::Raft, encodeRaftMessage(sampleMessage(raft::MessageType::Heartbeat)), kNow));
    StreamState conn1;
    for (const QByteArray& f : frames)
        QVERIFY(b.openStreamFrame(f, kNow, conn1).ok());
    // Same connection: any old sequence is refused (strict increase).
    QCOMPARE(b.openStreamFrame(frames[4], kNow, conn1).reason, DropReason::BehindWindow);
    QCOMPARE(b.openStreamFrame(frames[0], kNow, conn1).reason, DropReason::BehindWindow);
    // A new connection replaying the recorded stream is refused by the per-sender window.
    StreamState conn2;
    QCOMPARE(b.openStreamFrame(frames[0], kNow, conn2).reason, DropReason::Replayed);
    QCOMPARE(conn2.sender, raft::kNoNode);  // not bound by a rejected frame
    // Legitimate frames sealed later are accepted on a new connection.
    const QByteArray next = a.seal(FrameKind::Raft, encodeRaftMessage(raft::Message{}), kNow);
    QVERIFY(b.openStreamFrame(next, kNow, conn2).ok());
}

void tst_NetCodec::streamSenderBinding() {
    FrameAuth a(authFor(1, kKey));
    FrameAuth c(authFor(3, kKey));
    FrameAuth b(authFor(2, kKey));
    StreamState st;
    QVERIFY(b.openStreamFrame(a.seal(FrameKind::Raft, {}, kNow), kNow, st).ok());
    QCOMPARE(st.sender, NodeId{1});
    QCOMPARE(b.openStreamFrame(c.seal(FrameKind::Raft, {}, kNow), kNow, st).reason,
             DropReason::SenderMismatch);
    FrameAuth aRestarted(authFor(1, kKey, 999));
    QCOMPARE(b.openStreamFrame(aRestarted.seal(FrameKind::Raft, {}, kNow), kNow, st).reason,
             DropReason::SenderMismatch);
}

void tst_NetCodec::streamFrameSize() {
    FrameAuth a(authFor(1, kKey));
    const QByteArray f = a.seal(FrameKind::AppRequest, encodeAppEnvelope(AppEnvelope{1, 2, 0, "abc"}), kNow);
    DropReason why = DropReason::Truncated;
    QCOMPARE(FrameAuth::streamFrameSize({}, &why), 0);
    QCOMPARE(FrameAuth::streamFrameSize(QByteArrayView(f).first(3), &why), 0);
    QCOMPARE(FrameAuth::streamFrameSize(QByteArrayView(f).first(kHeaderSize - 1), &why), 0);
    QCOMPARE(FrameAuth::streamFrameSize(QByteArrayView(f).first(kHeaderSize), &why), f.size());
    QCOMPARE(FrameAuth::streamFrameSize(QByteArray(f + f), &why), f.size());
    QCOMPARE(FrameAuth::streamFrameSize(QByteArrayLiteral("GET / HTTP/1.1\r\n"), &why), -1);
    QCOMPARE(why, DropReason::BadMagic);
    QCOMPARE(FrameAuth::streamFrameSize(QByteArrayLiteral("RX"), &why), -1);  // early magic check
}

void tst_NetCodec::replayGuardBounded() {
    ReplayGuard g(64, 8);
    for (NodeId s = 1; s <= 100; ++s)
        QCOMPARE(g.checkAndAccept(s, 1, 1), ReplayWindow::Verdict::Fresh);
    QCOMPARE(g.size(), 8u);
    // The most recent senders are still tracked.
    QCOMPARE(g.checkAndAccept(100, 1, 1), ReplayWindow::Verdict::Replayed);
    QCOMPARE(g.checkAndAccept(99, 1, 1), ReplayWindow::Verdict::Replayed);
}

void tst_NetCodec::replayWindowLargeJump() {
    ReplayWindow w(128);
    QCOMPARE(w.check(0), ReplayWindow::Verdict::BehindWindow);
    w.accept(5);
    w.accept(1000);  // jump larger than the window clears it
    QCOMPARE(w.check(5), ReplayWindow::Verdict::BehindWindow);
    QCOMPARE(w.check(999), ReplayWindow::Verdict::Fresh);
    QCOMPARE(w.check(1000), ReplayWindow::Verdict::Replayed);
    w.accept(1100);  // within the window: bits 1001..1099 cleared, 1000 kept
    QCOMPARE(w.check(1000), ReplayWindow::Verdict::Replayed);
    QCOMPARE(w.check(1050), ReplayWindow::Verdict::Fresh);
    QCOMPARE(w.check(1100 - 128), ReplayWindow::Verdict::BehindWindow);
    QCOMPARE(w.check(1100 - 127), ReplayWindow::Verdict::Fresh);
    QCOMPARE(w.check(std::numeric_limits<std::uint64_t>::max()), ReplayWindow::Verdict::Fresh);
}

void tst_NetCodec::dropLogLimiterRateLimits() {
    DropLogLimiter l(10'000);
    std::uint64_t suppressed = 99;
    QVERIFY(l.shouldLog(DropReason::BadMac, 0, &suppressed));
    QCOMPARE(suppressed, 0u);
    QVERIFY(!l.shouldLog(DropReason::BadMac, 1));
    QVERIFY(!l.shouldLog(DropReason::BadMac, 9'999));
    QVERIFY(l.shouldLog(DropReason::Replayed, 5));  // per reason
    QVERIFY(l.shouldLog(DropReason::BadMac, 10'000, &suppressed));
    QCOMPARE(suppressed, 2u);
}

void tst_NetCodec::dropReasonNamesDistinct() {
    QSet<QString> names;
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
        const QString n = dropReasonName(static_cast<DropReason>(i));
        QVERIFY(n != QLatin1StringView("unknown"));
        names.insert(n);
    }
    QCOMPARE(static_cast<std::size_t>(names.size()), kDropReasonCount);
    DropCounters c;
    c.add(DropReason::BadMac);
    c.add(DropReason::BadMac);
    c.add(DropReason::Stale);
    DropCounters d;
    d.add(DropReason::Stale);
    d += c;
    QCOMPARE(d.count(DropReason::Stale), 2u);
    QCOMPARE(d.total(), 4u);
}

void tst_NetCodec::hostPortParsing() {
    QCOMPARE(parseHostPort(QStringLiteral("10.0.0.1:7000")), (HostPort{QStringLiteral("10.0.0.1"), 7000}));
    QCOMPARE(parseHostPort(QStringLiteral(" node-a.local:1 ")),
             (HostPort{QStringLiteral("node-a.local"), 1}));
    QCOMPARE(parseHostPort(QStringLiteral("[::1]:9000")), (HostPort{QStringLiteral("::1"), 9000}));
    QCOMPARE(parseHostPort(QStringLiteral("[::1]:9000"))->toString(), QStringLiteral("[::1]:9000"));
    for (const char* bad :
         {"", ":1", "host", "host:", "host:0", "host:65536", "host:x", "::1:80", "[::1:80", "a b:1", "[]:1"})
        QVERIFY2(!parseHostPort(QString::fromLatin1(bad)), bad);
    const auto list = parseHostPortList(QStringLiteral("a:1, b:2,,c:3"));
    QVERIFY(list);
    QCOMPARE(list->size(), 3);
    QVERIFY(!parseHostPortList(QStringLiteral("a:1,b")));
    QVERIFY(parseHostPortList(QString())->isEmpty());
}

void tst_NetCodec::defaultRouteParsing() {
    const QByteArray table =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth1\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
        "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
    QCOMPARE(defaultRouteInterfaceFrom(table), QStringLiteral("eth0"));
    QCOMPARE(defaultRouteInterfaceFrom(QByteArray("Iface\tDestination\n")), QString());
    QCOMPARE(defaultRouteInterfaceFrom(QByteArray()), QString());
    QCOMPARE(defaultRouteInterfaceFrom(QByteArray("garbage\n\x01\x02 00000000 zz\n")), QString());
    QVERIFY(!defaultRouteInterface().isEmpty());
}

void tst_NetCodec::backoffGrowsWithJitterAndCap() {
    std::mt19937_64 rng(42);
    QSet<int> distinct;
    for (int attempt = 1; attempt <= 40; ++attempt) {
        const int base = static_cast<int>(std::min<qint64>(qint64{100} << std::min(attempt - 1, 30), 5000));
        for (int k = 0; k < 50; ++k) {
            const int d = backoffDelayMs(attempt, 100, 5000, rng);
            QVERIFY2(d >= base - base / 2 && d <= base,
                     qPrintable(QStringLiteral("%1: %2").arg(attempt).arg(d)));
            if (attempt == 3) distinct.insert(d);
        }
    }
    QVERIFY(distinct.size() > 10);  // jittered
    std::mt19937_64 r1(7), r2(7);
    for (int i = 1; i < 20; ++i)
        QCOMPARE(backoffDelayMs(i, 100, 5000, r1), backoffDelayMs(i, 100, 5000, r2));
    QVERIFY(backoffDelayMs(0, 0, 0, r1) >= 1);  // degenerate configuration still waits
}

QTEST_GUILESS_MAIN(tst_NetCodec)
#include "tst_net_codec.moc"
