// Characters (`wc -m`) and the longest line (`wc -L`): GNU wc 9.1 itself on generated files, an
// in-process emulation of wc.c's loop with glibc's mbrtowc/iswprint/wcwidth in C.UTF-8, the width
// table and decoder against glibc, and exactness across random shard cuts merged in random orders.
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <locale.h>
#include <clocale>
#include <cstring>
#include <cwchar>
#include <cwctype>

#include <algorithm>
#include <random>

#include "wordcount/kernel.h"
#include "wordcount/wordcount.h"

using namespace raftwc::wordcount;

namespace {

/// Runs f with the thread's locale set to C.UTF-8; false when the locale is missing.
template <typename F>
bool withUtf8Locale(F&& f) {
    const locale_t loc = newlocale(LC_ALL_MASK, "C.UTF-8", locale_t(nullptr));
    if (loc == locale_t(nullptr)) return false;
    const locale_t old = uselocale(loc);
    f();
    uselocale(old);
    freelocale(loc);
    return true;
}

struct WcLines {
    std::uint64_t chars = 0;
    std::uint64_t maxWidth = 0;
    bool operator==(const WcLines&) const = default;
};

/// wc.c 9.1's multibyte loop, reduced to -m and -L (call inside withUtf8Locale).
WcLines emulateWc(std::string_view s) {
    WcLines r;
    std::mbstate_t st{};
    std::uint64_t pos = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        wchar_t wc = 0;
        std::size_t n = std::mbrtowc(&wc, s.data() + i, s.size() - i, &st);
        if (n == static_cast<std::size_t>(-2)) break;  // an incomplete character at the end
        if (n == static_cast<std::size_t>(-1)) {       // a byte, not a character
            ++i;
            continue;
        }
        if (n == 0) n = 1, wc = 0;
        i += n;
        ++r.chars;
        switch (wc) {
            case L'\n':
            case L'\r':
            case L'\f':
                r.maxWidth = std::max(r.maxWidth, pos);
                pos = 0;
                break;
            case L'\t':
                pos += 8 - pos % 8;
                break;
            case L'\v':
                break;
            default:
                if (std::iswprint(static_cast<wint_t>(wc))) {
                    const int w = ::wcwidth(wc);
                    if (w > 0) pos += static_cast<std::uint64_t>(w);
                }
        }
    }
    r.maxWidth = std::max(r.maxWidth, pos);
    return r;
}

WcLines emulate(std::string_view s) {
    WcLines r;
    if (!withUtf8Locale([&] { r = emulateWc(s); })) qFatal("no C.UTF-8 locale");
    return r;
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

WcLines ours(const ShardCounts& c) {
    if (!c.chars || !c.maxLineWidth()) qFatal("chars or maxLineWidth unknown");
    return WcLines{*c.chars, *c.maxLineWidth()};
}

/// Pieces that stress -m and -L: tabs, line ends, wide / zero-width / non-printable characters,
/// every kind of invalid or truncated sequence, glibc's 5- and 6-byte forms.
const char* const kPieces[] = {
    "a",
    "word",
    " ",
    "\t",
    "\t\t",
    "\n",
    "\r",
    "\f",
    "\v",
    "\r\n",
    "\x01",
    "\x7f",
    "$@`",
    "caf\xC3\xA9",                       // é
    "e\xCC\x81",                         // combining acute (width 0)
    "\xE4\xB8\xAD\xE6\x96\x87",          // 中文 (width 2 each)
    "\xEF\xBC\xA1",                      // fullwidth A
    "\xF0\x9F\x98\x80",                  // emoji (width 2)
    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",  // emoji + skin tone modifier
    "\xE2\x80\x8B",                      // U+200B (width 0)
    "\xC2\xAD",                          // soft hyphen
    "\xC2\x85",                          // NEL (C1 control)
    "\xC2\xA0",                          // no-break space
    "\xE3\x80\x80",                      // ideographic space (width 2)
    "\xEF\xBB\xBF",                      // BOM
    "\xEE\x80\x80",                      // private use
    "\xF4\x8F\xBF\xBF",                  // U+10FFFF
    "\xF4\x90\x80\x80",                  // above U+10FFFF (glibc: a character of width 0)
    "\xF8\x88\x80\x80\x80",              // 5-byte form
    "\xFC\x84\x80\x80\x80\x80",          // 6-byte form
    "\xED\xA0\x80",                      // surrogate (invalid)
    "\xC0\x80",                          // overlong
    "\xE0\x80\xAF",                      // overlong
    "\xFF",
    "\xFE",
    "\x80",
    "\xBF\xBF",
    "\xE4\xB8",      // truncated
    "\xF0\x9F\x98",  // truncated
    "\xC3",          // truncated
    std::string_view("\0", 1).data(),
};

std::string piece(std::size_t i) {
    if (i == std::size(kPieces) - 1) return std::string(1, '\0');
    return kPieces[i];
}

std::string randomPieces(std::mt19937_64& rng, std::size_t n) {
    std::string s;
    while (s.size() < n)
        s += piece(rng() % std::size(kPieces));
    return s;
}

std::string randomBytes(std::mt19937_64& rng, std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) {
        const auto r = rng() % 8;
        c = static_cast<char>(r == 0 ? 0x80 + rng() % 64 : r == 1 ? 0xC0 + rng() % 64 : rng() % 256);
    }
    return s;
}

