// Codecs of the node layer: state-machine commands (commands.h) and shard RPC payloads (jobs.h).
// Round trips, the chunk header layout, and robustness against garbage, truncation and bit flips.
#include <QRandomGenerator>
#include <QtTest>

#include "node/commands.h"
#include "node/jobs.h"
#include "wordcount/wordcount.h"

using namespace raftwc::node;
using raftwc::wordcount::FreqMode;
using raftwc::wordcount::ShardCounts;

namespace {

QByteArray randomBytes(QRandomGenerator& rng, qsizetype n) {
    QByteArray b(n, Qt::Uninitialized);
    for (qsizetype i = 0; i < n; ++i)
        b[i] = char(rng.bounded(256));
    return b;
}

QString randomText(QRandomGenerator& rng, int maxChars) {
    static const QString alphabet = QStringLiteral("abcXYZ 019-_.\u00e9\u00df\u4e2d\u0416\U0001F600");
    QString s;
    const int n = rng.bounded(maxChars + 1);
    for (int i = 0; i < n; ++i) {
        const int k = rng.bounded(int(alphabet.size()));
        if (alphabet.at(k).isHighSurrogate()) {
            s += alphabet.mid(k, 2);
        } else if (alphabet.at(k).isLowSurrogate()) {
            s += alphabet.mid(k - 1, 2);
        } else {
            s += alphabet.at(k);
        }
    }
    return s;
}

FileChunk randomChunk(QRandomGenerator& rng) {
    return FileChunk{randomBytes(rng, kFileIdBytes), rng.generate64(), randomBytes(rng, rng.bounded(3000))};
}

FileManifest randomManifest(QRandomGenerator& rng) {
    return FileManifest{
        randomBytes(rng, kFileIdBytes),    randomText(rng, 40), rng.generate64(), randomBytes(rng, 32),
        randomBytes(rng, rng.bounded(65)), randomBytes(rng, 16)};
}

JobResult randomJobResult(QRandomGenerator& rng) {
    return JobResult{randomBytes(rng, rng.bounded(65)), randomText(rng, 200).toUtf8(),
                     randomBytes(rng, rng.bounded(2000))};
}

ShardCounts randomCounts(QRandomGenerator& rng) {
    static const char* const words[] = {"alpha", "Beta", "gamma-ray", "don't", "\xc3\xa9t\xc3\xa9",
                                        "x",     "42"};
    std::string text;
    const int n = rng.bounded(60);
    for (int i = 0; i < n; ++i) {
        text += words[rng.bounded(7)];
        text += rng.bounded(5) == 0 ? '\n' : ' ';
    }
    const FreqMode mode = FreqMode(rng.bounded(3));
    return raftwc::wordcount::countBytes(text, mode);
}

bool sameManifest(const FileManifest& a, const FileManifest& b) {
    return a.fileId == b.fileId && a.name == b.name && a.size == b.size && a.sha256 == b.sha256 &&
           a.jobId == b.jobId && a.coordinator == b.coordinator;
}

/// Every byte of `payload` damaged in turn: truncations, one appended byte, single bit flips.
template <class F>
void forEachDamage(const QByteArray& payload, QRandomGenerator& rng, int flips, F&& check) {
    for (qsizetype n = 0; n < payload.size(); ++n)
        check(payload.left(n), /*truncated=*/true);
    check(payload + char(rng.bounded(256)), true);
    for (int i = 0; i < flips && !payload.isEmpty(); ++i) {
        QByteArray b = payload;
        const qsizetype pos = rng.bounded(int(b.size()));
        b[pos] = char(b[pos] ^ char(1 << rng.bounded(8)));
        check(b, false);
    }
}

}  // namespace

