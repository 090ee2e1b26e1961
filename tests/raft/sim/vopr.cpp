#include "vopr.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <exception>

namespace raftwc::raftsim {

namespace {

template <typename T, std::size_t N>
T pick(Rng& r, const T (&arr)[N]) {
    return arr[r.below(N)];
}

/// Interval with the given mean, uniform in [mean/5, 9*mean/5].
Micros interval(Rng& r, Micros mean) {
    return r.range(mean / 5, mean * 9 / 5);
}

bool majorityOutside(const raft::ConfState& cs, const std::vector<NodeId>& isolated) {
    std::size_t in = 0;
    for (NodeId v : cs.voters)
        if (std::find(isolated.begin(), isolated.end(), v) == isolated.end()) ++in;
    return 2 * in > cs.voters.size();
}

}  // namespace

std::string replayCommand(std::uint64_t seed) {
    return fmt("RAFTWC_SIM_SEED=%" PRIu64 " RAFTWC_SIM_TRACE=1 <build>/tests/raft/sim/tst_raft_sim", seed);
}

VoprResult runVopr(const VoprOptions& o) {
    VoprResult res;
    res.seed = o.seed;
    Rng mix(mixSeed(o.seed, 0xfa17));
    Rng act(mixSeed(o.seed, 0xac7));
    static constexpr int kSizes[] = {3, 5, 7};
    const int voters = o.voters ? o.voters : pick(mix, kSizes);
    res.voters = voters;

    ClusterOptions co;
    co.seed = o.seed;
    co.voters = voters;
    co.trace = o.trace;
    co.checkInvariants = o.checkInvariants;
    co.amnesiacDisk = o.amnesiacDisk;
    co.maxEvents = o.maxEvents;
    static constexpr double kDrop[] = {0, 0, 0.01, 0.05, 0.15, 0.3};
    static constexpr double kDup[] = {0, 0.01, 0.05};
    static constexpr double kReorder[] = {0, 0.05, 0.2};
    static constexpr Micros kDelayMax[] = {5 * kMs, 30 * kMs, 150 * kMs};
    co.net.drop = pick(mix, kDrop);
    co.net.duplicate = pick(mix, kDup);
    co.net.reorder = pick(mix, kReorder);
    co.net.reorderMax = mix.range(10, 300) * kMs;
    co.net.delayMax = pick(mix, kDelayMax);
    co.net.delayMin = std::min<Micros>(co.net.delayMax, 1 * kMs);
    const int diskKind = static_cast<int>(mix.below(4));
    if (diskKind == 1) co.disk = {100, 1 * kMs, 0, 0};
    if (diskKind == 2) co.disk = {1 * kMs, 20 * kMs, 0, 0};
    if (diskKind == 3) co.disk = {1 * kMs, 10 * kMs, 0.03, mix.range(100, 600) * kMs};
    co.disk.tornWrites = mix.chance(0.5);
    // Drawn from their own stream, so every seed keeps the network/disk/fault mix it always had.
    Rng extra(mixSeed(o.seed, 0xd15c));
    co.realStorage = !o.amnesiacDisk && extra.chance(o.realStorageShare);
    std::size_t payloadMax = 24;
    if (extra.chance(0.4)) {  // small flow-control limits: messages split, windows full, oversized entries
        co.maxMsgBytes = extra.range(16, 2048);
        co.maxInflightMsgs = static_cast<std::uint32_t>(extra.range(1, 8));
        co.maxInflightBytes = co.maxMsgBytes * extra.range(1, 16);
        payloadMax = co.maxMsgBytes * 3;
    } else if (extra.chance(0.3)) {
        payloadMax = 16384;
    }
    // Its own stream too: async storage writes (the real node's mode) for about half of the seeds.
    co.asyncWrites = Rng(mixSeed(o.seed, 0xa5)).chance(o.asyncWritesShare);
    // Its own stream: snapshots and compaction, on either storage, often small enough that
    // lagging, restarted and new members need InstallSnapshot.
    Rng snapMix(mixSeed(o.seed, 0x5a95));
    if (!o.amnesiacDisk && snapMix.chance(o.snapshotShare)) {
        co.snapshotEvery = snapMix.range(1, 40);
        co.snapshotKeep = snapMix.chance(0.5) ? 0 : snapMix.range(1, 10);
    }
    static constexpr Micros kCrashMean[] = {0, 8 * kSec, 2 * kSec};
    static constexpr Micros kPartitionMean[] = {0, 6 * kSec, 2 * kSec};
    static constexpr Micros kConfMean[] = {0, 4 * kSec};
    static constexpr Micros kTransferMean[] = {0, 0, 6 * kSec};
    static constexpr Micros kProposeMean[] = {30 * kMs, 150 * kMs, 500 * kMs};
    const Micros crashMean = pick(mix, kCrashMean);
    const Micros partitionMean = pick(mix, kPartitionMean);
    const Micros confMean = pick(mix, kConfMean);
    const Micros transferMean = pick(mix, kTransferMean);
    const Micros proposeMean = pick(mix, kProposeMean);
    res.faultTime = mix.range(8, 25) * kSec;
    res.mix =
        fmt("nodes=%d drop=%.2f dup=%.2f reorder=%.2f/%" PRIu64 "ms delay<=%" PRIu64
            "ms disk=%d%s crash=%" PRIu64 "ms part=%" PRIu64 "ms conf=%" PRIu64 "ms transfer=%" PRIu64
            "ms propose=%" PRIu64 "ms faults=%" PRIu64 "s storage=%s%s msg<=%zu inflight<=%u/%" PRIu64
            " payload<=%zu snap=%" PRIu64 "/%" PRIu64,
            voters, co.net.drop, co.net.duplicate, co.net.reorder, co.net.reorderMax / kMs,
            co.net.delayMax / kMs, diskKind, co.disk.tornWrites ? "+torn" : "", crashMean / kMs,
            partitionMean / kMs, confMean / kMs, transferMean / kMs, proposeMean / kMs, res.faultTime / kSec,
            co.realStorage ? "real" : "memory", co.asyncWrites ? "+async" : "", co.maxMsgBytes,
            co.maxInflightMsgs, co.maxInflightBytes, payloadMax, co.snapshotEvery, co.snapshotKeep);
    if (o.trace) o.trace("seed " + std::to_string(o.seed) + ": " + res.mix);

    Cluster c(std::move(co));
    auto finish = [&](std::string failure) {
        res.ok = failure.empty() && c.ok();
        res.failure = c.ok() ? failure : *c.violation();
        res.proposals = c.proposals().size();
        res.acked = static_cast<std::uint64_t>(std::count_if(c.proposals().begin(), c.proposals().end(),
                                                             [](const Proposal& p) { return p.acked; }));
        res.crashes = c.crashes();
        res.snapshotsMade = c.snapshotsMade();
        res.snapshotsInstalled = c.snapshotsInstalled();
        res.messages = c.stats().sent;
        res.events = c.events();
        const NodeId l = c.leader();
        res.finalTerm = l ? c.status(l).term : 0;
        return res;
    };

    try {
        // ---- fault phase -------------------------------------------------------------------------
        constexpr Micros kNever = ~Micros{0};
        std::vector<std::pair<Micros, NodeId>> restarts;
        Micros nextPropose = interval(act, proposeMean);
        Micros nextCrash = crashMean ? interval(act, crashMean) : kNever;
        Micros nextPartition = partitionMean ? interval(act, partitionMean) : kNever;
        Micros nextConf = confMean ? interval(act, confMean) : kNever;
        Micros nextTransfer = transferMean ? interval(act, transferMean) : kNever;
        std::uint64_t counter = 0;
        auto upNodes = [&] {
            std::vector<NodeId> v;
            for (NodeId id : c.nodeIds())
                if (c.isUp(id)) v.push_back(id);
            return v;
        };
        while (c.ok() && c.now() < res.faultTime) {
            Micros next =
                std::min({nextPropose, nextCrash, nextPartition, nextConf, nextTransfer, res.faultTime});
            for (const auto& r : restarts)
                next = std::min(next, r.first);
            if (!c.runFor(next - c.now())) break;
            const Micros t = c.now();
            for (std::size_t i = 0; i < restarts.size();) {
                if (restarts[i].first <= t) {
                    c.restart(restarts[i].second);
                    restarts.erase(restarts.begin() + static_cast<std::ptrdiff_t>(i));
                } else {
                    ++i;
                }
            }
            if (nextPropose <= t) {
                nextPropose = t + interval(act, proposeMean);
                NodeId target = c.leader();
                const auto up = upNodes();
                if ((target == raft::kNoNode || act.chance(0.1)) && !up.empty())
                    target = up[act.below(up.size())];
                if (target) {
                    std::string data = fmt("s%" PRIu64 "-p%" PRIu64 "/", o.seed, counter++);
                    data.resize(data.size() + act.below(payloadMax + 1),
                                static_cast<char>('a' + counter % 26));
                    c.propose(target, std::move(data));
                }
            }
            if (nextCrash <= t) {
                nextCrash = t + interval(act, crashMean);
                std::vector<NodeId> busy;
                auto findBusy = [&] {
                    busy.clear();
                    for (NodeId id : upNodes())
                        if (c.isBusy(id)) busy.push_back(id);
                    return !busy.empty();
                };
                // Half of the crashes aim at a node in the middle of a sync (waiting up to 200 ms for one).
                const bool aim = act.chance(0.5);
                if (aim)
                    for (int k = 0; k < 200 && !findBusy() && c.ok(); ++k)
                        c.runFor(1 * kMs);
                const auto up = aim && !busy.empty() ? busy : upNodes();
                if (!up.empty() && c.ok()) {
                    const NodeId victim = up[act.below(up.size())];
                    c.crash(victim);
                    restarts.emplace_back(c.now() + act.range(100, 6000) * kMs, victim);
                }
            }
            if (nextPartition <= t) {
                nextPartition = t + interval(act, partitionMean);
                auto ids = c.nodeIds();
                const int kind = static_cast<int>(act.below(5));
                if (kind == 0 || act.chance(0.5)) c.healAll();
                if (kind == 1) {
                    c.isolate(ids[act.below(ids.size())]);
                } else if (kind == 2) {
                    std::vector<std::vector<NodeId>> groups(2);
                    for (NodeId id : ids)
                        groups[act.below(2)].push_back(id);
                    c.partition(groups);
                } else if (kind == 3) {
                    const std::uint64_t cuts = act.range(1, ids.size());
                    for (std::uint64_t k = 0; k < cuts; ++k) {
                        const NodeId a = ids[act.below(ids.size())], b = ids[act.below(ids.size())];
                        if (a != b) c.setLink(a, b, false);
                    }
                    if (o.trace) o.trace(fmt("%10.3fs asymmetric cuts: %" PRIu64, double(t) / kSec, cuts));
                } else if (kind == 4) {
                    if (NodeId l = c.leader()) c.isolate(l);
                }
            }
            if (nextConf <= t) {
                nextConf = t + interval(act, confMean);
                if (const NodeId l = c.leader()) {
                    const raft::ConfState cs = c.status(l).conf;
                    const bool grow =
                        cs.voters.size() + cs.learners.size() < static_cast<std::size_t>(voters) + 2 &&
                        act.chance(0.5);
                    if (grow) {
                        const NodeId fresh = c.createNode();
                        const auto r = c.proposeConfChange(l, {raft::ConfChangeType::AddLearner, fresh, {}});
                        if (!r.ok())
                            c.stop(fresh);
                        else
                            res.confChanges++;
                    } else {
                        std::vector<NodeId> candidates = cs.learners;
                        if (cs.voters.size() > 3)
                            candidates.insert(candidates.end(), cs.voters.begin(), cs.voters.end());
                        if (!candidates.empty()) {
                            const NodeId victim = candidates[act.below(candidates.size())];
                            if (c.proposeConfChange(l, {raft::ConfChangeType::RemoveNode, victim, {}}).ok())
                                res.confChanges++;
                        }
                    }
                }
            }
            if (nextTransfer <= t) {
                nextTransfer = t + interval(act, transferMean);
                if (const NodeId l = c.leader()) {
                    const auto vs = c.status(l).conf.voters;
                    if (!vs.empty()) c.transferLeadership(l, vs[act.below(vs.size())]);
                }
            }
        }
        if (!c.ok()) return finish({});

        // ---- liveness phase: faults stop, all but a minority connected ---------------------------
        const Micros calmStart = c.now();
        c.healAll();
        c.net() = NetParams{};
        c.disk().stallChance = 0;
        for (NodeId id : c.nodeIds())
            if (!c.isUp(id) && !c.isGone(id)) c.restart(id);
        std::vector<NodeId> isolated;
        {
            const raft::ConfState committedConf = confAfter(c.committed(), c.committed().size());
            std::vector<raft::ConfState> confs{committedConf};
            for (NodeId id : c.nodeIds()) {
                if (!c.isUp(id)) continue;
                // The configuration in force on this node: it may not know that a newer one committed
                // (only isolated nodes may know), and then it still counts with this one (docs/RAFT.md,
                // the liveness guarantee of configurations in force once committed).
                confs.push_back(c.status(id).conf);
                const auto& lg = c.log(id);
                for (std::size_t i = c.committed().size(); i < lg.size(); ++i)
                    if (lg[i].type == raft::EntryType::ConfChange) confs.push_back(confAfter(lg, i + 1));
            }
            std::vector<NodeId> vs = committedConf.voters;
            for (std::size_t i = vs.size(); i > 1; --i)
                std::swap(vs[i - 1], vs[act.below(i)]);
            std::size_t k = act.chance(0.5) ? act.range(0, (vs.size() - 1) / 2) : 0;
            for (; k > 0; --k) {
                std::vector<NodeId> s(vs.begin(), vs.begin() + static_cast<std::ptrdiff_t>(k));
                if (std::all_of(confs.begin(), confs.end(),
                                [&](const auto& cs) { return majorityOutside(cs, s); })) {
                    isolated = s;
                    break;
                }
            }
            for (NodeId id : isolated)
                c.isolate(id);
        }
        auto required = [&] {
            std::vector<NodeId> req;
            const NodeId l = c.leader();
            if (!l) return req;
            const raft::ConfState cs = c.status(l).conf;
            for (const auto* list : {&cs.voters, &cs.learners})
                for (NodeId id : *list)
                    if (!c.isGone(id) && std::find(isolated.begin(), isolated.end(), id) == isolated.end())
                        req.push_back(id);
            return req;
        };
        std::string why = "no leader";
        auto live = [&] {
            const auto req = required();
            return !req.empty() && c.converged(req, &why);
        };
        if (!c.runUntil(live, o.livenessBudget)) {
            if (!c.ok()) return finish({});
            std::string iso;
            for (NodeId id : isolated)
                iso += fmt(" n%" PRIu64, id);
            return finish(fmt("liveness: no convergence within %" PRIu64
                              " s of virtual time after faults stopped"
                              " (isolated:%s): %s",
                              o.livenessBudget / kSec, iso.empty() ? " none" : iso.c_str(), why.c_str()));
        }
        res.convergeTime = c.now() - calmStart;
        // The converged cluster must still commit a new proposal. The leader may refuse while it is busy
        // syncing or handing leadership over (a transfer begun during the faults): retry, like a client.
        raft::ProposeResult r;
        NodeId l = raft::kNoNode;
        const Micros retryUntil = c.now() + 10 * kSec;
        while (c.ok() && c.now() < retryUntil) {
            if (live()) {
                l = c.leader();
                r = c.propose(l, fmt("s%" PRIu64 "-final", o.seed));
                if (r.ok()) break;
            }
            c.runFor(10 * kMs);
        }
        if (!c.ok()) return finish({});
        if (!r.ok())
            return finish(fmt("liveness: no converged leader accepted a proposal within 10 s (last: n%" PRIu64
                              " code %d): %s",
                              l, static_cast<int>(r.code), why.c_str()));
        const std::size_t slot = c.proposals().size() - 1;
        if (!c.runUntil([&] { return c.proposals()[slot].acked && live(); }, 10 * kSec)) {
            if (!c.ok()) return finish({});
            return finish(
                "liveness: a proposal after convergence was not committed everywhere within 10 s: " + why);
        }
    } catch (const std::exception& e) {
        return finish(std::string("exception: ") + e.what());
    }
    return finish({});
}

}  // namespace raftwc::raftsim
