#include "storage/recovery.h"

#include <algorithm>

namespace raftwc::storage {

raft::ConfState lastConfiguration(const raft::Storage& store) {
    raft::ConfState cs = store.baseConfState();
    for (const raft::Entry& e : store.confEntries()) {
        if (e.type != raft::EntryType::ConfChange) continue;
        if (auto cc = raft::decodeConfChange(e.data)) (void)raft::applyConfChange(cs, *cc);
    }
    return cs;
}

Result<RecoveryPlan> planForceNewCluster(const RaftLogStore& store) {
    RecoveryPlan p;
    p.self = store.nodeId();
    if (p.self == raft::kNoNode)
        return Status::error("the data directory has no node id: it never started a node");
    p.before = lastConfiguration(store);
    if (p.before.voters.empty() && p.before.learners.empty())
        return Status::error(
            "the log holds no configuration: this node never joined a cluster (nothing to "
            "recover; start it with --single or --bootstrap-expect instead)");
    if (!p.before.contains(p.self))
        return Status::error(
            "this node is not a member of the configuration in its log (it was removed): "
            "recover from another surviving node");
    std::vector<raft::NodeId> others;
    for (raft::NodeId v : p.before.voters)
        if (v != p.self) others.push_back(v);
    for (raft::NodeId l : p.before.learners)
        if (l != p.self) others.push_back(l);
    std::sort(others.begin(), others.end());
    for (raft::NodeId o : others)
        p.changes.push_back({raft::ConfChangeType::RemoveNode, o, {}});
    if (p.before.isLearner(p.self)) p.changes.push_back({raft::ConfChangeType::PromoteLearner, p.self, {}});

    p.oldHardState = store.hardState();
    const raft::Index last = store.lastIndex();
    const raft::Term lastTerm = last == 0 ? 0 : store.term(last);
    p.uncommittedKept = last > p.oldHardState.commit ? last - p.oldHardState.commit : 0;
    p.firstNew = last + 1;
    p.lastNew = last + p.changes.size();
    p.newHardState.term = std::max(p.oldHardState.term, lastTerm) + 1;
    p.newHardState.vote = p.self;
    p.newHardState.commit = p.lastNew;
    return p;
}

Result<RecoveryPlan> forceNewCluster(RaftLogStore& store) {
    auto planned = planForceNewCluster(store);
    if (!planned.ok()) return planned;
    RecoveryPlan p = planned.take();
    std::vector<raft::Entry> ents;
    raft::Index i = p.firstNew;
    for (const raft::ConfChange& cc : p.changes) {
        raft::Entry e;
        e.term = p.newHardState.term;
        e.index = i++;
        e.type = raft::EntryType::ConfChange;
        e.data = raft::encodeConfChange(cc);
        ents.push_back(std::move(e));
    }
    if (Status st = store.persist(std::nullopt, ents); !st.ok()) return st;
    if (Status st = store.persist(p.newHardState, {}); !st.ok()) return st;
    return p;
}

}  // namespace raftwc::storage