class tst_NodeCommands : public QObject {
    Q_OBJECT
  private slots:
    void rawWordsAreLossless_data();
    void rawWordsAreLossless();
    void fileChunkRoundTrip();
    void fileChunkIdPadding();
    void chunkHeaderLayout();
    void chunkHeaderRejects();
    void manifestRoundTrip();
    void jobResultRoundTrip();
    void memberAddressRoundTrip();
    void fileAbandonedRoundTrip();
    void commandsRejectTruncationAndTrailingBytes();
    void commandsBitFlipsDecodeCanonically();
    void randomGarbage();
    void unknownVersionAndKind();
    void manifestFieldLimits();
    void shardRequestRoundTrip();
    void shardRequestRejects();
    void shardReplyRoundTrip();
    void shardReplyDamageNeverChangesCounts();
    void shardProgressRoundTrip();
    void wordTableRoundTrip();
    void longWordsAreShownBounded();
    void wordTableBudget();
    void wordTableRejectsDamage();
};

void tst_NodeCommands::fileChunkRoundTrip() {
    QRandomGenerator rng(1);
    for (int i = 0; i < 200; ++i) {
        const FileChunk c = randomChunk(rng);
        const QByteArray p = encodeCommand(c);
        QCOMPARE(quint64(p.size()), kChunkHeaderBytes + quint64(c.bytes.size()));
        QString why;
        const auto d = decodeCommand(p, &why);
        QVERIFY2(d.has_value(), qPrintable(why));
        const auto* got = std::get_if<FileChunk>(&*d);
        QVERIFY(got);
        QCOMPARE(got->fileId, c.fileId);
        QCOMPARE(got->fileOffset, c.fileOffset);
        QCOMPARE(got->bytes, c.bytes);
    }
    // Empty chunk.
    const FileChunk empty{QByteArray(kFileIdBytes, 'a'), 0, {}};
    const auto d = decodeCommand(encodeCommand(empty));
    QVERIFY(d && std::get_if<FileChunk>(&*d) && std::get<FileChunk>(*d).bytes.isEmpty());
}

void tst_NodeCommands::fileChunkIdPadding() {
    // The file id field is fixed width: shorter ids are zero-padded, longer ones cut.
    const auto shortId = decodeCommand(encodeCommand(FileChunk{QByteArrayLiteral("abc"), 5, "x"}));
    QVERIFY(shortId);
    QCOMPARE(std::get<FileChunk>(*shortId).fileId, QByteArray("abc") + QByteArray(13, '\0'));
    const auto longId = decodeCommand(encodeCommand(FileChunk{QByteArray(40, 'z'), 5, "x"}));
    QVERIFY(longId);
    QCOMPARE(std::get<FileChunk>(*longId).fileId, QByteArray(16, 'z'));
}

void tst_NodeCommands::chunkHeaderLayout() {
    QRandomGenerator rng(2);
    for (int i = 0; i < 200; ++i) {
        const FileChunk c = randomChunk(rng);
        const QByteArray p = encodeCommand(c);
        // The header alone (what a replay reads from disk) is enough, and so is the whole payload.
        for (const QByteArray& prefix : {p.left(qsizetype(kChunkHeaderBytes)), p}) {
            const auto h = decodeChunkHeader(prefix);
            QVERIFY(h);
            QCOMPARE(h->fileId, c.fileId);
            QCOMPARE(h->fileOffset, c.fileOffset);
            QCOMPARE(qsizetype(h->length), c.bytes.size());
        }
        // The bytes sit right after the header: a shard can pread them at a fixed offset.
        QCOMPARE(p.mid(qsizetype(kChunkHeaderBytes)), c.bytes);
        // Agrees with the full decode.
        const FileChunk full = std::get<FileChunk>(*decodeCommand(p));
        QCOMPARE(full.bytes.size(), qsizetype(decodeChunkHeader(p)->length));
    }
}

