// VOPR-style randomized runs: the seed picks the cluster size and the fault mix, a fault phase runs with
// safety checks after every event, then faults stop and the connected majority must converge in bounded
// virtual time (liveness). One seed, one exact replay.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cluster.h"

namespace raftwc::raftsim {

struct VoprOptions {
    std::uint64_t seed = 1;
    int voters = 0;  ///< 0: drawn from the seed (3, 5 or 7).
    std::function<void(std::string_view)> trace;
    Micros livenessBudget = 60 * kSec;    ///< Virtual time allowed for convergence once faults stop.
    bool checkInvariants = true;          ///< The core's own invariant checks.
    bool amnesiacDisk = false;            ///< Checker self-test: ClusterOptions::amnesiacDisk.
    std::uint64_t maxEvents = 1'000'000;  ///< ClusterOptions::maxEvents.
    double asyncWritesShare = 0.5;   ///< Share of seeds whose nodes use raft::Config::asyncStorageWrites.
    double realStorageShare = 0.25;  ///< Share of seeds run on storage::RaftLogStore + CrashFileOps.
    /// Share of the seeds that snapshot and compact (ClusterOptions::snapshotEvery).
    double snapshotShare = 0.4;
};

struct VoprResult {
    std::uint64_t seed = 0;
    int voters = 0;
    bool ok = false;
    std::string failure;  ///< Empty when ok.
    std::string mix;      ///< The fault mix the seed chose, one line.
    Micros faultTime = 0;
    Micros convergeTime = 0;  ///< Virtual time from the end of faults to convergence.
    std::uint64_t proposals = 0;
    std::uint64_t acked = 0;
    std::uint64_t crashes = 0;
    std::uint64_t messages = 0;
    std::uint64_t confChanges = 0;
    std::uint64_t snapshotsMade = 0;       ///< Compactions.
    std::uint64_t snapshotsInstalled = 0;  ///< Snapshots received from a leader and loaded.
    std::uint64_t events = 0;
    Term finalTerm = 0;
};

VoprResult runVopr(const VoprOptions& options);

/// The shell command that replays `seed` with a verbose trace.
std::string replayCommand(std::uint64_t seed);

}  // namespace raftwc::raftsim
