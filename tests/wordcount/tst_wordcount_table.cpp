// Frequency table, normalized tokens, top words and paging, merge, serialization, shard planning.
#include <QTest>

#include <map>
#include <random>

#include "wordcount/normalize.h"
#include "wordcount/plan.h"
#include "wordcount/serialize.h"
#include "wordcount/wordcount.h"

using namespace raftwc::wordcount;

namespace {

QStringList toList(const std::vector<std::string>& v) {
    QStringList out;
    for (const auto& s : v)
        out << QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
    return out;
}

ShardCounts sample(FreqMode mode) {
    return countBytes("The cat saw the CAT. Don't stop, well-known caf\xC3\xA9 \xFF\xFE x", mode);
}

void putLe(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

/// The version-1 encoding (before characters and line widths), written by hand.
std::string encodeV1(const ShardCounts& c) {
    std::string out = "RWCS";
    putLe(out, 1, 2);
    putLe(out, static_cast<std::uint8_t>(c.mode), 1);
    putLe(out, 0, 1);
    putLe(out, c.words, 8);
    putLe(out, c.lines, 8);
    putLe(out, c.bytes, 8);
    putLe(out, c.freq.size(), 8);
    c.freq.forEach([&](std::string_view w, std::uint64_t n) {
        putLe(out, w.size(), 4);
        out.append(w);
        putLe(out, n, 8);
    });
    putLe(out, hashBytes(out.data(), out.size()), 8);
    return out;
}

/// A partial merge: three fragments with tabs, line ends and a gap.
ShardCounts fragmented() {
    const std::string s =
        "ab\tc\nd\t\xE4\xB8\xAD"
        "e\rfg\thij\nk";
    const MemoryByteSource src(s);
    ShardCounts acc;
    for (ShardSpec spec : {ShardSpec{0, 3}, ShardSpec{5, 7}, ShardSpec{15, s.size() - 15}})
        mergeInto(acc, countRange(src, s.size(), spec).counts);
    return acc;
}

}  // namespace

class tst_WordcountTable : public QObject {
    Q_OBJECT

  private slots:
    void tableAgainstStdMap() {
        std::mt19937_64 rng(5);
        FrequencyTable t;
        std::map<std::string, std::uint64_t> ref;
        for (int i = 0; i < 200000; ++i) {
            std::string w(rng() % 20, 'a');
            for (char& c : w)
                c = static_cast<char>('a' + rng() % 4);
            const std::uint64_t n = 1 + rng() % 3;
            t.add(w, n);
            ref[w] += n;
        }
        QCOMPARE(t.size(), ref.size());
        std::uint64_t total = 0;
        for (const auto& [w, n] : ref) {
            QCOMPARE(t.count(w), n);
            total += n;
        }
        QCOMPARE(t.total(), total);
        QCOMPARE(t.count("not-there"), 0ull);
        FrequencyTable e;
        e.add("");
        e.add("", 2);
        QCOMPARE(e.count(""), 3ull);  // the empty word is a valid key
        QCOMPARE(e.size(), 1u);
        const FrequencyTable copy = t;
        QVERIFY(copy == t);
        FrequencyTable other;
        other.add("zzz");
        QVERIFY(!(other == t));
    }

    void addPaddedAgreesWithAdd() {
        // addPadded reads 16 bytes from the word's start and masks what follows: garbage after the word
        // must not matter, and both paths must hash and compare alike (they share one table here).
        std::mt19937_64 rng(17);
        FrequencyTable mixed, plain;
        std::map<std::string, std::uint64_t> ref;
        std::string buf;
        for (int i = 0; i < 200000; ++i) {
            const std::size_t n = rng() % 24;
            std::string w(n, '\0');
            for (char& c : w)
                c = rng() % 3 == 0 ? static_cast<char>(rng() % 256) : static_cast<char>('a' + rng() % 3);
            buf = w;
            for (int k = 0; k < 16; ++k)
                buf.push_back(static_cast<char>(rng() % 256));
            if (rng() % 2)
                mixed.addPadded(std::string_view(buf.data(), n));
            else
                mixed.add(w);
            plain.add(w);
            ++ref[w];
        }
        QCOMPARE(mixed.size(), ref.size());
        QCOMPARE(mixed.total(), 200000ull);
        for (const auto& [w, n] : ref)
            QCOMPARE(mixed.count(w), n);
        QVERIFY(mixed == plain);
    }