void tst_NodeCommands::chunkHeaderRejects() {
    QRandomGenerator rng(3);
    const QByteArray p = encodeCommand(randomChunk(rng));
    for (qsizetype n = 0; n < qsizetype(kChunkHeaderBytes); ++n)
        QVERIFY2(!decodeChunkHeader(p.left(n)), qPrintable(QString::number(n)));
    QVERIFY(!decodeChunkHeader(encodeCommand(randomManifest(rng))));
    QVERIFY(!decodeChunkHeader(encodeCommand(randomJobResult(rng))));
    QByteArray badVersion = p;
    badVersion[0] = char(kCommandVersion + 1);
    QVERIFY(!decodeChunkHeader(badVersion));
}

void tst_NodeCommands::manifestRoundTrip() {
    QRandomGenerator rng(4);
    for (int i = 0; i < 200; ++i) {
        const FileManifest m = randomManifest(rng);
        QString why;
        const auto d = decodeCommand(encodeCommand(m), &why);
        QVERIFY2(d, qPrintable(why));
        const auto* got = std::get_if<FileManifest>(&*d);
        QVERIFY(got);
        QVERIFY(sameManifest(*got, m));
    }
}

void tst_NodeCommands::jobResultRoundTrip() {
    QRandomGenerator rng(5);
    for (int i = 0; i < 200; ++i) {
        const JobResult r = randomJobResult(rng);
        const auto d = decodeCommand(encodeCommand(r));
        QVERIFY(d);
        const auto* got = std::get_if<JobResult>(&*d);
        QVERIFY(got);
        QCOMPARE(got->jobId, r.jobId);
        QCOMPARE(got->json, r.json);
        QCOMPARE(got->freqTable, r.freqTable);
    }
}

void tst_NodeCommands::fileAbandonedRoundTrip() {
    const QByteArray id = QByteArray::fromHex("00112233445566778899aabbccddeeff");
    const QByteArray b = encodeCommand(FileAbandoned{id});
    QCOMPARE(b.size(), 2 + kFileIdBytes);
    const auto d = decodeCommand(b);
    QVERIFY(d);
    QVERIFY(std::holds_alternative<FileAbandoned>(*d));
    QCOMPARE(std::get<FileAbandoned>(*d).fileId, id);
    QString why;
    QVERIFY(!decodeCommand(b.chopped(1), &why));
    QVERIFY(!decodeCommand(b + 'x', &why));
    QCOMPARE(why, QStringLiteral("malformed file abandonment"));
}

void tst_NodeCommands::memberAddressRoundTrip() {
    QRandomGenerator rng(6);
    for (int i = 0; i < 200; ++i) {
        const MemberAddress a{randomText(rng, 60), randomText(rng, 60)};
        const QByteArray b = encodeMemberAddress(a);
        const auto d = decodeMemberAddress(b);
        QVERIFY(d);
        QCOMPARE(*d, a);
        forEachDamage(b, rng, 20, [&](const QByteArray& bad, bool truncated) {
            const auto x = decodeMemberAddress(bad);
            if (truncated) {
                QVERIFY(!x);
            } else if (x) {
                QCOMPARE(encodeMemberAddress(*x), bad);
            }
        });
        if (QTest::currentTestFailed()) return;
    }
    QVERIFY(!decodeMemberAddress({}));
    // The MemberAddress command (kind 4) round-trips through encodeCommand/decodeCommand; node 0 is refused.
    const MemberAddressUpdate up{0x1234abcdULL,
                                 {QStringLiteral("10.1.2.3:7000"), QStringLiteral("10.1.2.3:3000")}};
    const auto cmd = decodeCommand(encodeCommand(up));
    QVERIFY(cmd);
    const auto* got = std::get_if<MemberAddressUpdate>(&*cmd);
    QVERIFY(got);
    QCOMPARE(got->node, up.node);
    QCOMPARE(got->address, up.address);
    QVERIFY(!decodeCommand(encodeCommand(MemberAddressUpdate{0, up.address})));
    QVERIFY(!decodeMemberAddress(encodeMemberAddress({QString(301, QLatin1Char('a')), {}})));
}

