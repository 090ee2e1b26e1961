// The counting kernel: fixed cases, a byte-at-a-time reference on random inputs with random shard
// cuts (both SIMD kernels, several buffer sizes), and GNU wc on random valid text.
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <random>

#include "reference.h"
#include "wordcount/normalize.h"
#include "wordcount/wordcount.h"

using namespace raftwc::wordcount;

namespace {

const char* const kUnicodeSpaces[] = {"\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
                                      "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85",
                                      "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89",
                                      "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
                                      "\xE2\x81\x9F", "\xE2\x81\xA0", "\xE3\x80\x80"};

/// Random bytes built from pieces that stress the semantics.
std::string randomInput(std::mt19937_64& rng) {
    static const char* const pieces[] = {
        "a",
        "word",
        "Don't",
        "well-known",
        "--x--",
        "\xE2\x80\x99tis",
        "caf\xC3\xA9",
        "\xD0\x96\xD0\xB8",
        "\xE4\xB8\xAD\xE6\x96\x87",
        "\xF0\x9F\x98\x80",
        "\xEF\xBB\xBF",
        "\xE2\x80\x8B",
        "\r\n",
        "\t",
        "\n",
        " ",
        "  ",
        "\x0B",
        "\x0C",
        "\r",
        "\x01",
        "\x7F",
        "\xFF",
        "\xFE",
        "\x80",
        "\xBF",
        "\xC2",
        "\xE2",
        "\xE2\x80",
        "\xE3\x80",
        "\xE1\x9A",
        "\xE2\x80\x8B",
        "\xE2\x81",
        "\xC0\xA0",
        "\xED\xA0\x80",
        "\xF4\x90\x80\x80",
        "\xC2\x85",
        "\xE2\x80\x90",
        "A1B2",
        "'",
        "-",
        "x'",
        "\xCC\x81",
        "\xC3\x9F",
    };
    std::string s;
    const int mode = static_cast<int>(rng() % 10);
    std::size_t target = rng() % 600;
    if (mode == 0) target = rng() % 20000;
    if (mode == 1) target = rng() % 12;
    while (s.size() < target) {
        const auto r = rng() % 100;
        if (r < 2 && mode == 2) {
            s.append(rng() % 9000 + 1, static_cast<char>('a' + rng() % 26));  // very long word
        } else if (r < 25) {
            s += kUnicodeSpaces[rng() % std::size(kUnicodeSpaces)];
        } else if (r < 30) {
            s.push_back('\0');
        } else if (r < 35) {
            s.push_back(static_cast<char>(rng() % 256));
        } else {
            s += pieces[rng() % std::size(pieces)];
        }
    }
    if (mode == 3) {  // only whitespace
        std::string w;
        while (w.size() < target)
            w += (rng() % 2) ? std::string(kUnicodeSpaces[rng() % 19]) : std::string(" \t\n");
        s = w;
    }
    return s;
}

struct RefShard {
    std::uint64_t words = 0, lines = 0;
    FrequencyTable raw, normalized;
};

RefShard referenceShard(std::string_view s, const std::vector<reference::Word>& ws, std::size_t from,
                        std::size_t to) {
    RefShard r;
    r.lines = reference::lines(s, from, to);
    std::string scratch;
    for (const auto& w : ws) {
        if (w.begin < from || w.begin >= to) continue;
        ++r.words;
        const std::string_view text = s.substr(w.begin, w.end - w.begin);
        r.raw.add(text);
        forEachNormalizedToken(text, scratch, [&](std::string_view t) { r.normalized.add(t); });
    }
    return r;
}

/// First difference between two tables, for failure messages.
std::string tableDiff(const FrequencyTable& got, const FrequencyTable& want) {
    std::string out;
    const auto hex = [](std::string_view w) {
        std::string h;
        for (unsigned char c : w)
            h += QByteArray::number(c, 16).toStdString() + ' ';
        return h;
    };
    got.forEach([&](std::string_view w, std::uint64_t n) {
        if (out.empty() && want.count(w) != n)
            out = "got [" + hex(w) + "] x" + std::to_string(n) + ", want x" + std::to_string(want.count(w));
    });
    want.forEach([&](std::string_view w, std::uint64_t n) {
        if (out.empty() && got.count(w) != n)
            out = "missing [" + hex(w) + "] x" + std::to_string(n) + ", got x" + std::to_string(got.count(w));
    });
    return out;
}

std::vector<std::uint64_t> randomCuts(std::mt19937_64& rng, std::size_t n) {
    std::vector<std::uint64_t> cuts{0, n};
    const auto k = rng() % 6;
    for (std::uint64_t i = 0; i < k; ++i)
        cuts.push_back(n ? rng() % (n + 1) : 0);
    std::sort(cuts.begin(), cuts.end());
    return cuts;
}

ShardCounts count(const std::string& s, ShardSpec spec, FreqMode mode, Kernel k, std::size_t buf) {
    const MemoryByteSource src(s);
    CountOptions opt;
    opt.mode = mode;
    opt.kernel = k;
    opt.bufferBytes = buf;
    const CountResult r = countRange(src, s.size(), spec, opt);
    if (!r.ok) qFatal("countRange failed: %s", r.error.c_str());
    return r.counts;
}

}  // namespace