    void fullTableAgainstReferenceOnRandomUnicode() {
        // The whole normalized (and raw) table of countRange, over many shard splits and small buffers,
        // against a deliberately simple reference that knows each symbol of the alphabet by hand: no
        // production table is used to decide what the expected tokens are.
        struct Sym {
            const char* bytes;
            char kind;  // 't' token, 'm' combining mark, 'j' joiner, 's' separator, 'o' other
            const char* folded;
        };
        static const Sym kAlphabet[] = {
            {"a", 't', "a"},
            {"b", 't', "b"},
            {"Q", 't', "q"},
            {"Z", 't', "z"},
            {"7", 't', "7"},
            {"'", 'j', "'"},
            {"-", 'j', "-"},
            {"\xE2\x80\x99", 'j', "'"},  // U+2019
            {" ", 's', ""},
            {"\n", 's', ""},
            {"\t", 's', ""},
            {"\xC2\xA0", 's', ""},  // no-break space
            {".", 'o', ""},
            {",", 'o', ""},
            {"\x01", 'o', ""},
            {"\xFF", 'o', ""},                      // invalid byte
            {"\xC3\x89", 't', "\xC3\xA9"},          // É -> é
            {"\xC3\xA9", 't', "\xC3\xA9"},          // é
            {"\xD0\x96", 't', "\xD0\xB6"},          // Ж -> ж
            {"\xE4\xB8\xAD", 't', "\xE4\xB8\xAD"},  // 中
            {"\xCC\x81", 'm', "\xCC\x81"},          // combining acute accent
        };
        std::mt19937_64 rng(23);
        for (int round = 0; round < 30; ++round) {
            std::string text;
            std::vector<const Sym*> syms;
            const std::size_t len = 200 + rng() % 3000;
            while (syms.size() < len) {
                // Runs of letters make long words (past 16 bytes, the inline key limit) now and then.
                const Sym* sym = &kAlphabet[rng() % std::size(kAlphabet)];
                const int repeat = rng() % 8 == 0 ? 1 + static_cast<int>(rng() % 12) : 1;
                for (int r = 0; r < repeat; ++r) {
                    syms.push_back(sym);
                    text += sym->bytes;
                }
            }
            // Reference: words split at separators; tokens = runs of token characters (a mark continues
            // one), a joiner kept only between two token characters, folded.
            std::map<std::string, std::uint64_t> refNorm, refRaw;
            std::string word, tok, pendingJoiner;
            auto endToken = [&] {
                if (!tok.empty()) ++refNorm[tok];
                tok.clear();
                pendingJoiner.clear();
            };
            auto endWord = [&] {
                endToken();
                if (!word.empty()) ++refRaw[word];
                word.clear();
            };
            for (const Sym* sym : syms) {
                if (sym->kind == 's') {
                    endWord();
                    continue;
                }
                word += sym->bytes;
                const bool tokenChar =
                    sym->kind == 't' || (sym->kind == 'm' && !tok.empty() && pendingJoiner.empty());
                if (tokenChar) {
                    tok += pendingJoiner;
                    pendingJoiner.clear();
                    tok += sym->folded;
                } else if (sym->kind == 'j' && !tok.empty() && pendingJoiner.empty()) {
                    pendingJoiner = sym->folded;
                } else {
                    endToken();
                }
            }
            endWord();

            const MemoryByteSource src(text);
            for (FreqMode mode : {FreqMode::Normalized, FreqMode::Raw}) {
                // Random cuts; each shard owns the words that start in it.
                std::vector<std::uint64_t> cuts{0, text.size()};
                for (int k = static_cast<int>(rng() % 5); k > 0; --k)
                    cuts.push_back(rng() % text.size());
                std::sort(cuts.begin(), cuts.end());
                CountOptions opt;
                opt.mode = mode;
                opt.bufferBytes = 4096;
                ShardCounts acc;
                for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
                    const CountResult r =
                        countRange(src, text.size(), ShardSpec{cuts[k], cuts[k + 1] - cuts[k]}, opt);
                    QVERIFY(r.ok);
                    mergeInto(acc, r.counts);
                }
                const auto& ref = mode == FreqMode::Normalized ? refNorm : refRaw;
                std::map<std::string, std::uint64_t> got;
                acc.freq.forEach([&](std::string_view w, std::uint64_t n) { got[std::string(w)] += n; });
                if (got != ref) {
                    for (const auto& [w, n] : ref)
                        if (got[w] != n)
                            qWarning("round %d mode %d: '%s' expected %llu got %llu", round, int(mode),
                                     w.c_str(), static_cast<unsigned long long>(n),
                                     static_cast<unsigned long long>(got[w]));
                }
                QVERIFY(got == ref);
                QCOMPARE(acc.freq.size(), ref.size());
            }
        }
    }

