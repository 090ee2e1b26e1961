// Unit tests of the pure parts of raftwc_http: the request-head peek, the stream tracker and the
// multipart parser, including randomized garbage that must never crash or break invariants.
#include "http/multipart.h"
#include "http/request_reader.h"

#include <QRandomGenerator>
#include <QTest>

using namespace raftwc::http;

class tst_HttpParsers : public QObject {
    Q_OBJECT
  private slots:
    void peek_data();
    void peek();
    void peekIncompleteIsNeedMore();
    void peekHugeContentLengthRejectedFromHeadOnly();
    void peekHeadTooLarge();
    void streamSplitsAnywhere();
    void streamKeepAliveAndPipelining();
    void streamChunked();
    void streamChunkedOverLimit();
    void pipelinedPostThenPartialUpload();
    void headerFieldLimit();
    void smuggledRequestRefused();
    void http10ClosesUnlessKeepAlive();
    void bodyIsAViewNeverACopy();
    void streamExpectContinue();
    void streamGarbageNeverCrashes();
    void multipart_data();
    void multipart();
    void multipartFilenameStar();
    void multipartStreamSplits_data() { multipart_data(); }
    void multipartStreamSplits();
    void multipartGarbageNeverCrashes();
};

void tst_HttpParsers::peek_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("kind");  // 0 NeedMore, 1 Ok, 2 Reject
    QTest::addColumn<int>("status");
    QTest::addColumn<qint64>("contentLength");

    QTest::newRow("get") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n") << 1 << 0 << qint64(0);
    QTest::newRow("post-length") << QByteArray("POST /api/count HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello")
                                 << 1 << 0 << qint64(12);
    QTest::newRow("lf-only") << QByteArray("GET / HTTP/1.0\nHost: x\n\n") << 1 << 0 << qint64(0);
    QTest::newRow("garbage-line") << QByteArray("GARBAGE\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("tls-hello") << QByteArray("\x16\x03\x01\x02\x00\x01\x00", 7) << 2 << 400 << qint64(0);
    QTest::newRow("lowercase-method") << QByteArray("get / HTTP/1.1\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("unknown-method") << QByteArray("BREW /pot HTTP/1.1\r\n\r\n") << 2 << 501 << qint64(0);
    QTest::newRow("no-version") << QByteArray("GET /\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("http2") << QByteArray("GET / HTTP/2.0\r\n\r\n") << 2 << 505 << qint64(0);
    QTest::newRow("relative-target") << QByteArray("GET x HTTP/1.1\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("bad-length") << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n") << 2 << 400
                                << qint64(0);
    QTest::newRow("neg-length") << QByteArray("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") << 2 << 400
                                << qint64(0);
    QTest::newRow("conflicting-length")
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") << 2 << 400
        << qint64(0);
    QTest::newRow("same-length-twice")
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n") << 1 << 0
        << qint64(2);
    QTest::newRow("te-and-length")
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") << 2
        << 400 << qint64(0);
    QTest::newRow("te-gzip") << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") << 2 << 501
                             << qint64(0);
    QTest::newRow("folded") << QByteArray("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("no-colon") << QByteArray("GET / HTTP/1.1\r\nAbc\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("space-in-name") << QByteArray("GET / HTTP/1.1\r\nA b: c\r\n\r\n") << 2 << 400 << qint64(0);
    QTest::newRow("ctl-in-value") << QByteArray("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n") << 2 << 400
                                  << qint64(0);
    QTest::newRow("over-limit") << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n") << 2 << 413
                                << qint64(0);
    QTest::newRow("at-limit") << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n") << 1 << 0
                              << qint64(1000);
    QTest::newRow("partial-ok") << QByteArray("POST /api/co") << 0 << 0 << qint64(0);
    QTest::newRow("empty") << QByteArray() << 0 << 0 << qint64(0);
    QTest::newRow("empty-line") << QByteArray("\r\n\r\n") << 2 << 400 << qint64(0);
}

void tst_HttpParsers::peek() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, kind);
    QFETCH(int, status);
    QFETCH(qint64, contentLength);
    const HeadPeek p = peekRequestHead(bytes, StreamLimits{1000, 4096});
    QCOMPARE(int(p.kind), kind);
    if (kind == 2) {
        QCOMPARE(p.status, status);
        QVERIFY(!p.code.isEmpty());
        QVERIFY(!p.message.isEmpty());
    }
    if (kind == 1) QCOMPARE(p.contentLength, contentLength);
}

void tst_HttpParsers::peekIncompleteIsNeedMore() {
    const QByteArray full("POST /api/count?mode=raw HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
    for (qsizetype i = 0; i < full.size(); ++i) {
        const HeadPeek p = peekRequestHead(QByteArrayView(full).first(i), StreamLimits{});
        QVERIFY2(p.kind == HeadPeek::Kind::NeedMore, qPrintable(QString::number(i)));
    }
    const HeadPeek p = peekRequestHead(full, StreamLimits{});
    QCOMPARE(p.kind, HeadPeek::Kind::Ok);
    QCOMPARE(p.headSize, full.size());
    QCOMPARE(p.method, QByteArray("POST"));
    QCOMPARE(p.target, QByteArray("/api/count?mode=raw"));
    QCOMPARE(p.contentLength, 5);
}

void tst_HttpParsers::peekHugeContentLengthRejectedFromHeadOnly() {
    // 3 GiB and an absurd 40-digit length: both 413 from the head alone, default 1 GiB limit.
    for (const char* len : {"3221225472", "9999999999999999999999999999999999999999"}) {
        const QByteArray head = QByteArray("POST /api/count HTTP/1.1\r\nContent-Length: ") + len + "\r\n\r\n";
        const HeadPeek p = peekRequestHead(head, StreamLimits{});
        QCOMPARE(p.kind, HeadPeek::Kind::Reject);
        QCOMPARE(p.status, 413);
        QCOMPARE(p.code, QStringLiteral("payload_too_large"));
    }
}

void tst_HttpParsers::peekHeadTooLarge() {
    QByteArray head("GET / HTTP/1.1\r\n");
    while (head.size() <= 5000)
        head += "X-Pad: " + QByteArray(100, 'a') + "\r\n";
    QCOMPARE(peekRequestHead(head, StreamLimits{1000, 4096}).status, 431);  // incomplete, too big
    QCOMPARE(peekRequestHead(QByteArray(head + "\r\n"), StreamLimits{1000, 4096}).status,
             431);  // complete, too big
    QCOMPARE(peekRequestHead(QByteArray(head + "\r\n"), StreamLimits{1000, 8192}).kind, HeadPeek::Kind::Ok);
}

namespace {
// Fixed by default (deterministic runs); RAFTWC_SEED=n explores other inputs.
quint32 testSeed() {
    bool ok = false;
    const quint32 env = qEnvironmentVariable("RAFTWC_SEED").toUInt(&ok);
    return ok ? env : 20261129u;
}

// Drives a RequestReader as a connection does: keeps the unconsumed bytes, reads events until it needs
// more, and records what it saw.
struct Feeder {
    explicit Feeder(StreamLimits limits) : reader(limits) {}
    struct Result {
        int requestsCompleted = 0;
        int continuesWanted = 0;
        bool rejected = false;
        int status = 0;
    };
    Result feed(QByteArrayView bytes) {
        Result r;
        pending.append(bytes.data(), bytes.size());
        qsizetype pos = 0;
        for (;;) {
            const auto e = reader.next(QByteArrayView(pending).sliced(pos));
            if (e.consumed < 0 || e.consumed > pending.size() - pos) {
                r.rejected = true;  // a reader bug: surfaces as a failed comparison
                r.status = -1;
                break;
            }
            pos += e.consumed;
            using K = RequestReader::Event::Kind;
            if (e.kind == K::NeedMore) {
                if (e.consumed > 0) continue;
                break;
            }
            if (e.kind == K::Head) {
                heads.append(e.head);
                bodies.append(QByteArray());
                if (e.head.expectContinue && (e.head.chunked || e.head.contentLength > 0))
                    ++r.continuesWanted;
            } else if (e.kind == K::Body) {
                bodies.last().append(e.body.data(), e.body.size());
            } else if (e.kind == K::End) {
                ++r.requestsCompleted;
            } else {
                r.rejected = true;
                r.status = e.status;
                break;
            }
        }
        pending.remove(0, pos);
        return r;
    }
    bool idle() const { return !reader.inRequest() && pending.isEmpty(); }
    RequestReader reader;
    QByteArray pending;
    QList<HeadPeek> heads;
    QList<QByteArray> bodies;
};

Feeder::Result feedInPieces(Feeder& s, const QByteArray& bytes, QList<qsizetype> cuts) {
    Feeder::Result total;
    qsizetype pos = 0;
    cuts.append(bytes.size());
    for (qsizetype cut : cuts) {
        const auto r = s.feed(QByteArrayView(bytes).sliced(pos, cut - pos));
        pos = cut;
        total.requestsCompleted += r.requestsCompleted;
        total.continuesWanted += r.continuesWanted;
        if (r.rejected) {
            total.rejected = true;
            total.status = r.status;
            return total;
        }
    }
    return total;
}

QByteArray twoRequests() {
    return QByteArray(
        "POST /api/count HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /api/count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n "
        "world\r\n0\r\nX-T: 1\r\n\r\n");
}

QByteArray headWithFields(int fields, const QByteArray& extra = {}) {
    QByteArray h = "POST /api/count HTTP/1.1\r\n";
    for (int i = 0; i < fields; ++i)
        h += "X-F" + QByteArray::number(i) + ": v\r\n";
    return h + extra + "\r\n";
}
}  // namespace

void tst_HttpParsers::streamSplitsAnywhere() {
    const QByteArray bytes = twoRequests();
    const QList<QByteArray> bodies{"hello world", "", "hello world"};
    // Every single cut point, and byte-by-byte: always the same 3 requests and bodies, never a rejection.
    for (qsizetype cut = 0; cut <= bytes.size(); ++cut) {
        Feeder s(StreamLimits{1000, 4096});
        const auto r = feedInPieces(s, bytes, {cut});
        QVERIFY2(!r.rejected, qPrintable(QString::number(cut)));
        QCOMPARE(r.requestsCompleted, 3);
        QVERIFY(s.idle());
        QCOMPARE(s.bodies, bodies);
        QCOMPARE(s.heads[1].target, QByteArray("/healthz"));
        QCOMPARE(s.heads[1].header("HOST"), QByteArray("x"));
    }
    QList<qsizetype> all;
    for (qsizetype i = 1; i < bytes.size(); ++i)
        all.append(i);
    Feeder s(StreamLimits{1000, 4096});
    QCOMPARE(feedInPieces(s, bytes, all).requestsCompleted, 3);
    QCOMPARE(s.bodies, bodies);
}

void tst_HttpParsers::streamKeepAliveAndPipelining() {
    Feeder s(StreamLimits{1000, 4096});
    auto r = s.feed("GET / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HT");
    QCOMPARE(r.requestsCompleted, 2);
    QVERIFY(!s.idle());
    r = s.feed("TP/1.1\r\n\r\n");
    QCOMPARE(r.requestsCompleted, 1);
    QVERIFY(s.idle());
    r = s.feed("garbage\r\n\r\n");
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 400);
    QVERIFY(s.reader.rejected());
}

void tst_HttpParsers::pipelinedPostThenPartialUpload() {
    // The pair: a small POST, then a 500 KB POST of which only part has arrived. Each byte is
    // read once: one complete request, the second one in its body, nothing refused.
    Feeder s(StreamLimits{1 << 20, 4096});
    const QByteArray first = "POST /api/count HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    const QByteArray second =
        "POST /api/count HTTP/1.1\r\nContent-Length: 500000\r\n\r\n" + QByteArray(200000, 'w');
    auto r = s.feed(QByteArray(first + second));
    QVERIFY(!r.rejected);
    QCOMPARE(r.requestsCompleted, 1);
    QVERIFY(s.reader.inRequest());
    QCOMPARE(s.bodies[1].size(), 200000);
    r = s.feed(QByteArray(QByteArray(300000, 'w') + "GET / HTTP/1.1\r\n\r\n"));
    QCOMPARE(r.requestsCompleted, 2);
    QCOMPARE(s.bodies[1].size(), 500000);
    QCOMPARE(s.heads.size(), 3);
}

void tst_HttpParsers::headerFieldLimit() {
    // 100 fields are read, with their Content-Length honoured; the 101st is refused (431) whether the head
    // is complete or not, so no request is ever routed with fields dropped.
    Feeder ok(StreamLimits{1000, 1 << 16});
    auto r = ok.feed(QByteArray(headWithFields(99, "Content-Length: 2\r\n") + "hi"));
    QCOMPARE(r.requestsCompleted, 1);
    QCOMPARE(ok.heads[0].headers.size(), 100);
    QCOMPARE(ok.bodies[0], QByteArray("hi"));
    Feeder complete(StreamLimits{1000, 1 << 16});
    r = complete.feed(headWithFields(101));
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 431);
    Feeder partial(StreamLimits{1000, 1 << 16});
    QByteArray head = headWithFields(102);
    head.chop(2);  // not complete yet
    r = partial.feed(head);
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 431);
    QCOMPARE(peekRequestHead(headWithFields(101), StreamLimits{1000, 1 << 16}).status, 431);
}

