// Storage benchmark: the durable log against a plain write+fdatasync loop on the same directory, in the
// same run. Usage: bench_storage [DIR] [--quick]   (works in a new subdirectory of DIR, default /var/tmp,
// removed afterwards; DIR must not be a tmpfs, which makes fdatasync free and the comparison meaningless).
//
// Goals: 1 MiB records >= 90% of the plain loop's bandwidth; group commit of 4 KiB records through the
// node's write path (node::LogWriter over RaftLogStore, 64 Readys outstanding) >= 50% of the appends/s of
// SegmentedLog::append() called directly in batches of 64 (the group size it reaches), one fdatasync each.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "node/log_writer.h"
#include "storage/crc32c.h"
#include "storage/raft_log_store.h"
#include "storage/segmented_log.h"

using namespace raftwc;
using namespace raftwc::storage;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "bench_storage: %s\n", msg.c_str());
    std::exit(1);
}

/// Seconds for `n` write(recordBytes)+fdatasync calls appending to one file.
double plainLoop(const std::string& dir, std::size_t recordBytes, int n) {
    const std::string path = dir + "/plain.dat";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    std::string buf(recordBytes, 'p');
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()))
            die("plain write failed");
        if (::fdatasync(fd) != 0) die("plain fdatasync failed");
    }
    const auto t1 = Clock::now();
    ::close(fd);
    ::unlink(path.c_str());
    return seconds(t0, t1);
}

std::unique_ptr<SegmentedLog> freshLog(const std::string& dir) {
    std::filesystem::remove_all(dir + "/log");
    SegmentedLogOptions o;
    o.dir = dir + "/log";
    auto r = SegmentedLog::open(o);
    if (!r.ok()) die(r.status().message());
    return r.take();
}

/// Seconds for `n` appends of one record each (one fdatasync per append).
double logLoop(const std::string& dir, std::size_t recordBytes, int n) {
    auto log = freshLog(dir);
    std::string payload(recordBytes, 'l');
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        const Record r{raft::EntryType::Normal, 1, static_cast<raft::Index>(i + 1), payload};
        if (Status s = log->append({&r, 1}); !s.ok()) die(s.message());
    }
    return seconds(t0, Clock::now());
}

/// Seconds for `n` records appended in batches of `batch` (one fdatasync per batch).
double logBatches(const std::string& dir, std::size_t recordBytes, int n, int batch) {
    auto log = freshLog(dir);
    std::string payload(recordBytes, 'b');
    std::vector<Record> recs(static_cast<std::size_t>(batch));
    const auto t0 = Clock::now();
    for (int i = 0; i < n; i += batch) {
        for (int k = 0; k < batch; ++k)
            recs[static_cast<std::size_t>(k)] =
                Record{raft::EntryType::Normal, 1, static_cast<raft::Index>(i + k + 1), payload};
        if (Status s = log->append(recs); !s.ok()) die(s.message());
    }
    return seconds(t0, Clock::now());
}