    void topWordsAndPaging() {
        FrequencyTable t;
        t.add("b", 3);
        t.add("a", 3);
        t.add("c", 5);
        t.add("d", 1);
        const auto top = topWords(t, 3);
        QCOMPARE(top.size(), 3u);
        QCOMPARE(top[0], (WordCount{"c", 5}));
        QCOMPARE(top[1], (WordCount{"a", 3}));
        QCOMPARE(top[2], (WordCount{"b", 3}));
        QCOMPARE(topWords(t, 100).size(), 4u);
        const WordPage p = pageWords(t, 2, 1);
        QCOMPARE(p.totalDistinct, 4ull);
        QCOMPARE(p.words.size(), 2u);
        QCOMPARE(p.words[0].word, std::string("a"));
        QCOMPARE(p.words[1].word, std::string("b"));
        QVERIFY(pageWords(t, 10, 4).words.empty());
        QCOMPARE(pageWords(t, 10, 3).words, std::vector<WordCount>{(WordCount{"d", 1})});
        QCOMPARE(pageSorted(sortedEntries(t), 2, 1).words, p.words);
    }

    void normalizedTokens_data() {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<QStringList>("tokens");
        QTest::newRow("apostrophe") << QByteArray("Don't") << QStringList{QStringLiteral("don't")};
        QTest::newRow("hyphen") << QByteArray("well-known") << QStringList{QStringLiteral("well-known")};
        QTest::newRow("outer hyphens") << QByteArray("--x--") << QStringList{QStringLiteral("x")};
        QTest::newRow("double hyphen")
            << QByteArray("a--b") << QStringList{QStringLiteral("a"), QStringLiteral("b")};
        QTest::newRow("curly apostrophe")
            << QByteArray("Don\xE2\x80\x99t") << QStringList{QStringLiteral("don't")};
        QTest::newRow("leading quote") << QByteArray("\xE2\x80\x99tis") << QStringList{QStringLiteral("tis")};
        QTest::newRow("punctuation") << QByteArray("(Hello),World!")
                                     << QStringList{QStringLiteral("hello"), QStringLiteral("world")};
        QTest::newRow("unicode fold")
            << QByteArray("CAF\xC3\x89") << QStringList{QString::fromUtf8("caf\xC3\xA9")};
        QTest::newRow("cyrillic") << QByteArray("\xD0\x96\xD0\x98\xD0\x92")
                                  << QStringList{QString::fromUtf8("\xD0\xB6\xD0\xB8\xD0\xB2")};
        QTest::newRow("digits") << QByteArray("A1-b2") << QStringList{QStringLiteral("a1-b2")};
        QTest::newRow("combining mark")
            << QByteArray("e\xCC\x81t\xC3\xA9") << QStringList{QString::fromUtf8("e\xCC\x81t\xC3\xA9")};
        QTest::newRow("invalid splits") << QByteArray(
                                               "ab\xFF"
                                               "cd")
                                        << QStringList{QStringLiteral("ab"), QStringLiteral("cd")};
        QTest::newRow("only punctuation") << QByteArray("--'--") << QStringList{};
        QTest::newRow("control splits") << QByteArray(
                                               "a\x01"
                                               "b")
                                        << QStringList{QStringLiteral("a"), QStringLiteral("b")};
        QTest::newRow("truncated utf8") << QByteArray("x\xE4\xB8") << QStringList{QStringLiteral("x")};
    }
    void normalizedTokens() {
        QFETCH(QByteArray, raw);
        QFETCH(QStringList, tokens);
        QCOMPARE(toList(raftwc::wordcount::normalizedTokens(
                     std::string_view(raw.constData(), static_cast<std::size_t>(raw.size())))),
                 tokens);
    }