void tst_NodeCommands::commandsRejectTruncationAndTrailingBytes() {
    QRandomGenerator rng(7);
    for (int i = 0; i < 60; ++i) {
        const QByteArray payloads[] = {encodeCommand(randomChunk(rng)), encodeCommand(randomManifest(rng)),
                                       encodeCommand(randomJobResult(rng))};
        for (const QByteArray& p : payloads) {
            for (qsizetype n = 0; n < p.size(); ++n) {
                QString why;
                QVERIFY2(!decodeCommand(p.left(n), &why), qPrintable(QString::number(n)));
                QVERIFY(!why.isEmpty());
            }
            QVERIFY(!decodeCommand(p + '\0'));
        }
    }
}

void tst_NodeCommands::commandsBitFlipsDecodeCanonically() {
    // Without a checksum a flipped bit may give another valid command, but never a lenient one: whatever
    // decodes re-encodes to exactly the damaged bytes (no field is read loosely or ignored).
    QRandomGenerator rng(8);
    int decoded = 0, rejected = 0;
    for (int i = 0; i < 300; ++i) {
        const Command cmds[] = {randomChunk(rng), randomManifest(rng), randomJobResult(rng)};
        for (const Command& c : cmds) {
            const QByteArray p = encodeCommand(c);
            forEachDamage(p, rng, 8, [&](const QByteArray& bad, bool) {
                const auto d = decodeCommand(bad);
                if (!d) {
                    ++rejected;
                    return;
                }
                ++decoded;
                QCOMPARE(encodeCommand(*d), bad);
            });
            if (QTest::currentTestFailed()) return;
        }
    }
    QVERIFY(rejected > 0);
    QVERIFY(decoded > 0);
}

void tst_NodeCommands::randomGarbage() {
    QRandomGenerator rng(9);
    for (int i = 0; i < 20000; ++i) {
        QByteArray g = randomBytes(rng, rng.bounded(80));
        if (rng.bounded(2) && g.size() >= 2) {  // plausible header, so decoding goes deeper
            g[0] = char(kCommandVersion);
            g[1] = char(1 + rng.bounded(3));
        }
        const auto d = decodeCommand(g);
        if (d) QCOMPARE(encodeCommand(*d), g);
        if (const auto h = decodeChunkHeader(g)) {
            QVERIFY(g.size() >= qsizetype(kChunkHeaderBytes));
            if (d) {  // a complete chunk: the header agrees with the full decode
                const auto* c = std::get_if<FileChunk>(&*d);
                QVERIFY(c);
                QCOMPARE(h->fileId, c->fileId);
                QCOMPARE(h->fileOffset, c->fileOffset);
                QCOMPARE(qsizetype(h->length), c->bytes.size());
            }
        } else if (d) {
            QVERIFY(!std::holds_alternative<FileChunk>(*d));
        }
        if (const auto a = decodeMemberAddress(g)) QCOMPARE(encodeMemberAddress(*a), g);
        if (const auto r = decodeShardRequest(g)) QCOMPARE(encodeShardRequest(*r), g);
        if (const auto n = decodeShardProgress(g)) QCOMPARE(encodeShardProgress(*n), g);
        if (const auto s = decodeShardReply(g); s && s->ok) QCOMPARE(encodeShardReply(*s), g);
    }
}

void tst_NodeCommands::unknownVersionAndKind() {
    QRandomGenerator rng(10);
    QByteArray p = encodeCommand(randomManifest(rng));
    for (int v = 0; v < 256; ++v) {
        if (v == kCommandVersion) continue;
        QByteArray b = p;
        b[0] = char(v);
        QString why;
        QVERIFY(!decodeCommand(b, &why));
        QVERIFY2(why.contains(QLatin1String("version")), qPrintable(why));
    }
    for (int k : {0, 9, 10, 200, 255}) {  // 5 FileAbandoned, 6 JobTablePiece, 7 JobDeleted, 8 FileDeleted
        QByteArray b = p;
        b[1] = char(k);
        QString why;
        QVERIFY(!decodeCommand(b, &why));
        QVERIFY2(why.contains(QLatin1String("kind")), qPrintable(why));
    }
    QString why;
    QVERIFY(!decodeCommand(QByteArray(), &why));
    QVERIFY(!why.isEmpty());
}

