// Disaster recovery after a permanent loss of quorum (etcd's --force-new-cluster, Consul's peers.json):
// rewrites one surviving node's data directory so that it restarts as the only voter of its cluster,
// keeping every entry it holds. Offline: the node must be stopped (the directory lock is taken).
#pragma once

#include <string>
#include <vector>

#include "raft/types.h"
#include "storage/raft_log_store.h"

namespace raftwc::storage {

/// What forceNewCluster() did (or, with dryRun, would do).
struct RecoveryPlan {
    raft::NodeId self = raft::kNoNode;
    raft::ConfState before;                 ///< configuration at the last stored entry
    std::vector<raft::ConfChange> changes;  ///< appended, in order (RemoveNode..., PromoteLearner)
    raft::HardState oldHardState;
    raft::HardState newHardState;
    raft::Index firstNew = 0;         ///< index of the first appended entry
    raft::Index lastNew = 0;          ///< index of the last appended entry (the new commit index)
    raft::Index uncommittedKept = 0;  ///< entries past the stored commit index (it may lag) made committed
};

/// The configuration in force at the last entry of `store` (every stored ConfChange applied in order).
raft::ConfState lastConfiguration(const raft::Storage& store);

/// Plans the rewrite: every other member removed (one single-server change each), this node promoted if it
/// was a learner, all entries committed, a new term (old term + 1) that no old member can have voted in.
/// Errors: the store has no identity, no configuration, or this node is not a member.
Result<RecoveryPlan> planForceNewCluster(const RaftLogStore& store);

/// Carries out the plan: appends the ConfChange entries at the new term with one fdatasync, then writes
/// the hard state {new term, vote = self, commit = last}. A crash in between leaves entries past the
/// commit index at a term above the hard state's, which the core accepts (they are this node's own
/// uncommitted tail) and a second run completes.
Result<RecoveryPlan> forceNewCluster(RaftLogStore& store);

}  // namespace raftwc::storage