/// The node's write path: LogWriter over RaftLogStore with `outstanding` Readys of one record each always
/// in flight or queued (as many clients waiting for their proposals), each new Ready handed in as soon as
/// one completes. Returns seconds for `total` Readys; *syncs receives the number of writes (groups).
double groupCommit(const std::string& dir, std::size_t recordBytes, int outstanding, int total,
                   std::uint64_t* syncs) {
    std::filesystem::remove_all(dir + "/store");
    RaftLogStoreOptions so;
    so.dir = dir + "/store";
    auto opened = RaftLogStore::open(so);
    if (!opened.ok()) die(opened.status().message());
    std::unique_ptr<RaftLogStore> store = opened.take();
    const std::string payload(recordBytes, 'g');

    // The owner's thread is this one: completions are posted to a queue it drains.
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> posted;
    int completed = 0;
    bool failed = false;
    node::LogWriter writer(
        *store,
        [&](std::function<void()> f) {
            std::lock_guard lk(mu);
            posted.push_back(std::move(f));
            cv.notify_one();
        },
        [&](node::WrittenReady, const Status& st) {
            failed = failed || !st.ok();
            ++completed;
        });
    raft::Index next = 1;
    auto submitOne = [&] {
        raft::Ready rd;
        rd.entries.push_back(raft::Entry{1, next, raft::EntryType::Normal, payload});
        rd.persistToken = next++;
        writer.submit(std::move(rd));
    };
    const auto t0 = Clock::now();
    int submitted = 0;
    for (; submitted < std::min(outstanding, total); ++submitted)
        submitOne();
    while (completed < total && !failed) {
        std::function<void()> f;
        {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return !posted.empty(); });
            f = std::move(posted.front());
            posted.pop_front();
        }
        const int before = completed;
        f();
        for (int k = before; k < completed && submitted < total; ++k, ++submitted)
            submitOne();
    }
    const double secs = seconds(t0, Clock::now());
    if (failed) die("group commit: a write failed");
    *syncs = store->asyncStats().writes;
    return secs;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else
            dir = argv[i];
    }
    // Always work in a fresh subdirectory (removed afterwards), so nothing else in DIR is touched.
    const std::string parent = dir.empty() ? std::string("/var/tmp") : dir;
    std::filesystem::create_directories(parent);
    std::string tmpl = parent + "/raftwc-bench-storage-XXXXXX";
    if (!::mkdtemp(tmpl.data())) die("mkdtemp in " + parent + ": " + std::strerror(errno));
    dir = tmpl;
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == 0x01021994)
        std::fprintf(stderr, "warning: %s is a tmpfs; fdatasync is free there, results are meaningless\n",
                     dir.c_str());
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("directory: %s\ncrc32c: %s\n", dir.c_str(), crc32cHardwareAvailable() ? "sse4.2" : "table");

    // Every rep measures the log and its reference back to back and yields one ratio; the medians of the
    // per-rep ratios are reported (the disk of a shared machine drifts a lot between seconds).
    const int reps = quick ? 3 : 5;
    const int bigN = quick ? 32 : 96;      // 1 MiB records per run
    const int smallN = quick ? 200 : 600;  // 4 KiB single appends per run
    const int threads = 64;
    const int perThread = quick ? 40 : 100;
    bool allOk = true;

    std::vector<double> plainBig, logBig, bigRatios;
    for (int r = 0; r < reps; ++r) {
        const double p = plainLoop(dir, 1 << 20, bigN);
        const double l = logLoop(dir, 1 << 20, bigN);
        plainBig.push_back(bigN / p);
        logBig.push_back(bigN / l);
        bigRatios.push_back(p / l);
    }
    const double bigRatio = median(bigRatios);
    std::printf("\n1 MiB records, one fdatasync each (%d per run, %d runs, medians):\n", bigN, reps);
    std::printf("  plain write+fdatasync : %8.1f MiB/s\n", median(plainBig));
    std::printf("  SegmentedLog::append  : %8.1f MiB/s\n", median(logBig));
    std::printf("  ratio log/plain       : %8.3f   (per run:", bigRatio);
    for (double x : bigRatios)
        std::printf(" %.3f", x);
    std::printf(")  goal >= 0.90: %s\n", bigRatio >= 0.9 ? "met" : "MISSED");
    allOk &= bigRatio >= 0.9;

    // The group commit reference: SegmentedLog::append() of the same records in batches of the size the
    // writer reaches (nearly all the outstanding Readys: those handed in while a write runs join the next),
    // one fdatasync per batch, called directly. Their ratio is what the asynchronous path costs (writer
    // thread, merge, cache, the hop back to the owner's thread and the owner's turnaround before the next
    // Readys come); the gain over one fdatasync per append depends on the disk's sync latency and is
    // reported for information.
    const int refBatch = threads;
    std::vector<double> plainSmall, single, batched, grouped, groupRatios, vsSingle;
    std::uint64_t syncs = 0;
    for (int r = 0; r < reps; ++r) {
        plainSmall.push_back(smallN / plainLoop(dir, 4096, smallN));
        const double s1 = smallN / logLoop(dir, 4096, smallN);
        const double b = threads * perThread / logBatches(dir, 4096, threads * perThread, refBatch);
        const double g = threads * perThread / groupCommit(dir, 4096, threads, threads * perThread, &syncs);
        single.push_back(s1);
        batched.push_back(b);
        grouped.push_back(g);
        groupRatios.push_back(g / b);
        vsSingle.push_back(g / s1);
    }
    const double groupRatio = median(groupRatios);
    std::printf("\n4 KiB records (%d runs, medians):\n", reps);
    std::printf("  plain write+fdatasync per record  : %10.0f appends/s\n", median(plainSmall));
    std::printf("  log, one fdatasync per append     : %10.0f appends/s\n", median(single));
    std::printf("  log, append() batches of %d       : %10.0f appends/s\n", refBatch, median(batched));
    std::printf(
        "  LogWriter, %d Readys outstanding : %10.0f appends/s (%.1f records per sync in the last run; "
        "%.1fx one fdatasync per append)\n",
        threads, median(grouped),
        static_cast<double>(threads * perThread) / static_cast<double>(std::max<std::uint64_t>(syncs, 1)),
        median(vsSingle));
    std::printf("  LogWriter / batches of %d         : %10.3f   (per run:", refBatch, groupRatio);
    for (double x : groupRatios)
        std::printf(" %.3f", x);
    std::printf(")  goal >= 0.50: %s\n", groupRatio >= 0.5 ? "met" : "MISSED");
    allOk &= groupRatio >= 0.5;

    std::filesystem::remove_all(dir);
    return allOk ? 0 : 2;
}