void tst_NodeCommands::manifestFieldLimits() {
    // The decoder bounds every field; the coordinator's values stay far inside (job ids <= 64 bytes,
    // names <= 255 characters, node ids 16 hex digits).
    FileManifest m{
        QByteArray(16, 'f'), QString(4096, QLatin1Char('n')), 1, QByteArray(32, 's'), QByteArray(128, 'j'),
        QByteArray(64, 'c')};
    QVERIFY(decodeCommand(encodeCommand(m)));
    FileManifest longName = m;
    longName.name += QLatin1Char('n');
    QVERIFY(!decodeCommand(encodeCommand(longName)));
    FileManifest longJob = m;
    longJob.jobId += 'j';
    QVERIFY(!decodeCommand(encodeCommand(longJob)));
    FileManifest longCoord = m;
    longCoord.coordinator += 'c';
    QVERIFY(!decodeCommand(encodeCommand(longCoord)));
}

void tst_NodeCommands::shardRequestRoundTrip() {
    QRandomGenerator rng(11);
    for (int i = 0; i < 300; ++i) {
        ShardRequest r;
        r.jobId = randomBytes(rng, rng.bounded(129));
        r.fileId = randomBytes(rng, 16);
        r.manifestIndex = rng.generate64();
        r.shard = {rng.generate64(), rng.generate64()};
        r.mode = FreqMode(rng.bounded(3));
        r.shardNo = rng.generate();
        if (i % 2) {  // pipelined (version 2): a piece inside the committed prefix
            r.knownEnd = 1 + rng.generate64() / 2;
            r.shard.offset = rng.generate64() % (r.knownEnd + 1);
            r.shard.length = rng.generate64() % (r.knownEnd - r.shard.offset + 1);
            r.finalEnd = rng.bounded(2);
        }
        const QByteArray b = encodeShardRequest(r);
        QCOMPARE(int(b[0]), i % 2 ? 2 : 1);
        const auto d = decodeShardRequest(b);
        QVERIFY(d);
        QCOMPARE(d->knownEnd, r.knownEnd);
        QCOMPARE(d->finalEnd, r.finalEnd);
        QCOMPARE(d->jobId, r.jobId);
        QCOMPARE(d->fileId, r.fileId);
        QCOMPARE(d->manifestIndex, r.manifestIndex);
        QCOMPARE(d->shard, r.shard);
        QCOMPARE(d->mode, r.mode);
        QCOMPARE(d->shardNo, r.shardNo);
        forEachDamage(b, rng, 10, [&](const QByteArray& bad, bool truncated) {
            const auto x = decodeShardRequest(bad);
            if (truncated) {
                QVERIFY(!x);
            } else if (x) {
                QCOMPARE(encodeShardRequest(*x), bad);
            }
        });
        if (QTest::currentTestFailed()) return;
    }
}

