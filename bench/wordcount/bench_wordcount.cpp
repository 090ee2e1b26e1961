// Word-count kernel benchmark against references measured in the same run:
//   cat FILE >/dev/null (page-cache read rate), LC_ALL=C.UTF-8 wc -w FILE, and a plain
//   std::unordered_map<std::string, uint64_t> count of the same normalized tokens.
// Usage: wordcount_bench [--mib N] [--reps N] [--dir DIR] [--keep] [--text english|dense]
//        (default 256 MiB of English-like text in $TMPDIR or /tmp)
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "wordcount/normalize.h"
#include "wordcount/wordcount.h"

using namespace raftwc::wordcount;

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// CPU time (user + system) of this process, or of its waited-for children.
double cpuTime(int who) {
    rusage ru{};
    getrusage(who, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/// Wall and CPU seconds of one measurement; best() keeps the minimum of each.
struct Timing {
    double wall = 1e30, cpu = 1e30;
    void best(const Timing& t) {
        wall = std::min(wall, t.wall);
        cpu = std::min(cpu, t.cpu);
    }
};

std::string randomWord(std::mt19937_64& rng) {
    static const char* const consonants[] = {"b", "c", "d", "f", "g", "h",  "l",  "m",  "n", "p",
                                             "r", "s", "t", "v", "w", "th", "st", "ch", "k", "y"};
    static const char* const vowels[] = {"a", "e", "i", "o", "u", "ea", "ou", "io"};
    std::string w;
    const int syllables = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < syllables; ++i) {
        w += consonants[rng() % std::size(consonants)];
        w += vowels[rng() % std::size(vowels)];
    }
    if (rng() % 3 == 0) w += consonants[rng() % std::size(consonants)];
    return w;
}

/// Zipf(1) over n ranks: rank i comes with probability proportional to 1 / (i + 1).
class Zipf {
  public:
    explicit Zipf(std::size_t n) : cdf_(n) {
        double acc = 0;
        for (std::size_t i = 0; i < n; ++i)
            cdf_[i] = (acc += 1.0 / static_cast<double>(i + 1));
        u_ = std::uniform_real_distribution<double>(0, acc);
    }
    std::size_t operator()(std::mt19937_64& rng) {
        return static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u_(rng)) - cdf_.begin());
    }

  private:
    std::vector<double> cdf_;
    std::uniform_real_distribution<double> u_;
};

/// Writes the first `size` bytes of what fill(buf) produces, about 1 MiB per call into a cleared buffer.
template <class Fill>
bool writeGenerated(const std::string& path, std::uint64_t size, Fill&& fill) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    std::string buf;
    std::uint64_t written = 0;
    while (written < size) {
        buf.clear();
        fill(buf);
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - written));
        if (std::fwrite(buf.data(), 1, n, f) != n) {
            std::fclose(f);
            return false;
        }
        written += n;
    }
    return std::fclose(f) == 0;
}

/// Realistic text: Zipf-distributed vocabulary, sentences, commas, lines and paragraphs; about 3% of
/// the words are UTF-8 (accents, Cyrillic, CJK, curly quotes, em dashes, a few no-break spaces).
bool generate(const std::string& path, std::uint64_t size) {
    std::mt19937_64 rng(42);
    std::vector<std::string> vocab;
    for (int i = 0; i < 40000; ++i)
        vocab.push_back(randomWord(rng));
    static const char* const utf8[] = {"caf\xC3\xA9",
                                       "na\xC3\xAFve",
                                       "Z\xC3\xBCrich",
                                       "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
                                       "\xE6\x9D\xB1\xE4\xBA\xAC",
                                       "don\xE2\x80\x99t",
                                       "\xE2\x80\x9Cquoted\xE2\x80\x9D",
                                       "\xE2\x80\x94",
                                       "fa\xC3\xA7"
                                       "ade",
                                       "stra\xC3\x9F"
                                       "e"};
    Zipf zipf(vocab.size());
    int inSentence = 0, inLine = 0;
    return writeGenerated(path, size, [&](std::string& buf) {
        while (buf.size() < (1u << 20)) {
            std::string w;
            if (rng() % 100 < 3) {
                w = utf8[rng() % std::size(utf8)];
            } else {
                w = vocab[zipf(rng)];
            }
            if (inSentence == 0 && w[0] >= 'a' && w[0] <= 'z') w[0] = static_cast<char>(w[0] - 32);
            buf += w;
            ++inSentence;
            ++inLine;
            if (inSentence > 6 && rng() % 8 == 0) {
                buf += '.';
                inSentence = 0;
            } else if (rng() % 12 == 0) {
                buf += ',';
            }
            if (inLine > 11 && rng() % 4 == 0) {
                buf += (rng() % 20 == 0) ? "\n\n" : "\n";
                inLine = 0;
            } else {
                buf += (rng() % 500 == 0) ? "\xC2\xA0" : " ";
            }
        }
    });
}