class tst_WordcountKernel : public QObject {
    Q_OBJECT

  private slots:
    void fixedCases_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<qulonglong>("words");
        QTest::addColumn<qulonglong>("lines");
        QTest::newRow("control is a word") << QByteArray("a \x01 b") << 3ull << 0ull;
        QTest::newRow("invalid bytes") << QByteArray("\xff\xfe") << 1ull << 0ull;
        QTest::newRow("U+2028 separates") << QByteArray(
                                                 "a\xE2\x80\xA8"
                                                 "b")
                                          << 2ull << 0ull;
        QTest::newRow("U+200B joins") << QByteArray(
                                             "a\xE2\x80\x8B"
                                             "b")
                                      << 1ull << 0ull;
        QTest::newRow("U+00A0 separates") << QByteArray(
                                                 "a\xC2\xA0"
                                                 "b")
                                          << 2ull << 0ull;
        QTest::newRow("empty") << QByteArray() << 0ull << 0ull;
        QTest::newRow("NUL is a word") << QByteArray("\0", 1) << 1ull << 0ull;
        QTest::newRow("BOM is a word") << QByteArray("\xEF\xBB\xBF") << 1ull << 0ull;
        QTest::newRow("crlf") << QByteArray("one two\r\nthree\r\n") << 3ull << 2ull;
        QTest::newRow("only spaces") << QByteArray(" \t\n\x0B\x0C\r\xE3\x80\x80") << 0ull << 1ull;
        QTest::newRow("cut separator") << QByteArray(
                                              "a\xE2\x80"
                                              "b")
                                       << 1ull << 0ull;
        QTest::newRow("U+3000") << QByteArray("x\xE3\x80\x80y\xE3\x80\x80") << 2ull << 0ull;
        QTest::newRow("lead before separator") << QByteArray("\xE2\xE2\x80\x80z") << 2ull << 0ull;
        QTest::newRow("no final newline") << QByteArray("a\nb") << 2ull << 1ull;
    }
    void fixedCases() {
        QFETCH(QByteArray, input);
        QFETCH(qulonglong, words);
        QFETCH(qulonglong, lines);
        const std::string s(input.constData(), static_cast<std::size_t>(input.size()));
        for (Kernel k : {Kernel::Sse2, Kernel::Auto}) {
            const ShardCounts c = count(s, ShardSpec{0, s.size()}, FreqMode::Raw, k, 4096);
            QCOMPARE(c.words, words);
            QCOMPARE(c.lines, lines);
            QCOMPARE(c.bytes, static_cast<qulonglong>(s.size()));
            QCOMPARE(c.freq.total(), words);
        }
    }

    void everySeparatorEverySplit() {
        // Each Unicode space between words, split at every byte: the parts always add up.
        for (const char* sp : kUnicodeSpaces) {
            const std::string s = std::string("ab") + sp + "cd" + sp + sp + "e";
            QCOMPARE(countBytes(s).words, 3ull);
            for (std::size_t cut = 0; cut <= s.size(); ++cut) {
                const auto a = count(s, ShardSpec{0, cut}, FreqMode::Raw, Kernel::Auto, 4096);
                const auto b = count(s, ShardSpec{cut, s.size() - cut}, FreqMode::Raw, Kernel::Auto, 4096);
                QCOMPARE(a.words + b.words, 3ull);
                const auto m = merge(a, b);
                QVERIFY(m.has_value());
                QCOMPARE(m->freq.count("ab"), 1ull);
                QCOMPARE(m->freq.count("cd"), 1ull);
                QCOMPARE(m->freq.count("e"), 1ull);
            }
        }
    }

    void randomAgainstReference() {
        std::mt19937_64 rng(20260101);
        const std::size_t bufs[] = {4096, 4160, 256 * 1024};
        for (int iter = 0; iter < 3000; ++iter) {
            const std::string s = randomInput(rng);
            const auto ws = reference::words(s);
            const auto cuts = randomCuts(rng, s.size());
            const Kernel k = (iter % 2) ? Kernel::Sse2 : Kernel::Auto;
            const std::size_t buf = bufs[rng() % 3];
            const FreqMode mode = static_cast<FreqMode>(iter % 3);
            ShardCounts total;
            for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
                const ShardSpec spec{cuts[i], cuts[i + 1] - cuts[i]};
                const ShardCounts c = count(s, spec, mode, k, buf);
                const RefShard ref = referenceShard(s, ws, cuts[i], cuts[i + 1]);
                if (c.words != ref.words || c.lines != ref.lines) {
                    qWarning("iteration %d, shard [%llu,+%llu) of %zu bytes", iter,
                             static_cast<unsigned long long>(spec.offset),
                             static_cast<unsigned long long>(spec.length), s.size());
                }
                QCOMPARE(c.words, ref.words);
                QCOMPARE(c.lines, ref.lines);
                QCOMPARE(c.bytes, spec.length);
                if (mode == FreqMode::Raw) QVERIFY2(c.freq == ref.raw, tableDiff(c.freq, ref.raw).c_str());
                if (mode == FreqMode::Normalized && !(c.freq == ref.normalized))
                    qWarning("input %s, shard [%llu,+%llu)",
                             QByteArray::fromStdString(s).toHex(' ').constData(),
                             static_cast<unsigned long long>(spec.offset),
                             static_cast<unsigned long long>(spec.length));
                if (mode == FreqMode::Normalized)
                    QVERIFY2(c.freq == ref.normalized, tableDiff(c.freq, ref.normalized).c_str());
                QVERIFY(mergeInto(total, c));
            }
            QCOMPARE(total.words, static_cast<qulonglong>(ws.size()));
            QCOMPARE(total.bytes, static_cast<qulonglong>(s.size()));
            if (mode != FreqMode::None) {
                const ShardCounts whole = count(s, ShardSpec{0, s.size()}, mode, k, buf);
                QVERIFY(total.freq == whole.freq);
                QCOMPARE(total.lines, whole.lines);
            }
        }
    }

    void growingFileExactOrNeedsMore() {
        // A range counted while only a prefix of the file is known (pipelined jobs): the counts are exactly
        // those over the whole file, or needsMore — and needsMore only while a word starting in the range
        // (or the characters' lookahead) may still run past the known end.
        std::mt19937_64 rng(20261204);
        int exact = 0, asked = 0;
        for (int iter = 0; iter < 4000; ++iter) {
            std::string s = randomInput(rng);
            if (rng() % 4 == 0) s += std::string(rng() % 300, 'x');  // long words crossing the known end
            if (s.empty()) continue;
            const auto ws = reference::words(s);
            const std::uint64_t a = rng() % (s.size() + 1);
            const std::uint64_t b = a + rng() % (s.size() - a + 1);
            const std::uint64_t known = b + rng() % (s.size() - b + 1);
            const FreqMode mode = static_cast<FreqMode>(iter % 3);
            const std::size_t buf = (iter % 2) ? 4096 : 256 * 1024;
            const MemoryByteSource prefix(std::string_view(s).substr(0, known));
            CountOptions opt;
            opt.mode = mode;
            opt.bufferBytes = buf;
            opt.growing = true;
            opt.expectedDistinct = rng() % 3 ? 0 : rng() % 5000;  // a sizing hint never changes counts
            const CountResult r = countRange(prefix, known, ShardSpec{a, b - a}, opt);
            // Where the bytes stop mattering: the end of the last word starting in [a, b) (b if none).
            std::uint64_t needed = b;
            for (const auto& w : ws)
                if (w.begin >= a && w.begin < b) needed = std::max<std::uint64_t>(needed, w.end);
            if (!r.ok) {
                QVERIFY2(r.needsMore, r.error.c_str());
                // Asked for more only when the words or the lookahead could reach past the known end
                // (the scan keeps a 64-byte block plus the lookahead in hand at the known end).
                QVERIFY2(a != b && needed + 64 + 8 > known,
                         qPrintable(QStringLiteral("[%1,%2) known %3 needed %4 of %5")
                                        .arg(a)
                                        .arg(b)
                                        .arg(known)
                                        .arg(needed)
                                        .arg(s.size())));
                ++asked;
                continue;
            }
            QVERIFY(!r.needsMore);
            const ShardCounts whole = count(s, ShardSpec{a, b - a}, mode, Kernel::Auto, buf);
            QVERIFY2(r.counts == whole, qPrintable(QStringLiteral("[%1,%2) known %3 of %4, mode %5")
                                                       .arg(a)
                                                       .arg(b)
                                                       .arg(known)
                                                       .arg(s.size())
                                                       .arg(int(mode))));
            ++exact;
        }
        QVERIFY(exact > 1000);
        QVERIFY(asked > 100);
    }

    void largeInputBufferBoundaries() {
        // Separators straddling 64-byte blocks and read buffers, in a 1 MiB input with many shards.
        std::mt19937_64 rng(7);
        std::string s;
        while (s.size() < (1u << 20)) {
            s.append(rng() % 70, 'w');
            s += kUnicodeSpaces[rng() % 19];
            if (rng() % 5 == 0) s += "\xC3\xA9\n";
        }
        const auto ws = reference::words(s);
        for (int rep = 0; rep < 4; ++rep) {
            const auto cuts = randomCuts(rng, s.size());
            std::uint64_t words = 0, lines = 0;
            FrequencyTable raw;
            for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
                const auto c = count(s, ShardSpec{cuts[i], cuts[i + 1] - cuts[i]}, FreqMode::Raw,
                                     rep % 2 ? Kernel::Sse2 : Kernel::Auto, 4096 + 64 * rep);
                words += c.words;
                lines += c.lines;
                raw.merge(c.freq);
            }
            QCOMPARE(words, static_cast<std::uint64_t>(ws.size()));
            QCOMPARE(lines, reference::lines(s, 0, s.size()));
            QCOMPARE(raw.total(), words);
            QVERIFY(raw == referenceShard(s, ws, 0, s.size()).raw);
        }
    }

    void rejectsBadRanges() {
        const std::string s = "hello world";
        const MemoryByteSource src(s);
        QVERIFY(!countRange(src, s.size(), ShardSpec{5, 7}).ok);
        QVERIFY(!countRange(src, s.size(), ShardSpec{12, 0}).ok);
        QVERIFY(!countRange(src, s.size(), ShardSpec{~0ull, 2}).ok);
        const CountResult tooLong = countRange(src, s.size() + 10, ShardSpec{0, s.size() + 10});
        QVERIFY(!tooLong.ok);  // the source cannot deliver the claimed bytes
        QVERIFY(!tooLong.error.empty());
        const CountResult empty = countRange(src, s.size(), ShardSpec{11, 0});
        QVERIFY(empty.ok);
        QCOMPARE(empty.counts.words, 0ull);
    }

    void fileSource() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("f.txt"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        std::mt19937_64 rng(3);
        std::string s;
        for (int i = 0; i < 200; ++i)
            s += randomInput(rng);
        f.write(s.data(), static_cast<qint64>(s.size()));
        f.close();
        const FileByteSource src(path.toStdString());
        QVERIFY2(src.isOpen(), src.error().c_str());
        QCOMPARE(src.size(), static_cast<std::uint64_t>(s.size()));
        const CountResult r = countRange(src, src.size(), ShardSpec{0, src.size()});
        QVERIFY(r.ok);
        QCOMPARE(r.counts.words, static_cast<qulonglong>(reference::words(s).size()));
        const FileByteSource missing(dir.filePath(QStringLiteral("nope")).toStdString());
        QVERIFY(!missing.isOpen());
        QVERIFY(!missing.error().empty());
        QVERIFY(!countRange(missing, 10, ShardSpec{0, 10}).ok);
    }

    void againstGnuWc() {
        // Random valid UTF-8 without control characters (other than the ASCII spaces): wc 9.1 (Debian 12)
        // and >= 9.5 agree there. U+2028/U+2029 are excluded: wc 9.1 does not treat them as separators.
        static const char* const pool[] = {
            "a",
            "Zebra",
            "42",
            "caf\xC3\xA9",
            "\xD0\x96\xD0\xB8\xD0\xB2",
            "\xE4\xB8\xAD",
            "\xF0\x9F\x98\x80",
            "!",
            "\xE2\x80\x99",
            "-",
            "\xE2\x80\x8B",
            " ",
            "\t",
            "\n",
            "\r",
            "\x0B",
            "\x0C",
            "\xC2\xA0",
            "\xE1\x9A\x80",
            "\xE2\x80\x80",
            "\xE2\x80\x85",
            "\xE2\x80\x87",
            "\xE2\x80\x8A",
            "\xE2\x80\xAF",
            "\xE2\x81\x9F",
            "\xE2\x81\xA0",
            "\xE3\x80\x80",
            "\xC3\x9F",
            "\xCE\xA9",
        };
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        std::mt19937_64 rng(99);
        QStringList files;
        std::vector<std::uint64_t> expected;
        for (int i = 0; i < 150; ++i) {
            std::string s;
            const std::size_t n = (i % 10 == 0) ? rng() % 100000 : rng() % 400;
            while (s.size() < n)
                s += pool[rng() % std::size(pool)];
            const QString path = dir.filePath(QStringLiteral("t%1.txt").arg(i));
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(s.data(), static_cast<qint64>(s.size()));
            files << path;
            expected.push_back(countBytes(s).words);
        }
        QProcess wc;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LC_ALL"), QStringLiteral("C.UTF-8"));
        wc.setProcessEnvironment(env);
        wc.start(QStringLiteral("wc"), QStringList{QStringLiteral("-w")} + files);
        QVERIFY(wc.waitForFinished(60000));
        QCOMPARE(wc.exitCode(), 0);
        const QList<QByteArray> lines = wc.readAllStandardOutput().split('\n');
        QVERIFY(lines.size() >= files.size());
        for (qsizetype i = 0; i < files.size(); ++i) {
            const QByteArray num = lines[i].trimmed().split(' ').first();
            QCOMPARE(num.toULongLong(), static_cast<qulonglong>(expected[static_cast<std::size_t>(i)]));
        }
    }
};

QTEST_GUILESS_MAIN(tst_WordcountKernel)
#include "tst_wordcount_kernel.moc"
