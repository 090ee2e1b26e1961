// VOPR-style randomized simulation of the Raft core: every seed draws a cluster size (3/5/7) and a fault
// mix, checks safety throughout and liveness once faults stop. See docs/raft-simulation.md.
//
//   RAFTWC_SIM_SEEDS=N        run N seeds (default 10000) starting at RAFTWC_SIM_SEED_BASE (default 1)
//   RAFTWC_SIM_THREADS=T      worker threads (default 2)
//   RAFTWC_SIM_SEED=S         replay one seed exactly; RAFTWC_SIM_TRACE=1 prints every event
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vopr.h"

using namespace raftwc::raftsim;

namespace {

std::uint64_t envU64(const char* name, std::uint64_t fallback) {
    const QByteArray v = qgetenv(name);
    if (v.isEmpty()) return fallback;
    bool ok = false;
    const qulonglong x = v.toULongLong(&ok);
    if (!ok) qFatal("%s must be a non-negative integer, got '%s'", name, v.constData());
    return x;
}

std::uint64_t traceHash(std::uint64_t seed, std::size_t* lines) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    std::size_t n = 0;
    VoprOptions o;
    o.seed = seed;
    o.trace = [&](std::string_view s) {
        ++n;
        for (unsigned char ch : s)
            h = (h ^ ch) * 0x100000001b3ULL;
        h = (h ^ '\n') * 0x100000001b3ULL;
    };
    const VoprResult r = runVopr(o);
    h ^= r.ok ? 1 : 2;
    *lines = n;
    return h;
}

/// The replay command with this executable's real path.
std::string replay(std::uint64_t seed) {
    std::string cmd = replayCommand(seed);
    const std::string placeholder = "<build>/tests/raft/sim/tst_raft_sim";
    const auto at = cmd.find(placeholder);
    if (at != std::string::npos)
        cmd.replace(at, placeholder.size(), QCoreApplication::applicationFilePath().toStdString());
    return cmd;
}

}  // namespace

class tst_RaftSim : public QObject {
    Q_OBJECT

  private slots:
    void replaySameSeedIsIdentical();
    void checksCatchADiskThatIgnoresFsync();
    void seeds();
};

void tst_RaftSim::replaySameSeedIsIdentical() {
    if (qEnvironmentVariableIsSet("RAFTWC_SIM_SEED")) QSKIP("replay mode");
    // Determinism is what makes a printed seed worth anything: two runs, same trace.
    for (std::uint64_t seed : {7ULL, 1234ULL}) {
        std::size_t linesA = 0, linesB = 0;
        const std::uint64_t a = traceHash(seed, &linesA);
        const std::uint64_t b = traceHash(seed, &linesB);
        QVERIFY2(linesA > 100, "the trace should describe the run");
        QCOMPARE(linesA, linesB);
        QCOMPARE(a, b);
    }
    std::size_t l1 = 0, l2 = 0;
    QVERIFY(traceHash(7, &l1) != traceHash(8, &l2));
}

void tst_RaftSim::checksCatchADiskThatIgnoresFsync() {
    if (qEnvironmentVariableIsSet("RAFTWC_SIM_SEED")) QSKIP("replay mode");
    // The checks must not be vacuous: on a disk that forgets votes and acknowledged entries at a crash,
    // Raft is unsafe, and the simulation has to report safety violations (not just liveness trouble).
    int safety = 0, runs = 0;
    std::string example;
    for (std::uint64_t seed = 1; seed <= 400 && safety < 5; ++seed) {
        VoprOptions o;
        o.seed = seed;
        o.amnesiacDisk = true;
        // The core may rightly object to its disk: leave the verdict to the checks. A forgotten
        // acknowledgement can livelock replication: cut such runs short.
        o.checkInvariants = false;
        o.maxEvents = 300'000;
        const VoprResult r = runVopr(o);
        ++runs;
        static const char* const kSafety[] = {
            "election safety",    "log matching", "leader completeness", "state machine safety",
            "leader append-only", "voted twice",  "truncates committed"};
        const bool isSafety = std::any_of(std::begin(kSafety), std::end(kSafety), [&](const char* k) {
            return r.failure.find(k) != std::string::npos;
        });
        if (!r.ok && isSafety) {
            ++safety;
            if (example.empty()) example = "seed " + std::to_string(seed) + ": " + r.failure;
        }
    }
    qInfo("%d safety violations in %d amnesiac runs, e.g. %s", safety, runs, example.c_str());
    QVERIFY2(safety >= 5, "the safety checks should catch a disk that ignores fsync");
}