void tst_NodeCommands::shardRequestRejects() {
    ShardRequest r;
    r.jobId = "job";
    r.fileId = QByteArray(16, 'f');
    QByteArray b = encodeShardRequest(r);
    // The mode byte sits 5 bytes before the end (mode u8, shardNo u32).
    const qsizetype modePos = b.size() - 5;
    QCOMPARE(quint8(b[modePos]), quint8(FreqMode::Normalized));
    for (int m = 3; m < 256; ++m) {
        QByteArray bad = b;
        bad[modePos] = char(m);
        QVERIFY(!decodeShardRequest(bad));
    }
    r.jobId = QByteArray(129, 'j');
    QVERIFY(!decodeShardRequest(encodeShardRequest(r)));
    r.jobId = "job";
    r.fileId = QByteArray(65, 'f');
    QVERIFY(!decodeShardRequest(encodeShardRequest(r)));
    for (int v : {0, 2, 3, 255}) {  // 2: a version 1 body lacks the committed prefix
        QByteArray badVersion = b;
        badVersion[0] = char(v);
        QVERIFY(!decodeShardRequest(badVersion));
    }
    // Version 2: the piece must lie in the known prefix, which is never empty.
    r.fileId = QByteArray(16, 'f');
    r.knownEnd = 100;
    r.shard = {40, 60};
    QVERIFY(decodeShardRequest(encodeShardRequest(r)));
    r.shard = {40, 61};
    QVERIFY(!decodeShardRequest(encodeShardRequest(r)));
    r.shard = {101, 0};
    QVERIFY(!decodeShardRequest(encodeShardRequest(r)));
    r.shard = {0, 0};
    r.knownEnd = 0;
    QByteArray v2 = encodeShardRequest(r);  // knownEnd 0 encodes as version 1 ...
    QCOMPARE(int(v2[0]), 1);
    v2[0] = 2;  // ... and a version 2 body naming no known bytes is refused
    v2 += QByteArray(9, '\0');
    QVERIFY(!decodeShardRequest(v2));
}

void tst_NodeCommands::shardReplyRoundTrip() {
    QRandomGenerator rng(12);
    for (int i = 0; i < 200; ++i) {
        ShardReply r;
        r.ok = rng.bounded(3) != 0;
        r.error = r.ok ? QString() : randomText(rng, 50);
        r.ms = rng.generate();
        if (r.ok) r.counts = randomCounts(rng);
        const auto d = decodeShardReply(encodeShardReply(r));
        QVERIFY(d);
        QCOMPARE(d->ok, r.ok);
        QCOMPARE(d->error, r.error);
        QCOMPARE(d->ms, r.ms);
        QVERIFY(d->counts == r.counts);
    }
    // A failure reply carries no counts even if the struct had some.
    ShardReply failed;
    failed.ok = false;
    failed.error = QStringLiteral("disk on fire");
    failed.counts = raftwc::wordcount::countBytes("a b c", FreqMode::Raw);
    const auto d = decodeShardReply(encodeShardReply(failed));
    QVERIFY(d && !d->ok);
    QCOMPARE(d->counts.words, 0u);
    QCOMPARE(d->error, QStringLiteral("disk on fire"));
}

void tst_NodeCommands::shardReplyDamageNeverChangesCounts() {
    // The counts are checksummed (serialize.h): damage either fails the decode, turns the reply into a
    // failure (the coordinator then retries the shard elsewhere), or leaves the counts exactly as sent.
    QRandomGenerator rng(13);
    int rejected = 0;
    for (int i = 0; i < 150; ++i) {
        ShardReply r;
        r.ok = true;
        r.ms = 17;
        r.counts = randomCounts(rng);
        const QByteArray b = encodeShardReply(r);
        forEachDamage(b, rng, 40, [&](const QByteArray& bad, bool truncated) {
            const auto x = decodeShardReply(bad);
            if (truncated) QVERIFY(!x);
            if (!x) {
                ++rejected;
                return;
            }
            if (x->ok) QVERIFY(x->counts == r.counts);
        });
        if (QTest::currentTestFailed()) return;
    }
    QVERIFY(rejected > 0);
}

void tst_NodeCommands::shardProgressRoundTrip() {
    QRandomGenerator rng(14);
    for (int i = 0; i < 300; ++i) {
        const ShardProgressNote p{randomBytes(rng, rng.bounded(129)), rng.generate(), rng.generate64()};
        const QByteArray b = encodeShardProgress(p);
        const auto d = decodeShardProgress(b);
        QVERIFY(d);
        QCOMPARE(d->jobId, p.jobId);
        QCOMPARE(d->shardNo, p.shardNo);
        QCOMPARE(d->bytesDone, p.bytesDone);
        forEachDamage(b, rng, 10, [&](const QByteArray& bad, bool truncated) {
            const auto x = decodeShardProgress(bad);
            if (truncated) {
                QVERIFY(!x);
            } else if (x) {
                QCOMPARE(encodeShardProgress(*x), bad);
            }
        });
        if (QTest::currentTestFailed()) return;
    }
    QVERIFY(!decodeShardProgress(encodeShardProgress({QByteArray(129, 'j'), 0, 0})));
}