    void normalizedNeverCrashesOnGarbage() {
        std::mt19937_64 rng(11);
        std::string scratch;
        for (int i = 0; i < 20000; ++i) {
            std::string w(rng() % 16, '\0');
            for (char& c : w)
                c = static_cast<char>(rng() % 256);
            std::size_t total = 0;
            forEachNormalizedToken(w, scratch, [&](std::string_view t) {
                QVERIFY(!t.empty());
                total += t.size();
            });
            QVERIFY(total <= 4 * w.size());
        }
    }

    void modesOnASentence() {
        const ShardCounts raw = sample(FreqMode::Raw);
        QCOMPARE(raw.words, 11ull);
        QCOMPARE(raw.freq.total(), raw.words);
        QCOMPARE(raw.freq.count("CAT."), 1ull);
        QCOMPARE(raw.freq.count("\xFF\xFE"), 1ull);
        const ShardCounts norm = sample(FreqMode::Normalized);
        QCOMPARE(norm.words, 11ull);
        QCOMPARE(norm.freq.count("the"), 2ull);
        QCOMPARE(norm.freq.count("cat"), 2ull);
        QCOMPARE(norm.freq.count("don't"), 1ull);
        QCOMPARE(norm.freq.count("well-known"), 1ull);
        QCOMPARE(norm.freq.count("caf\xC3\xA9"), 1ull);
        QCOMPARE(norm.freq.size(), 8u);
        QVERIFY(countBytes("some words", FreqMode::None).freq.empty());
    }

    void mergeModes() {
        const ShardCounts raw = sample(FreqMode::Raw), norm = sample(FreqMode::Normalized);
        QVERIFY(!merge(raw, norm).has_value());
        ShardCounts acc;
        QVERIFY(mergeInto(acc, norm));
        QVERIFY(mergeInto(acc, norm));
        QCOMPARE(acc.mode, FreqMode::Normalized);
        QCOMPARE(acc.words, 2 * norm.words);
        QCOMPARE(acc.freq.count("cat"), 4ull);
        ShardCounts before = acc;
        QVERIFY(!mergeInto(acc, raw));
        QVERIFY(acc == before);
    }

    void serializationRoundTrip() {
        for (FreqMode m : {FreqMode::None, FreqMode::Raw, FreqMode::Normalized}) {
            const ShardCounts c = sample(m);
            const std::string enc = encodeShardCounts(c);
            ShardCounts d;
            std::string err;
            QVERIFY2(decodeShardCounts(enc, d, &err), err.c_str());
            QVERIFY(d == c);
        }
        ShardCounts big;
        big.mode = FreqMode::Raw;
        for (int i = 0; i < 5000; ++i)
            big.freq.add(std::to_string(i), static_cast<std::uint64_t>(i % 7 + 1));
        big.words = big.freq.total();
        big.bytes = big.words * 10;
        ShardCounts d;
        QVERIFY(decodeShardCounts(encodeShardCounts(big), d));
        QVERIFY(d == big);
    }

