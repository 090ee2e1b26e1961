// Leader failover time in virtual time: a 5-node cluster on the deterministic simulation elects a leader,
// the leader crashes at a random moment, and we measure until every survivor knows the same new leader.
// Raft paper figure 16 (150–300 ms timeouts): worst case about 0.5 s... here both the project's default
// timeouts (1000–2000 ms) and the paper's (150–300 ms). Results: docs/benchmarks/raft.md.
//
//   raft_election_bench [--trials N] [--seed S]        (defaults: 1000 trials per configuration, seed 1)
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "cluster.h"

using namespace raftwc::raftsim;
using raftwc::raft::kNoNode;
using raftwc::raft::Role;

namespace {

struct Scenario {
    const char* name;
    Micros tick;
    int electionMin, electionMax, heartbeat;  // ticks
};

struct Trial {
    Micros failover = 0;          // crash → all survivors know the new leader
    std::uint64_t rounds = 0;     // terms the new leader is above the old one (vote rounds)
    std::uint64_t campaigns = 0;  // (pre-)campaigns started by survivors
    bool ok = false;
};

Trial runTrial(const Scenario& s, std::uint64_t seed, bool trace) {
    ClusterOptions o;
    if (trace) o.trace = [](std::string_view line) { std::printf("%.*s\n", int(line.size()), line.data()); };
    o.seed = seed;
    o.voters = 5;
    o.tick = s.tick;
    o.electionTicksMin = s.electionMin;
    o.electionTicksMax = s.electionMax;
    o.heartbeatTicks = s.heartbeat;
    o.net.delayMin = 1 * kMs;  // a few ms one way, like a LAN under load
    o.net.delayMax = 5 * kMs;
    o.checkInvariants = false;
    Cluster c(o);
    Trial t;
    const auto all = c.nodeIds();
    NodeId l = kNoNode;
    if (!c.runUntil([&] { return (l = c.agreedLeader(all)) != kNoNode; }, 120 * kSec)) return t;
    // Let it settle, then crash the leader at a random phase of its heartbeat cycle.
    c.runFor(Micros(s.electionMax) * s.tick + c.rng().range(0, Micros(s.heartbeat) * s.tick * 4));
    l = c.agreedLeader(all);
    if (l == kNoNode) return t;
    std::vector<NodeId> survivors;
    std::uint64_t campaignsBefore = 0;
    for (NodeId id : all)
        if (id != l) {
            survivors.push_back(id);
            campaignsBefore += c.status(id).electionsStarted;
        }
    const auto oldTerm = c.status(l).term;
    const Micros t0 = c.now();
    c.crash(l);
    NodeId nl = kNoNode;
    if (!c.runUntil([&] { return (nl = c.agreedLeader(survivors)) != kNoNode; }, 120 * kSec)) return t;
    t.failover = c.now() - t0;
    t.rounds = c.status(nl).term - oldTerm;
    for (NodeId id : survivors)
        t.campaigns += c.status(id).electionsStarted;
    t.campaigns -= campaignsBefore;
    t.ok = c.ok();
    return t;
}

double ms(Micros x) {
    return double(x) / kMs;
}

}  // namespace

int main(int argc, char** argv) {
    int trials = 1000;
    std::uint64_t seed = 1;
    int traceScenario = -1, traceTrial = -1;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--trials") && i + 1 < argc) {
            trials = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--trace") && i + 2 < argc) {
            traceScenario = std::atoi(argv[++i]);
            traceTrial = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: %s [--trials N] [--seed S] [--trace ROW TRIAL]\n", argv[0]);
            return 2;
        }
    }
    if (trials < 1) {
        std::fprintf(stderr, "--trials must be at least 1\n");
        return 2;
    }
    const Scenario scenarios[] = {
        {"1000-2000 timeout, tick 50, heartbeat 100 (project default)", 50 * kMs, 20, 40, 2},
        {"1000-2000 timeout, tick 50, heartbeat 50", 50 * kMs, 20, 40, 1},
        {"150-300 timeout, tick 5, heartbeat 25 (paper fig. 16 range)", 5 * kMs, 30, 60, 5},
        {"150-300 timeout, tick 10, heartbeat 50", 10 * kMs, 15, 30, 5},
    };
    std::printf("raft_election_bench: 5 nodes, one-way delay 1-5 ms, %d trials per row, seed %" PRIu64
                ", virtual time\n",
                trials, seed);
    std::printf("%-62s %6s %6s %6s %6s %7s %8s %8s %5s %5s %5s  %s\n", "configuration (ms)", "min", "median",
                "p99", "max", "max 1rd", ">1 round", ">1 camp", "goal", "max/g", "1rd/g", "worst trial");
    std::printf(
        "(goal = max election timeout + 2 heartbeat intervals; 1rd = elections won in the first round)\n");
    int exitCode = 0;
    if (traceScenario >= 0) {
        if (traceScenario >= int(std::size(scenarios)) || traceTrial < 0) {
            std::fprintf(stderr, "--trace ROW TRIAL: ROW in 0..%zu, TRIAL >= 0\n", std::size(scenarios) - 1);
            return 2;
        }
        const Scenario& s = scenarios[traceScenario];
        const Trial t = runTrial(s, mixSeed(seed, static_cast<std::uint64_t>(traceTrial), s.tick), true);
        std::printf("trial %d: failover %.1f ms, %" PRIu64 " rounds, %" PRIu64 " campaigns\n", traceTrial,
                    ms(t.failover), t.rounds, t.campaigns);
        return t.ok ? 0 : 1;
    }
    for (const Scenario& s : scenarios) {
        std::vector<Micros> times;
        int worstTrial = 0;
        Micros worst = 0;
        int multiRound = 0, multiCampaign = 0, failed = 0;
        Micros worstOneRound = 0;
        for (int i = 0; i < trials; ++i) {
            const Trial t = runTrial(s, mixSeed(seed, static_cast<std::uint64_t>(i), s.tick), false);
            if (!t.ok) {
                ++failed;
                continue;
            }
            times.push_back(t.failover);
            if (t.failover > worst) {
                worst = t.failover;
                worstTrial = i;
            }
            if (t.rounds > 1) ++multiRound;
            if (t.rounds == 1) worstOneRound = std::max(worstOneRound, t.failover);
            if (t.campaigns > 1) ++multiCampaign;
        }
        if (times.empty()) {
            std::printf("%-72s all trials failed\n", s.name);
            exitCode = 1;
            continue;
        }
        std::sort(times.begin(), times.end());
        auto pct = [&](double p) {
            return times[std::min(times.size() - 1, std::size_t(p * double(times.size())))];
        };
        const Micros goal = Micros(s.electionMax) * s.tick + 2 * Micros(s.heartbeat) * s.tick;
        const double n = double(times.size());
        std::printf("%-62s %6.0f %6.0f %6.0f %6.0f %7.0f %7.1f%% %7.1f%% %5.0f %5.2f %5.2f  --trace %d %d\n",
                    s.name, ms(times.front()), ms(pct(0.5)), ms(pct(0.99)), ms(times.back()),
                    ms(worstOneRound), 100.0 * multiRound / n, 100.0 * multiCampaign / n, ms(goal),
                    double(times.back()) / double(goal), double(worstOneRound) / double(goal),
                    int(&s - scenarios), worstTrial);
        if (failed) std::printf("  %d trials failed (no leader, or a safety violation)\n", failed);
        if (failed) exitCode = 1;
    }
    return exitCode;
}