namespace {
std::vector<raftwc::wordcount::WordCount> randomSortedTable(QRandomGenerator& rng, int n) {
    raftwc::wordcount::FrequencyTable t;
    for (int i = 0; i < n; ++i) {
        std::string w;
        const int len = 1 + rng.bounded(12);
        for (int k = 0; k < len; ++k)
            w += char(rng.bounded(2) ? 'a' + rng.bounded(26) : rng.bounded(256));
        t.add(w, 1 + rng.bounded(1000));
    }
    return raftwc::wordcount::sortedEntries(t);
}
}  // namespace

void tst_NodeCommands::rawWordsAreLossless_data() {
    QTest::addColumn<QByteArray>("word");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("hasBytes");
    QTest::newRow("ascii") << QByteArray("word") << QStringLiteral("word") << false;
    QTest::newRow("utf8") << QByteArray("h\xc3\xa9llo") << QStringLiteral("h\u00e9llo") << false;
    QTest::newRow("astral") << QByteArray("\xf0\x9f\x98\x80") << QStringLiteral("\U0001F600") << false;
    QTest::newRow("ff") << QByteArray("\xff") << QStringLiteral("\\xFF") << true;
    QTest::newRow("fe") << QByteArray("\xfe") << QStringLiteral("\\xFE") << true;
    QTest::newRow("cut-sequence") << QByteArray("a\xc3") << QStringLiteral("a\\xC3") << true;
    QTest::newRow("overlong") << QByteArray("\xc0\xaf") << QStringLiteral("\\xC0\\xAF") << true;
    QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << QStringLiteral("\\xED\\xA0\\x80") << true;
    QTest::newRow("above-10ffff") << QByteArray("\xf4\x90\x80\x80") << QStringLiteral("\\xF4\\x90\\x80\\x80")
                                  << true;
    QTest::newRow("mixed") << QByteArray("ok\xffok\xc3\xa9") << QStringLiteral("ok\\xFFok\u00e9") << true;
}

void tst_NodeCommands::rawWordsAreLossless() {
    // Issue 10: invalid UTF-8 became U+FFFD in JSON, so \xff and \xfe were shown as one word. Now each
    // invalid byte is an escape, and the exact bytes come along in base64.
    QFETCH(QByteArray, word);
    QFETCH(QString, text);
    QFETCH(bool, hasBytes);
    const QJsonObject o = wordJson(word.toStdString(), 7);
    QCOMPARE(o.value(QStringLiteral("word")).toString(), text);
    QCOMPARE(o.value(QStringLiteral("count")).toInteger(), 7);
    QCOMPARE(o.contains(QStringLiteral("bytes")), hasBytes);
    if (hasBytes)
        QCOMPARE(QByteArray::fromBase64(o.value(QStringLiteral("bytes")).toString().toLatin1()), word);
    QVERIFY(!o.value(QStringLiteral("word")).toString().contains(QChar(0xFFFD)));
}