    void serializationLineWidths() {
        const ShardCounts frag = fragmented();
        QCOMPARE(frag.lineWidths.fragments.size(), 3u);
        ShardCounts d;
        std::string err;
        QVERIFY2(decodeShardCounts(encodeShardCounts(frag), d, &err), err.c_str());
        QVERIFY(d == frag);
        QVERIFY(d.chars.has_value());
        ShardCounts unknown = sample(FreqMode::Raw);
        unknown.chars.reset();
        unknown.lineWidths = LineWidths{false, {}};
        QVERIFY2(decodeShardCounts(encodeShardCounts(unknown), d, &err), err.c_str());
        QVERIFY(d == unknown);
    }

    void serializationDecodesVersion1() {
        for (FreqMode m : {FreqMode::None, FreqMode::Raw, FreqMode::Normalized}) {
            const ShardCounts c = sample(m);
            ShardCounts d;
            std::string err;
            QVERIFY2(decodeShardCounts(encodeV1(c), d, &err), err.c_str());
            QCOMPARE(d.words, c.words);
            QCOMPARE(d.lines, c.lines);
            QCOMPARE(d.bytes, c.bytes);
            QVERIFY(d.freq == c.freq);
            QVERIFY(!d.chars.has_value());  // absent: unknown
            QVERIFY(!d.lineWidths.known);
            QVERIFY(!d.maxLineWidth());
            ShardCounts acc = sample(m);  // merging an old part makes the total unknown, not wrong
            QVERIFY(mergeInto(acc, d));
            QVERIFY(!acc.chars.has_value());
            QVERIFY(!acc.maxLineWidth());
            QCOMPARE(acc.words, 2 * c.words);
        }
        std::string v1 = encodeV1(sample(FreqMode::None));
        v1[4] = 3;  // an unknown version
        ShardCounts d;
        QVERIFY(!decodeShardCounts(v1, d));
    }

    void serializationRejectsBadLineWidths() {
        // Each payload has a valid checksum: only the structural checks can reject it.
        const ShardCounts good = fragmented();
        ShardCounts d;
        std::string err;
        const auto rejects = [&](ShardCounts c, const char* what) {
            if (decodeShardCounts(encodeShardCounts(c), d, &err)) {
                qWarning("accepted: %s", what);
                return false;
            }
            return true;
        };
        ShardCounts c = good;
        c.chars = c.bytes + 1;
        QVERIFY(rejects(c, "chars above bytes"));
        c = good;
        std::swap(c.lineWidths.fragments[0], c.lineWidths.fragments[2]);
        QVERIFY(rejects(c, "out of order"));
        c = good;
        c.lineWidths.fragments[1].length = 0;
        QVERIFY(rejects(c, "empty fragment"));
        c = good;
        c.lineWidths.fragments[1].length = c.bytes;
        QVERIFY(rejects(c, "longer than bytes"));
        c = good;
        c.lineWidths.fragments[2].offset = ~std::uint64_t{0} - 1;
        QVERIFY(rejects(c, "range overflow"));
        c = good;
        c.lineWidths.fragments[0].summary.innerMax = 1000;
        QVERIFY(rejects(c, "wider than 8 per byte"));
        c = good;
        c.lineWidths.fragments[0].summary.headTab = false;
        c.lineWidths.fragments[0].summary.headAfterTab = 1;
        QVERIFY(rejects(c, "head after tab without a tab"));
        c = good;
        c.lineWidths.fragments[0].summary.hasLineEnd = false;
        c.lineWidths.fragments[0].summary.tail = 1;
        QVERIFY(rejects(c, "tail without a line end"));
        c = good;
        c.lineWidths.known = false;  // the encoder writes no fragments then; forge one
        std::string forged = encodeShardCounts(good);
        const std::size_t flagsAt = forged.size() - 8 - 3 * 49 - 13;
        forged[flagsAt] = 1;  // widths unknown but 3 fragments follow
        forged.resize(forged.size() - 8);
        putLe(forged, hashBytes(forged.data(), forged.size()), 8);
        QVERIFY(!decodeShardCounts(forged, d, &err));
        forged[flagsAt] = 7;  // an unknown flag
        forged.resize(forged.size() - 8);
        putLe(forged, hashBytes(forged.data(), forged.size()), 8);
        QVERIFY(!decodeShardCounts(forged, d, &err));
        QVERIFY(err.find("flags") != std::string::npos);
    }