/// Word-dense text (issue 14's): Zipf over a 50,000-token vocabulary of short lower-case ASCII tokens
/// (1-7 letters), one space between tokens, a newline every 16 tokens. About 6 bytes per word.
bool generateDense(const std::string& path, std::uint64_t size) {
    std::mt19937_64 rng(43);
    std::vector<std::string> vocab;
    for (int i = 0; i < 50000; ++i) {
        std::string w(1 + rng() % 7, 'a');
        for (char& c : w)
            c = static_cast<char>('a' + rng() % 26);
        vocab.push_back(std::move(w));
    }
    Zipf zipf(vocab.size());
    std::uint64_t n = 0;
    return writeGenerated(path, size, [&](std::string& buf) {
        while (buf.size() < (1u << 20)) {
            buf += vocab[zipf(rng)];
            buf += ++n % 16 == 0 ? '\n' : ' ';
        }
    });
}

/// Runs a shell command; wall time and the CPU time of the command (via RUSAGE_CHILDREN).
Timing timeCommand(const std::string& cmd, std::string* out = nullptr) {
    const double c0 = cpuTime(RUSAGE_CHILDREN);
    const double t0 = now();
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) std::exit(1);
    char line[4096];
    std::string text;
    while (std::fgets(line, sizeof line, p))
        text += line;
    if (pclose(p) != 0) {
        std::fprintf(stderr, "command failed: %s\n", cmd.c_str());
        std::exit(1);
    }
    Timing t{now() - t0, cpuTime(RUSAGE_CHILDREN) - c0};
    if (out) *out = text;
    return t;
}

Timing timeKernel(const FileByteSource& src, FreqMode mode, Kernel k, ShardCounts* counts) {
    CountOptions opt;
    opt.mode = mode;
    opt.kernel = k;
    const double c0 = cpuTime(RUSAGE_SELF);
    const double t0 = now();
    CountResult r = countRange(src, src.size(), ShardSpec{0, src.size()}, opt);
    Timing t{now() - t0, cpuTime(RUSAGE_SELF) - c0};
    if (!r.ok) {
        std::fprintf(stderr, "countRange failed: %s\n", r.error.c_str());
        std::exit(1);
    }
    if (counts) *counts = std::move(r.counts);
    return t;
}