void tst_HttpParsers::smuggledRequestRefused() {
    // Qt 6.4's parser dropped every header of a request with more than 100 header lines (Content-Length
    // too) and read the "body" as a new request: a 20 MiB upload hidden behind a 122-header request was
    // counted under a 1 MiB limit. Here the head is refused and nothing after it is read.
    const QByteArray hidden = "POST /api/count HTTP/1.1\r\nContent-Length: 20971520\r\n\r\n";
    const QByteArray outer =
        headWithFields(121, "Content-Length: " + QByteArray::number(hidden.size()) + "\r\n");
    Feeder s(StreamLimits{1 << 20, 1 << 16});
    const auto r = s.feed(QByteArray(outer + hidden + QByteArray(4096, 'x')));
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 431);
    QCOMPARE(r.requestsCompleted, 0);
    QVERIFY(s.heads.isEmpty());
}

void tst_HttpParsers::http10ClosesUnlessKeepAlive() {
    QVERIFY(peekRequestHead("GET / HTTP/1.0\r\n\r\n", StreamLimits{}).connectionClose);
    QVERIFY(
        !peekRequestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", StreamLimits{}).connectionClose);
    QVERIFY(!peekRequestHead("GET / HTTP/1.1\r\n\r\n", StreamLimits{}).connectionClose);
    QVERIFY(
        peekRequestHead("GET / HTTP/1.1\r\nConnection: x, close\r\n\r\n", StreamLimits{}).connectionClose);
}

void tst_HttpParsers::streamChunked() {
    Feeder s(StreamLimits{100, 4096});
    auto r = s.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    QCOMPARE(r.requestsCompleted, 0);
    r = s.feed("A\r\n0123456789\r\n");
    QVERIFY(!r.rejected);
    r = s.feed("0\r\n\r\n");
    QCOMPARE(r.requestsCompleted, 1);
    QCOMPARE(s.bodies[0], QByteArray("0123456789"));
    // Malformed chunk size and missing CRLF after data are 400.
    Feeder bad1(StreamLimits{100, 4096});
    QCOMPARE(bad1.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").status, 400);
    Feeder bad2(StreamLimits{100, 4096});
    QCOMPARE(bad2.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX").status, 400);
}

void tst_HttpParsers::streamChunkedOverLimit() {
    Feeder s(StreamLimits{100, 4096});
    auto r = s.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 2 && !r.rejected; ++i)
        r = s.feed(QByteArray("32\r\n" + QByteArray(50, 'x') + "\r\n"));  // 2 x 50 = 100 ok
    QVERIFY(!r.rejected);
    r = s.feed("1\r\n");  // 101st byte announced
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 413);
    // A single enormous chunk is rejected from its size line alone.
    Feeder big(StreamLimits{100, 4096});
    QCOMPARE(big.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n").status, 413);
}

void tst_HttpParsers::bodyIsAViewNeverACopy() {
    // Body events point into the caller's bytes: the reader itself holds no body.
    RequestReader reader(StreamLimits{1 << 20, 4096});
    const QByteArray bytes = "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + QByteArray(1000, 'z');
    auto e = reader.next(bytes);
    QCOMPARE(e.kind, RequestReader::Event::Kind::Head);
    const qsizetype headSize = e.consumed;
    e = reader.next(QByteArrayView(bytes).sliced(headSize));
    QCOMPARE(e.kind, RequestReader::Event::Kind::Body);
    QCOMPARE(e.body.data(), bytes.constData() + headSize);
    QCOMPARE(e.body.size(), 1000);
    QCOMPARE(reader.bodyBytes(), 1000);
    QCOMPARE(reader.next({}).kind, RequestReader::Event::Kind::End);
    QVERIFY(!reader.inRequest());
}

void tst_HttpParsers::streamExpectContinue() {
    Feeder s(StreamLimits{100, 4096});
    auto r = s.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    QCOMPARE(r.continuesWanted, 1);
    r = s.feed("abc");
    QCOMPARE(r.requestsCompleted, 1);
    Feeder t(StreamLimits{100, 4096});
    r = t.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 300\r\n\r\n");
    QVERIFY(r.rejected);
    QCOMPARE(r.status, 413);
    QCOMPARE(r.continuesWanted, 0);
}

void tst_HttpParsers::streamGarbageNeverCrashes() {
    const quint32 seed = testSeed();
    qInfo("seed %u", seed);
    QRandomGenerator rng(seed);
    const QByteArray valid = twoRequests();
    for (int round = 0; round < 3000; ++round) {
        QByteArray bytes = valid;
        const int mutations = rng.bounded(1, 8);
        for (int m = 0; m < mutations; ++m) {
            const qsizetype at = rng.bounded(bytes.size());
            switch (rng.bounded(3)) {
                case 0:
                    bytes[at] = char(rng.bounded(256));
                    break;
                case 1:
                    bytes.remove(at, rng.bounded(1, 5));
                    break;
                default:
                    bytes.insert(at, char(rng.bounded(256)));
                    break;
            }
        }
        if (round % 3 == 0) {  // pure noise
            bytes.resize(rng.bounded(1, 300));
            for (auto& c : bytes)
                c = char(rng.bounded(256));
        }
        // Split invariance: the same bytes in random pieces give the same requests, bodies and verdict as
        // all at once.
        Feeder whole(StreamLimits{64, 256});
        const auto w = whole.feed(bytes);
        Feeder s(StreamLimits{64, 256});
        qsizetype pos = 0;
        bool rejected = false;
        int completed = 0;
        while (pos < bytes.size() && !rejected) {
            const qsizetype n = rng.bounded(1, 40);
            const auto r = s.feed(QByteArrayView(bytes).sliced(pos, std::min(n, bytes.size() - pos)));
            pos += n;
            completed += r.requestsCompleted;
            if (r.rejected) {
                QVERIFY2(r.status >= 400 && r.status < 600, qPrintable(QStringLiteral("seed %1").arg(seed)));
                rejected = true;
            }
        }
        const QString where = QStringLiteral("seed %1 round %2").arg(seed).arg(round);
        QVERIFY2(rejected == w.rejected, qPrintable(where));
        QVERIFY2(completed == w.requestsCompleted, qPrintable(where));
        if (!rejected) QVERIFY2(s.bodies == whole.bodies, qPrintable(where));
        (void)peekRequestHead(bytes, StreamLimits{64, 256});
    }
}

namespace {
const QByteArray kType("multipart/form-data; boundary=----WebKitFormBoundaryX1");
QByteArray part(const QByteArray& disposition, const QByteArray& data, const QByteArray& extra = {}) {
    return "------WebKitFormBoundaryX1\r\nContent-Disposition: " + disposition + "\r\n" + extra + "\r\n" +
           data + "\r\n";
}
const QByteArray kEnd("------WebKitFormBoundaryX1--\r\n");
}  // namespace

void tst_HttpParsers::multipart_data() {
    QTest::addColumn<QByteArray>("contentType");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<QString>("filename");

    const QByteArray text("one two\r\nthree --boundary-like\r\n");
    QTest::newRow("curl-style") << kType
                                << part("form-data; name=\"file\"; filename=\"x.txt\"", text,
                                        "Content-Type: text/plain\r\n") +
                                       kEnd
                                << true << text << QStringLiteral("x.txt");
    QTest::newRow("with-field") << kType
                                << part("form-data; name=\"note\"", "hi") +
                                       part("form-data; name=\"file\"; filename=\"a b.txt\"", "abc") + kEnd
                                << true << QByteArray("abc") << QStringLiteral("a b.txt");
    QTest::newRow("empty-file") << kType << part("form-data; name=\"f\"; filename=\"e.txt\"", "") + kEnd
                                << true << QByteArray() << QStringLiteral("e.txt");
    QTest::newRow("path-stripped") << kType
                                   << part("form-data; name=\"f\"; filename=\"C:\\\\dir\\\\w.txt\"", "z") +
                                          kEnd
                                   << true << QByteArray("z") << QStringLiteral("w.txt");
    QTest::newRow("quoted-boundary") << QByteArray(
                                            "multipart/form-data; boundary=\"----WebKitFormBoundaryX1\"")
                                     << part("form-data; name=\"f\"; filename=\"q\"", "q") + kEnd << true
                                     << QByteArray("q") << QStringLiteral("q");
    QTest::newRow("preamble") << kType
                              << "preamble\r\n" + part("form-data; name=\"f\"; filename=\"p\"", "p") + kEnd
                              << true << QByteArray("p") << QStringLiteral("p");
    QTest::newRow("no-boundary") << QByteArray("multipart/form-data")
                                 << part("form-data; filename=\"x\"", "x") + kEnd << false << QByteArray()
                                 << QString();
    QTest::newRow("not-multipart") << QByteArray("text/plain") << QByteArray("x") << false << QByteArray()
                                   << QString();
    QTest::newRow("no-closing") << kType << part("form-data; name=\"f\"; filename=\"x\"", "x") << false
                                << QByteArray() << QString();
    QTest::newRow("truncated") << kType << QByteArray("------WebKitFormBoundaryX1\r\nContent-Disp") << false
                               << QByteArray() << QString();
    QTest::newRow("no-file-part") << kType << part("form-data; name=\"note\"", "hi") + kEnd << false
                                  << QByteArray() << QString();
    QTest::newRow("file-field") << kType
                                << part("form-data; name=\"note\"", "hi") +
                                       part("form-data; name=\"file\"", "abc") + kEnd
                                << true << QByteArray("abc") << QString();
    QTest::newRow("two-files") << kType
                               << part("form-data; name=\"a\"; filename=\"a\"", "a") +
                                      part("form-data; name=\"b\"; filename=\"b\"", "b") + kEnd
                               << false << QByteArray() << QString();
    QTest::newRow("no-disposition") << kType
                                    << QByteArray("------WebKitFormBoundaryX1\r\nX: y\r\n\r\nd\r\n") + kEnd
                                    << false << QByteArray() << QString();
    QTest::newRow("bad-header") << kType
                                << QByteArray("------WebKitFormBoundaryX1\r\nnocolon\r\n\r\nd\r\n") + kEnd
                                << false << QByteArray() << QString();
    QTest::newRow("empty-body") << kType << QByteArray() << false << QByteArray() << QString();
}

void tst_HttpParsers::multipart() {
    QFETCH(QByteArray, contentType);
    QFETCH(QByteArray, body);
    QFETCH(bool, ok);
    QFETCH(QByteArray, data);
    QFETCH(QString, filename);
    const MultipartFile f = parseMultipartFile(contentType, body);
    QCOMPARE(f.ok, ok);
    if (!ok) {
        QVERIFY(!f.error.isEmpty());
        return;
    }
    QVERIFY(f.offset >= 0 && f.offset + f.length <= body.size());
    QCOMPARE(body.mid(f.offset, f.length), data);
    QCOMPARE(f.filename, filename);
}

void tst_HttpParsers::multipartStreamSplits() {
    // The streaming reader, fed in every split of two pieces and in random small pieces, passes on exactly
    // the file's bytes, never holds more than a delimiter's length of them, and gives the same verdict.
    QFETCH(QByteArray, contentType);
    QFETCH(QByteArray, body);
    QFETCH(bool, ok);
    QFETCH(QByteArray, data);
    const QByteArray boundary = multipartBoundary(contentType);
    if (boundary.isEmpty() || !isMultipartFormData(contentType)) return;  // refused before any stream
    QRandomGenerator rng(testSeed());
    for (qsizetype cut = -1; cut <= body.size(); ++cut) {
        if (cut == 0) continue;  // (a first piece of 0 bytes is no piece)
        MultipartStream stream(boundary);
        QByteArray got;
        bool fine = true;
        qsizetype pos = 0;
        while (pos < body.size() && fine) {
            const qsizetype n = cut >= 0 ? (pos == 0 ? cut : body.size() - pos) : rng.bounded(1, 7);
            const auto step = stream.feed(QByteArrayView(body).sliced(pos, std::min(n, body.size() - pos)),
                                          [&](QByteArrayView v) { got.append(v.data(), v.size()); });
            pos += std::min(n, body.size() - pos);
            fine = step.ok;
            // Whatever arrived of the file, all but a delimiter's length has been passed on already.
            if (fine && stream.fileStarted() && !ok) continue;
            if (fine && stream.fileStarted())
                QVERIFY(stream.fileOffset() + got.size() + boundary.size() + 4 >=
                        std::min(pos, stream.fileOffset() + data.size()));
        }
        QString error;
        const bool verdict = fine && stream.finish(&error);
        QCOMPARE(verdict, ok);
        if (ok) QCOMPARE(got, data);
    }
}

void tst_HttpParsers::multipartFilenameStar() {
    const QByteArray disp =
        "form-data; name=\"file\"; filename=\"fallback.txt\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt";
    QCOMPARE(contentDispositionParam(disp, "filename"), QStringLiteral("résumé ✓.txt"));
    QCOMPARE(contentDispositionParam("form-data; filename=\"a\\\"b;c.txt\"", "filename"),
             QStringLiteral("a\"b;c.txt"));
    QVERIFY(contentDispositionParam("form-data; name=\"x\"", "filename").isNull());
    QCOMPARE(contentDispositionParam("form-data; filename=\"\"", "filename"), QString(QLatin1String("")));
    const MultipartFile f = parseMultipartFile(kType, QByteArray(part(disp, "data") + kEnd));
    QVERIFY(f.ok);
    QCOMPARE(f.filename, QStringLiteral("résumé ✓.txt"));
}

void tst_HttpParsers::multipartGarbageNeverCrashes() {
    const quint32 seed = testSeed();
    qInfo("seed %u", seed);
    QRandomGenerator rng(seed);
    const QByteArray valid =
        part("form-data; name=\"note\"", "hi") +
        part("form-data; name=\"file\"; filename*=UTF-8''%E2%9C%93.txt", "some words here") + kEnd;
    for (int round = 0; round < 5000; ++round) {
        QByteArray body = valid;
        const int mutations = rng.bounded(1, 10);
        for (int m = 0; m < mutations && !body.isEmpty(); ++m) {
            const qsizetype at = rng.bounded(body.size());
            switch (rng.bounded(4)) {
                case 0:
                    body[at] = char(rng.bounded(256));
                    break;
                case 1:
                    body.remove(at, rng.bounded(1, 30));
                    break;
                case 2:
                    body.insert(at, "\r\n------WebKitFormBoundaryX1");
                    break;
                default:
                    body.truncate(at);
                    break;
            }
        }
        const MultipartFile f = parseMultipartFile(kType, body);
        if (f.ok) {
            QVERIFY2(f.offset >= 0 && f.length >= 0 && f.offset + f.length <= body.size(),
                     qPrintable(QStringLiteral("seed %1").arg(seed)));
        } else {
            QVERIFY2(!f.error.isEmpty(), qPrintable(QStringLiteral("seed %1").arg(seed)));
        }
    }
}

QTEST_GUILESS_MAIN(tst_HttpParsers)
#include "tst_http_parsers.moc"