    void serializationRejectsGarbage() {
        const std::string good = encodeShardCounts(sample(FreqMode::Normalized));
        ShardCounts d;
        std::string err;
        QVERIFY(!decodeShardCounts("", d, &err));
        QVERIFY(!err.empty());
        QVERIFY(!decodeShardCounts(good.substr(0, good.size() - 1), d));
        QVERIFY(!decodeShardCounts(good + "x", d));
        for (std::size_t i = 0; i < good.size(); ++i) {  // every single-byte corruption is caught
            std::string bad = good;
            bad[i] = static_cast<char>(bad[i] ^ 0x41);
            QVERIFY(!decodeShardCounts(bad, d));
        }
        std::mt19937_64 rng(1);
        for (int i = 0; i < 20000; ++i) {
            std::string junk(rng() % 200, '\0');
            for (char& c : junk)
                c = static_cast<char>(rng() % 256);
            if (rng() % 2 && junk.size() >= 4) junk.replace(0, 4, "RWCS");
            QVERIFY(!decodeShardCounts(junk, d));
        }
        // A structurally broken payload with a valid checksum is still rejected (raw sum mismatch).
        ShardCounts lie = sample(FreqMode::Raw);
        lie.words += 1;
        QVERIFY(!decodeShardCounts(encodeShardCounts(lie), d, &err));
        QVERIFY(err.find("sum") != std::string::npos);
    }

    void planCoversFileExactlyOnce_data() {
        QTest::addColumn<qulonglong>("size");
        QTest::addColumn<int>("nodes");
        QTest::addColumn<uint>("perNode");
        QTest::addColumn<qulonglong>("minBytes");
        QTest::addColumn<qulonglong>("align");
        QTest::newRow("empty") << 0ull << 3 << 2u << 100ull << 1ull;
        QTest::newRow("tiny") << 10ull << 3 << 2u << 100ull << 1ull;
        QTest::newRow("even") << 1000ull << 3 << 2u << 10ull << 1ull;
        QTest::newRow("aligned") << 1000000ull << 5 << 3u << 1000ull << 4096ull;
        QTest::newRow("align bigger than shards") << 10000ull << 4 << 4u << 1ull << 65536ull;
        QTest::newRow("1 GiB") << (1ull << 30) << 7 << 2u << (8ull << 20) << 65536ull;
        QTest::newRow("prime") << 1000003ull << 1 << 9u << 7ull << 1ull;
    }
    void planCoversFileExactlyOnce() {
        QFETCH(qulonglong, size);
        QFETCH(int, nodes);
        QFETCH(uint, perNode);
        QFETCH(qulonglong, minBytes);
        QFETCH(qulonglong, align);
        std::vector<std::uint64_t> ids;
        for (int i = 0; i < nodes; ++i)
            ids.push_back(static_cast<std::uint64_t>(100 + i));
        const auto plan = planShards(size, ids, PlanOptions{perNode, minBytes, align});
        QVERIFY(!plan.empty());
        QVERIFY(plan.size() <= ids.size() * perNode);
        std::uint64_t pos = 0;
        for (std::size_t i = 0; i < plan.size(); ++i) {
            QCOMPARE(plan[i].index, static_cast<std::uint32_t>(i));
            QCOMPARE(plan[i].spec.offset, pos);
            QVERIFY(plan[i].spec.length > 0 || size == 0);
            if (align == 1 && i + 1 < plan.size()) QVERIFY(plan[i].spec.length >= minBytes);
            if (i + 1 < plan.size()) QCOMPARE((plan[i].spec.offset + plan[i].spec.length) % align, 0ull);
            QCOMPARE(plan[i].node, ids[i % ids.size()]);
            pos += plan[i].spec.length;
        }
        QCOMPARE(pos, size);
        QVERIFY(planShards(size, {}).empty());
    }
};

QTEST_GUILESS_MAIN(tst_WordcountTable)
#include "tst_wordcount_table.moc"