/// The generated files of the differential tests, each with a name.
std::vector<std::pair<QString, std::string>> corpus() {
    std::vector<std::pair<QString, std::string>> out;
    std::mt19937_64 rng(2024);
    out.emplace_back(QStringLiteral("empty"), std::string());
    out.emplace_back(QStringLiteral("one newline"), std::string("\n"));
    {
        std::string s;
        for (int i = 0; i < 2000; ++i)
            s += std::string(rng() % 90, static_cast<char>('a' + rng() % 26)) + (i % 7 ? " " : "\n");
        out.emplace_back(QStringLiteral("ascii"), s);
    }
    {
        std::string s;  // a tab after every column 0..40, with and without other tabs before it
        for (int c = 0; c <= 40; ++c) {
            s += std::string(static_cast<std::size_t>(c), 'x') + "\ty\n";
            s += "\t" + std::string(static_cast<std::size_t>(c), 'x') + "\t\tz\r";
            s += std::string(static_cast<std::size_t>(c), ' ') + "\t\f";
        }
        out.emplace_back(QStringLiteral("tabs at every column"), s);
    }
    {
        std::string s;
        for (int i = 0; i < 3000; ++i)
            s += (rng() % 9 == 0) ? "\n" : (rng() % 3 == 0) ? "\xE6\x97\xA5\xE6\x9C\xAC" : "\t\xE8\xAA\x9E";
        out.emplace_back(QStringLiteral("cjk and tabs"), s);
    }
    {
        std::string s;
        for (int i = 0; i < 3000; ++i)
            s += (rng() % 11 == 0) ? "\n"
                 : (rng() % 2)     ? "a\xCC\x81\xCC\xA7"
                                   : "\xF0\x9F\x98\x80\xE2\x80\x8D";
        out.emplace_back(QStringLiteral("combining marks and emoji"), s);
    }
    {
        std::string s;  // one line of 300 KB (longer than any read buffer), then a short one
        while (s.size() < 300000)
            s += piece(rng() % 20);
        std::replace(s.begin(), s.end(), '\n', 'n');
        std::replace(s.begin(), s.end(), '\r', 'r');
        std::replace(s.begin(), s.end(), '\f', 'f');
        out.emplace_back(QStringLiteral("very long line"), s + "\nshort");
    }
    out.emplace_back(QStringLiteral("only a tab"), std::string("\t"));
    out.emplace_back(QStringLiteral("cr ff vt"), std::string("abc\rde\ff\vgh\r\r\f"));
    for (int i = 0; i < 60; ++i)
        out.emplace_back(QStringLiteral("pieces %1").arg(i),
                         randomPieces(rng, i % 10 == 0 ? 70000 : rng() % 600));
    for (int i = 0; i < 30; ++i)
        out.emplace_back(QStringLiteral("bytes %1").arg(i),
                         randomBytes(rng, i % 10 == 0 ? 50000 : rng() % 500));
    return out;
}