void tst_RaftSim::seeds() {
    if (qEnvironmentVariableIsSet("RAFTWC_SIM_SEED")) {
        const std::uint64_t seed = envU64("RAFTWC_SIM_SEED", 1);
        VoprOptions o;
        o.seed = seed;
        o.voters = static_cast<int>(envU64("RAFTWC_SIM_NODES", 0));
        o.amnesiacDisk = envU64("RAFTWC_SIM_AMNESIA", 0) != 0;
        if (o.amnesiacDisk) o.checkInvariants = false;
        if (envU64("RAFTWC_SIM_TRACE", 0))
            o.trace = [](std::string_view s) { std::fprintf(stderr, "%.*s\n", int(s.size()), s.data()); };
        const VoprResult r = runVopr(o);
        std::fprintf(stderr,
                     "seed %" PRIu64 ": %s\n  %s\n  proposals %" PRIu64 " (acked %" PRIu64
                     "), crashes %" PRIu64 ", conf changes %" PRIu64 ", messages %" PRIu64
                     ", snapshots made %" PRIu64 " installed %" PRIu64 ", converged %.3f s after faults\n",
                     seed, r.ok ? "OK" : r.failure.c_str(), r.mix.c_str(), r.proposals, r.acked, r.crashes,
                     r.confChanges, r.messages, r.snapshotsMade, r.snapshotsInstalled,
                     double(r.convergeTime) / kSec);
        QVERIFY2(r.ok, r.failure.c_str());
        return;
    }
    const std::uint64_t count = envU64("RAFTWC_SIM_SEEDS", 10000);
    const std::uint64_t base = envU64("RAFTWC_SIM_SEED_BASE", 1);
    const unsigned threads =
        static_cast<unsigned>(std::max<std::uint64_t>(1, envU64("RAFTWC_SIM_THREADS", 2)));
    std::atomic<std::uint64_t> next{0};
    std::mutex mu;
    std::vector<VoprResult> failures;
    std::uint64_t bySize[8] = {}, proposals = 0, acked = 0, crashes = 0, confChanges = 0, messages = 0;
    std::uint64_t snapshotsMade = 0, snapshotsInstalled = 0, seedsInstalling = 0;
    Micros worstConverge = 0, virtualTime = 0;
    std::uint64_t maxEvents = 0;
    std::uint64_t worstSeed = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto worker = [&] {
        for (;;) {
            const std::uint64_t i = next.fetch_add(1);
            if (i >= count) return;
            VoprOptions o;
            o.seed = base + i;
            const VoprResult r = runVopr(o);
            std::lock_guard<std::mutex> lock(mu);
            bySize[r.voters & 7]++;
            proposals += r.proposals;
            acked += r.acked;
            crashes += r.crashes;
            confChanges += r.confChanges;
            messages += r.messages;
            snapshotsMade += r.snapshotsMade;
            snapshotsInstalled += r.snapshotsInstalled;
            seedsInstalling += r.snapshotsInstalled > 0 ? 1 : 0;
            virtualTime += r.faultTime + r.convergeTime;
            maxEvents = std::max(maxEvents, r.events);
            if (r.ok && r.convergeTime > worstConverge) {
                worstConverge = r.convergeTime;
                worstSeed = r.seed;
            }
            if (!r.ok) {
                failures.push_back(r);
                std::fprintf(stderr, "FAIL seed %" PRIu64 ": %s\n  mix: %s\n  replay: %s\n", r.seed,
                             r.failure.c_str(), r.mix.c_str(), replay(r.seed).c_str());
            }
            if (count >= 10000 && (i + 1) % 10000 == 0)
                std::fprintf(stderr, "... %" PRIu64 " seeds\n", i + 1);
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back(worker);
    for (auto& th : pool)
        th.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr,
                 "seeds %" PRIu64 "..%" PRIu64 " (3 nodes: %" PRIu64 ", 5: %" PRIu64 ", 7: %" PRIu64
                 "): %zu failed, %.1f s wall on %u threads, %.0f s virtual\n"
                 "  proposals %" PRIu64 " (acked %" PRIu64 "), crashes %" PRIu64 ", conf changes %" PRIu64
                 ", messages %" PRIu64 ", most events in one run %" PRIu64 "\n  snapshots made %" PRIu64
                 ", installed %" PRIu64 " (in %" PRIu64
                 " seeds)"
                 "\n  slowest convergence after faults: %.2f s virtual (seed %" PRIu64 ")\n",
                 base, base + count - 1, bySize[3], bySize[5], bySize[7], failures.size(), secs, threads,
                 double(virtualTime) / kSec, proposals, acked, crashes, confChanges, messages, maxEvents,
                 snapshotsMade, snapshotsInstalled, seedsInstalling, double(worstConverge) / kSec, worstSeed);
    std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.seed < b.seed; });
    if (!failures.empty()) {
        const auto& f = failures.front();
        const std::string msg = "seed " + std::to_string(f.seed) + ": " + f.failure +
                                "\n  replay: " + replay(f.seed) + "\n  (" + std::to_string(failures.size()) +
                                " seeds failed in total)";
        QFAIL(msg.c_str());
    }
    QVERIFY(acked > 0);
    // The snapshot paths must be exercised, not merely compiled: compactions and installs happen.
    if (count >= 200) {
        QVERIFY2(snapshotsMade > 0, "no seed compacted its log");
        QVERIFY2(seedsInstalling > 0, "no seed caught a member up by InstallSnapshot");
    }
}

int main(int argc, char** argv) {
    // Long mode runs one test function for many minutes: lift QtTest's 5-minute watchdog unless asked.
    if (qEnvironmentVariableIsSet("RAFTWC_SIM_SEEDS") && !qEnvironmentVariableIsSet("QTEST_FUNCTION_TIMEOUT"))
        qputenv("QTEST_FUNCTION_TIMEOUT", QByteArrayLiteral("86400000"));
    QCoreApplication app(argc, argv);
    tst_RaftSim t;
    return QTest::qExec(&t, argc, argv);
}
#include "tst_raft_sim.moc"