const char* verdict(bool ok) {
    return ok ? "MET" : "MISSED";
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t mib = 256;
    std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    bool keep = false, dense = false;
    int reps = 5;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--mib") && i + 1 < argc) {
            mib = std::strtoull(argv[++i], nullptr, 10);
        } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = std::max(1, std::atoi(argv[++i]));
        } else if (!std::strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (!std::strcmp(argv[i], "--text") && i + 1 < argc &&
                   (!std::strcmp(argv[i + 1], "english") || !std::strcmp(argv[i + 1], "dense"))) {
            dense = !std::strcmp(argv[++i], "dense");
        } else {
            std::fprintf(stderr,
                         "usage: %s [--mib N] [--reps N] [--dir DIR] [--keep] [--text english|dense]\n",
                         argv[0]);
            return 2;
        }
    }
    if (mib == 0) mib = 1;
    const std::string path = dir + "/raftwc-wordcount-bench-" + std::to_string(getpid()) + ".txt";
    const std::uint64_t size = mib << 20;
    std::printf("generating %llu MiB of %s text in %s ...\n", static_cast<unsigned long long>(mib),
                dense ? "word-dense" : "English-like", path.c_str());
    if (!(dense ? generateDense(path, size) : generate(path, size))) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        return 1;
    }
    const double gib = static_cast<double>(size) / (1 << 30);
    const auto rate = [&](double s) { return gib / s; };

    // Interleaved repetitions (best of N each) so that load from other processes hits all alike.
    // Ratios use CPU time (user + system); wall times are printed too.
    const std::string q = "'" + path + "'";
    FileByteSource src(path);
    if (!src.isOpen()) {
        std::fprintf(stderr, "%s\n", src.error().c_str());
        return 1;
    }
    timeCommand("cat " + q + " >/dev/null");  // warm the page cache
    Timing cat, avx, sse, norm, raw, wc;
    ShardCounts totals, normCounts, rawCounts;
    for (int rep = 0; rep < reps; ++rep) {
        cat.best(timeCommand("cat " + q + " >/dev/null"));
        avx.best(timeKernel(src, FreqMode::None, Kernel::Auto, &totals));
        sse.best(timeKernel(src, FreqMode::None, Kernel::Sse2, nullptr));
    }
    std::string wcOut;
    wc.best(timeCommand("LC_ALL=C.UTF-8 wc -w " + q, &wcOut));
    const unsigned long long wcWords = std::strtoull(wcOut.c_str(), nullptr, 10);
    norm.best(timeKernel(src, FreqMode::Normalized, Kernel::Auto, &normCounts));
    raw.best(timeKernel(src, FreqMode::Raw, Kernel::Auto, &rawCounts));

    std::printf("\nfile %llu bytes, %llu words, %llu lines (wc -w says %llu: %s); kernel %s; best of %d\n",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(totals.words),
                static_cast<unsigned long long>(totals.lines), wcWords,
                wcWords == totals.words ? "equal" : "DIFFERENT", autoKernelName(), reps);
    std::printf("%-30s %9s %9s %10s\n", "", "wall s", "cpu s", "GiB/s(cpu)");
    const auto row = [&](const char* name, const Timing& t, const char* extra) {
        std::printf("%-30s %9.4f %9.4f %10.2f  %s\n", name, t.wall, t.cpu, rate(t.cpu), extra);
    };
    char buf[200];
    row("cat FILE >/dev/null", cat, "");
    row("LC_ALL=C.UTF-8 wc -w FILE", wc, "");
    std::snprintf(buf, sizeof buf, "%5.1fx wc, %3.0f%% of cat", wc.cpu / avx.cpu, 100 * cat.cpu / avx.cpu);
    row("kernel totals (auto)", avx, buf);
    std::snprintf(buf, sizeof buf, "%5.1fx wc, %3.0f%% of cat", wc.cpu / sse.cpu, 100 * cat.cpu / sse.cpu);
    row("kernel totals (sse2)", sse, buf);
    std::snprintf(buf, sizeof buf, "%5.1fx wc, %zu distinct", wc.cpu / norm.cpu, normCounts.freq.size());
    row("kernel + normalized table", norm, buf);
    std::snprintf(buf, sizeof buf, "%5.1fx wc, %zu distinct", wc.cpu / raw.cpu, rawCounts.freq.size());
    row("kernel + raw table", raw, buf);

    // Table alone: the same normalized tokens into FrequencyTable and into a plain unordered_map.
    // The text is tokenized 1 MiB at a time (untimed) and each chunk's tokens, hot in cache, are
    // counted; only the counting is timed (thread CPU time). One pass per structure, so that each
    // stays as warm as in a real count.
    const auto threadCpu = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    };
    double tTable = 0, tPadded = 0, tMap = 0;
    std::size_t distinctTable = 0, distinctPadded = 0, distinctMap = 0, tokenCount = 0;
    {
        FrequencyTable t, tp;
        std::unordered_map<std::string, std::uint64_t> m;
        std::string chunk(1 << 20, '\0'), scratch, arena;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> toks;
        const auto isSpace = [](unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); };
        for (int pass = 0; pass < 3; ++pass) {
            std::uint64_t pos = 0;
            while (pos < size) {
                // Chunks end at an ASCII space so no token is cut.
                std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - pos));
                if (!src.read(pos, len, chunk.data())) return 1;
                if (pos + len < size) {
                    while (len > 1 && !isSpace(static_cast<unsigned char>(chunk[len - 1])))
                        --len;
                }
                pos += len;
                toks.clear();
                arena.clear();
                std::size_t i = 0;
                while (i < len) {
                    while (i < len && isSpace(static_cast<unsigned char>(chunk[i])))
                        ++i;
                    std::size_t j = i;
                    while (j < len && !isSpace(static_cast<unsigned char>(chunk[j])))
                        ++j;
                    if (j > i) {
                        forEachNormalizedToken(std::string_view(chunk).substr(i, j - i), scratch,
                                               [&](std::string_view w) {
                                                   toks.emplace_back(static_cast<std::uint32_t>(arena.size()),
                                                                     static_cast<std::uint32_t>(w.size()));
                                                   arena += w;
                                               });
                    }
                    i = j;
                }
                arena.append(16, '\0');  // addPadded reads 16 bytes from a token's start (as in countRange)
                const std::string_view a(arena);
                const double c0 = threadCpu();
                if (pass == 0) {
                    tokenCount += toks.size();
                    for (const auto& [off, n] : toks)
                        t.add(a.substr(off, n));
                    tTable += threadCpu() - c0;
                } else if (pass == 2) {
                    for (const auto& [off, n] : toks)
                        tp.addPadded(a.substr(off, n));
                    tPadded += threadCpu() - c0;
                } else {
                    for (const auto& [off, n] : toks)
                        ++m[std::string(a.substr(off, n))];
                    tMap += threadCpu() - c0;
                }
            }
        }
        distinctTable = t.size();
        distinctPadded = tp.size();
        if (!(t == tp)) {
            std::fprintf(stderr, "FrequencyTable::add and addPadded disagree\n");
            return 1;
        }
        distinctMap = m.size();
    }
    const double mtok = static_cast<double>(tokenCount) / 1e6;
    std::printf("%-34s %8.3f s %7.1f Mtok/s (%zu distinct of %.1fM tokens)\n", "FrequencyTable::add", tTable,
                mtok / tTable, distinctTable, mtok);
    std::printf("%-34s %8.3f s %7.1f Mtok/s (%zu distinct; what countRange calls)\n",
                "FrequencyTable::addPadded", tPadded, mtok / tPadded, distinctPadded);
    std::printf("%-34s %8.3f s %7.1f Mtok/s (%zu distinct)\n", "unordered_map<string,uint64_t>", tMap,
                mtok / tMap, distinctMap);

    std::printf("\ngoals:\n");
    std::printf("  totals >= 20x wc -w              : %6.1fx  %s\n", wc.cpu / avx.cpu,
                verdict(wc.cpu / avx.cpu >= 20));
    std::printf("  totals >= 50%% of cat read rate   : %6.0f%%  %s\n", 100 * cat.cpu / avx.cpu,
                verdict(cat.cpu / avx.cpu >= 0.5));
    std::printf("  table (addPadded) >= 4x unordered_map: %6.1fx  %s  (add: %.1fx)\n", tMap / tPadded,
                verdict(tMap / tPadded >= 4), tMap / tTable);
    std::printf("  normalized table >= 1x wc -w     : %6.2fx  %s\n", wc.cpu / norm.cpu,
                verdict(wc.cpu / norm.cpu >= 1));
    std::printf("  raw table faster than normalized : %6.2fx  %s\n", norm.cpu / raw.cpu,
                verdict(raw.cpu < norm.cpu));
    std::printf("  kernel words == wc -w            : %s\n", verdict(wcWords == totals.words));
    std::printf("  normalized/raw totals == totals  : %s\n",
                verdict(normCounts.words == totals.words && rawCounts.freq.total() == totals.words &&
                        distinctTable == distinctMap && distinctTable == normCounts.freq.size()));
    if (!keep) std::remove(path.c_str());
    return 0;
}