void tst_NodeCommands::longWordsAreShownBounded() {
    QCOMPARE(shownWord("short"), std::string("short"));
    const std::string exact(kMaxShownWordBytes, 'a');
    QCOMPARE(shownWord(exact), exact);
    // 5 MiB of "ab": the first 256 bytes, then the length and a hash.
    std::string big;
    for (int i = 0; i < (5 << 19); ++i)
        big += "ab";
    const std::string s = shownWord(big);
    QVERIFY(s.size() < kMaxShownWordBytes + 64);
    QVERIFY(s.rfind(big.substr(0, kMaxShownWordBytes) + " \xE2\x80\xA6[5242880 bytes, sha256 ", 0) == 0);
    QVERIFY(s.find(' ') != std::string::npos);  // never a word itself
    // Two long words that share their first bytes stay distinct.
    std::string other = big;
    other.back() = 'z';
    QVERIFY(shownWord(other) != s);
    // The cut never splits a UTF-8 character: 'é' is 2 bytes, so 300 of them cut at 256 bytes exactly...
    std::string accents;
    for (int i = 0; i < 300; ++i)
        accents += "\xC3\xA9";
    QCOMPARE(shownWord(accents).substr(0, 256), accents.substr(0, 256));
    // ...and with one ASCII byte in front, at 255.
    const std::string shifted = "x" + accents;
    const std::string shownShifted = shownWord(shifted);
    QCOMPARE(shownShifted.substr(0, 256), shifted.substr(0, 255) + " ");
    QVERIFY(QString::fromUtf8(shownShifted.data(), qsizetype(shownShifted.size())).toUtf8().toStdString() ==
            shownShifted);  // valid UTF-8 throughout
}

void tst_NodeCommands::wordTableRoundTrip() {
    QRandomGenerator rng(15);
    for (int n : {0, 1, 2, 17, 1000, 20000}) {
        const auto sorted = randomSortedTable(rng, n);
        std::size_t kept = 999999;
        bool complete = false;
        const QByteArray packed = encodeWordTable(sorted, kMaxStoredTableBytes, &kept, &complete);
        QCOMPARE(kept, sorted.size());
        QVERIFY(complete);
        const auto back = decodeWordTable(packed);
        QVERIFY(back);
        QVERIFY(*back == sorted);
    }
}

void tst_NodeCommands::wordTableBudget() {
    // Over budget: the top entries that fit are kept, in order, and the result fits the budget.
    QRandomGenerator rng(16);
    const auto sorted = randomSortedTable(rng, 50000);
    for (std::size_t budget :
         {std::size_t(200), std::size_t(4096), std::size_t(60000), std::size_t(300000)}) {
        std::size_t kept = 0;
        bool complete = true;
        const QByteArray packed = encodeWordTable(sorted, budget, &kept, &complete);
        QVERIFY2(std::size_t(packed.size()) <= budget, qPrintable(QString::number(budget)));
        QVERIFY(!complete);
        QVERIFY(kept < sorted.size());
        const auto back = decodeWordTable(packed);
        QVERIFY(back);
        QCOMPARE(back->size(), kept);
        QVERIFY(std::equal(back->begin(), back->end(), sorted.begin()));
        if (budget >= 4096) QVERIFY(kept > 0);
    }
}

void tst_NodeCommands::wordTableRejectsDamage() {
    QRandomGenerator rng(17);
    const auto sorted = randomSortedTable(rng, 300);
    std::size_t kept = 0;
    bool complete = false;
    const QByteArray packed = encodeWordTable(sorted, kMaxStoredTableBytes, &kept, &complete);
    // Damage inside the compressed stream: qUncompress fails or the table does not parse; never a crash,
    // and whatever decodes is a well-formed table.
    const QByteArray raw = qUncompress(packed);
    QVERIFY(!raw.isEmpty());
    forEachDamage(raw, rng, 200, [&](const QByteArray& bad, bool truncated) {
        const auto t = decodeWordTable(qCompress(bad));
        if (truncated) QVERIFY(!t);
    });
    QVERIFY(!decodeWordTable({}));
    QVERIFY(!decodeWordTable(QByteArrayLiteral("not compressed at all")));
    // A huge entry count in a tiny table is refused before any allocation.
    QByteArray lie = raw.left(1) + QByteArray(8, '\xff');
    QVERIFY(!decodeWordTable(qCompress(lie)));
}

QTEST_GUILESS_MAIN(tst_NodeCommands)
#include "tst_node_commands.moc"