/// Counts s in k random shards with random kernels and buffers and merges them in a random order.
ShardCounts shuffledMerge(const std::string& s, std::mt19937_64& rng, FreqMode mode) {
    std::vector<std::uint64_t> cuts{0, s.size()};
    const auto k = rng() % 12;
    for (std::uint64_t i = 0; i < k; ++i)
        cuts.push_back(s.empty() ? 0 : rng() % (s.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    std::vector<ShardCounts> parts;
    static const std::size_t bufs[] = {4096, 4160, 256 * 1024};
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
        parts.push_back(count(s, ShardSpec{cuts[i], cuts[i + 1] - cuts[i]}, mode,
                              rng() % 2 ? Kernel::Sse2 : Kernel::Auto, bufs[rng() % 3]));
    std::shuffle(parts.begin(), parts.end(), rng);
    ShardCounts total;
    total.mode = mode;
    for (const ShardCounts& p : parts)
        if (!mergeInto(total, p)) qFatal("merge failed");
    return total;
}

}  // namespace

class tst_WordcountLines : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        if (!withUtf8Locale([] {})) QSKIP("no C.UTF-8 locale");
    }

    void fixedCases_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<qulonglong>("chars");
        QTest::addColumn<qulonglong>("width");
        QTest::newRow("empty") << QByteArray() << 0ull << 0ull;
        QTest::newRow("tab") << QByteArray("a\tb") << 3ull << 9ull;
        QTest::newRow("two tabs") << QByteArray("\t\t") << 2ull << 16ull;
        QTest::newRow("cr ends a line") << QByteArray("ab\rc") << 4ull << 2ull;
        QTest::newRow("ff ends a line") << QByteArray("abc\fd") << 5ull << 3ull;
        QTest::newRow("vt is width 0") << QByteArray("ab\vcd") << 5ull << 4ull;
        QTest::newRow("controls") << QByteArray("\x01\x7f") << 2ull << 0ull;
        QTest::newRow("NUL") << QByteArray("\0a", 2) << 2ull << 1ull;
        QTest::newRow("wide") << QByteArray("\xE4\xB8\xAD") << 1ull << 2ull;
        QTest::newRow("emoji") << QByteArray("\xF0\x9F\x98\x80") << 1ull << 2ull;
        QTest::newRow("combining") << QByteArray("e\xCC\x81") << 2ull << 1ull;
        QTest::newRow("invalid bytes") << QByteArray("\xFF\xFE\x80") << 0ull << 0ull;
        QTest::newRow("truncated then ascii") << QByteArray(
                                                     "\xE4\xB8"
                                                     "a")
                                              << 1ull << 1ull;
        QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80") << 0ull << 0ull;
        QTest::newRow("overlong") << QByteArray("\xC0\x80") << 0ull << 0ull;
        QTest::newRow("5-byte form") << QByteArray("\xF8\x88\x80\x80\x80") << 1ull << 0ull;
        QTest::newRow("6-byte form") << QByteArray("\xFC\x84\x80\x80\x80\x80") << 1ull << 0ull;
        QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << 1ull << 0ull;
        QTest::newRow("truncated at end") << QByteArray("ab\xF0\x9F\x98") << 2ull << 2ull;
        QTest::newRow("tab after wide")
            << QByteArray("\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\tx\n") << 7ull << 17ull;
    }
    void fixedCases() {
        QFETCH(QByteArray, input);
        QFETCH(qulonglong, chars);
        QFETCH(qulonglong, width);
        const std::string s(input.constData(), static_cast<std::size_t>(input.size()));
        QCOMPARE(emulate(s), (WcLines{chars, width}));
        for (Kernel k : {Kernel::Sse2, Kernel::Auto}) {
            for (FreqMode m : {FreqMode::None, FreqMode::Normalized}) {
                const ShardCounts c = count(s, ShardSpec{0, s.size()}, m, k, 4096);
                QCOMPARE(ours(c), (WcLines{chars, width}));
            }
        }
    }

    void decoderMatchesGlibc() {
        // Every 1- to 3-byte prefix (padded with continuation bytes) and random longer ones.
        std::uint64_t checked = 0, bad = 0;
        withUtf8Locale([&] {
            unsigned char b[16] = {};
            const auto check = [&](std::size_t n) {
                std::mbstate_t st{};
                wchar_t wc = 0;
                const std::size_t r = std::mbrtowc(&wc, reinterpret_cast<const char*>(b), n, &st);
                std::uint32_t cp = 0;
                unsigned len = 0;
                if (b[0] < 0x80) {
                    len = 1, cp = b[0];
                } else {
                    unsigned char z[16] = {};  // the bytes past n read as zero
                    std::memcpy(z, b, n);
                    len = detail::decodeGlibcUtf8(z, cp);
                }
                const bool glibcOk = r != static_cast<std::size_t>(-1) && r != static_cast<std::size_t>(-2);
                const unsigned glibcLen = !glibcOk ? 0 : r == 0 ? 1 : static_cast<unsigned>(r);
                ++checked;
                if (glibcLen != len || (len && cp != static_cast<std::uint32_t>(wc))) ++bad;
            };
            for (unsigned x = 0x80; x < 256; ++x)
                for (unsigned y = 0; y < 256; ++y)
                    for (unsigned z = 0; z < 256; z += (x >= 0xE0 ? 1 : 255)) {
                        b[0] = static_cast<unsigned char>(x), b[1] = static_cast<unsigned char>(y);
                        b[2] = static_cast<unsigned char>(z), b[3] = b[4] = b[5] = 0x80;
                        for (std::size_t n = 1; n <= 6; ++n)
                            check(n);
                    }
            std::mt19937_64 rng(5);
            for (int i = 0; i < 2000000; ++i) {
                for (int k = 0; k < 6; ++k)
                    b[k] = static_cast<unsigned char>(k == 0 ? 0xC0 + rng() % 64 : 0x80 + rng() % 64);
                if (rng() % 4 == 0) b[rng() % 6] = static_cast<unsigned char>(rng());
                check(1 + rng() % 6);
            }
        });
        QVERIFY2(bad == 0, qPrintable(QStringLiteral("%1 of %2 sequences differ").arg(bad).arg(checked)));
    }

    void widthTableMatchesLocale() {
        // The compiled-in table (glibc 2.36) against the running glibc: equal on Debian 12.
        std::uint32_t bad = 0, first = 0;
        withUtf8Locale([&] {
            for (std::uint32_t c = 0; c < 0x110000; ++c) {
                const auto wc = static_cast<wchar_t>(c);
                const int w = std::iswprint(static_cast<wint_t>(wc)) ? std::max(::wcwidth(wc), 0) : 0;
                if (static_cast<unsigned>(w) != detail::charWidth(c) && bad++ == 0) first = c;
            }
            for (std::uint32_t c = 0x110000; c < 0x7FFFFFFF - 100003; c += 100003)
                if (std::iswprint(static_cast<wint_t>(c)) || detail::charWidth(c) != 0) ++bad;
        });
        QVERIFY2(bad == 0, qPrintable(QStringLiteral("%1 code points differ, first U+%2 (another glibc?)")
                                          .arg(bad)
                                          .arg(first, 4, 16, QLatin1Char('0'))));
    }

    void randomAgainstEmulation() {
        // The emulated wc on many random inputs, whole and cut into random shards merged in random orders.
        std::mt19937_64 rng(77);
        for (int iter = 0; iter < 3000; ++iter) {
            const std::string s =
                (iter % 3 == 0) ? randomBytes(rng, rng() % 300) : randomPieces(rng, rng() % 400);
            const WcLines want = emulate(s);
            const FreqMode mode = static_cast<FreqMode>(iter % 3);
            const ShardCounts whole = count(s, ShardSpec{0, s.size()}, mode, Kernel::Auto, 4096);
            if (ours(whole) != want)
                qWarning("input %s", QByteArray::fromStdString(s).toHex(' ').constData());
            QCOMPARE(ours(whole), want);
            const ShardCounts merged = shuffledMerge(s, rng, mode);
            if (ours(merged) != want)
                qWarning("merged, input %s", QByteArray::fromStdString(s).toHex(' ').constData());
            QCOMPARE(ours(merged), want);
            QVERIFY(merged.lineWidths == whole.lineWidths);
            QCOMPARE(merged.lineWidths.fragments.size(), s.empty() ? 0u : 1u);
        }
    }

    void everySplitEveryOrder() {
        // Small inputs with tabs and wide characters, cut at every pair of points, merged in all 6 orders.
        const std::string inputs[] = {
            std::string("ab\tc\xE4\xB8\xAD\td\nxy\t\xF0\x9F\x98\x80z\r\tq"),
            std::string("\t\xE4\xB8\xAD\xE4\xB8\xAD\t\t\xC3\xA9x\f\n\t"),
        };
        for (const std::string& s : inputs) {
            const WcLines want = emulate(s);
            for (std::size_t i = 0; i <= s.size(); ++i) {
                for (std::size_t j = i; j <= s.size(); ++j) {
                    std::vector<ShardCounts> parts{
                        count(s, {0, i}, FreqMode::None, Kernel::Auto, 4096),
                        count(s, {i, j - i}, FreqMode::None, Kernel::Sse2, 4096),
                        count(s, {j, s.size() - j}, FreqMode::None, Kernel::Auto, 4096)};
                    std::vector<int> order{0, 1, 2};
                    do {
                        ShardCounts total;
                        for (int o : order)
                            QVERIFY(mergeInto(total, parts[static_cast<std::size_t>(o)]));
                        QCOMPARE(ours(total), want);
                        const auto m = merge(parts[static_cast<std::size_t>(order[2])],
                                             *merge(parts[static_cast<std::size_t>(order[0])],
                                                    parts[static_cast<std::size_t>(order[1])]));
                        QCOMPARE(ours(*m), want);
                    } while (std::next_permutation(order.begin(), order.end()));
                }
            }
        }
    }

    void partialMergesAndUnknown() {
        const std::string s = "ab\tcd\nef\tgh";
        const ShardCounts a = count(s, {0, 4}, FreqMode::None, Kernel::Auto, 4096);
        const ShardCounts c = count(s, {8, s.size() - 8}, FreqMode::None, Kernel::Auto, 4096);
        ShardCounts acc;
        QVERIFY(mergeInto(acc, c));
        QVERIFY(mergeInto(acc, a));
        QCOMPARE(acc.lineWidths.fragments.size(), 2u);  // a gap: not final yet
        QVERIFY(!acc.maxLineWidth());
        QVERIFY(mergeInto(acc, count(s, {4, 4}, FreqMode::None, Kernel::Auto, 4096)));
        QCOMPARE(acc.lineWidths.fragments.size(), 1u);
        QCOMPARE(acc.maxLineWidth(), std::optional<std::uint64_t>(10));
        QVERIFY(!c.maxLineWidth());  // a shard not at offset 0 alone
        // A part from an older node (no chars, no summaries) makes both unknown.
        ShardCounts old;
        old.chars.reset();
        old.lineWidths.known = false;
        QVERIFY(mergeInto(acc, old));
        QVERIFY(!acc.chars);
        QVERIFY(!acc.maxLineWidth());
        QVERIFY(acc.lineWidths.fragments.empty());
        // Empty shards add nothing and leave an empty file at 0.
        ShardCounts empty;
        QVERIFY(mergeInto(empty, count(s, {3, 0}, FreqMode::None, Kernel::Auto, 4096)));
        QCOMPARE(empty.maxLineWidth(), std::optional<std::uint64_t>(0));
    }

    void againstGnuWc() {
        // GNU wc -m -L (Debian 12: coreutils 9.1) on the generated corpus, and each file cut into
        // random shards merged in random orders, in both table modes.
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto files = corpus();
        QStringList paths;
        for (std::size_t i = 0; i < files.size(); ++i) {
            const QString path = dir.filePath(QStringLiteral("f%1").arg(i));
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(files[i].second.data(), static_cast<qint64>(files[i].second.size()));
            paths << path;
        }
        QProcess wc;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LC_ALL"), QStringLiteral("C.UTF-8"));
        wc.setProcessEnvironment(env);
        wc.start(QStringLiteral("/usr/bin/wc"),
                 QStringList{QStringLiteral("-m"), QStringLiteral("-L")} + paths);
        QVERIFY(wc.waitForFinished(60000));
        QCOMPARE(wc.exitCode(), 0);
        const QList<QByteArray> lines = wc.readAllStandardOutput().split('\n');
        QVERIFY(lines.size() >= paths.size());
        std::mt19937_64 rng(31337);
        for (std::size_t i = 0; i < files.size(); ++i) {
            const QList<QByteArray> cols = lines[static_cast<qsizetype>(i)].simplified().split(' ');
            QVERIFY(cols.size() == 3);
            const WcLines gnu{cols[0].toULongLong(), cols[1].toULongLong()};
            const std::string& s = files[i].second;
            const WcLines whole = ours(countBytes(s));
            if (whole != gnu)
                qWarning("%s: ours %llu chars, width %llu; wc %llu, %llu", qPrintable(files[i].first),
                         static_cast<unsigned long long>(whole.chars),
                         static_cast<unsigned long long>(whole.maxWidth),
                         static_cast<unsigned long long>(gnu.chars),
                         static_cast<unsigned long long>(gnu.maxWidth));
            QCOMPARE(whole, gnu);
            QCOMPARE(emulate(s), gnu);
            for (int rep = 0; rep < 4; ++rep) {
                const WcLines merged =
                    ours(shuffledMerge(s, rng, rep % 2 ? FreqMode::Normalized : FreqMode::None));
                if (merged != gnu) qWarning("%s: shard merge %d differs", qPrintable(files[i].first), rep);
                QCOMPARE(merged, gnu);
            }
        }
    }
};

QTEST_GUILESS_MAIN(tst_WordcountLines)
#include "tst_wordcount_lines.moc"
