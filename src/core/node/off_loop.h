// runOffLoop: CPU-heavy work (decoding, merging, sorting and compressing frequency tables, encoding
// replies) on the node environment's worker threads, its continuation back on the node's thread — the
// event loop never waits on it, so heartbeats and health checks keep flowing while a node counts
// (docs/ARCHITECTURE.md).
#pragma once

#include <QPointer>
#include <memory>
#include <utility>

#include "node/node_env.h"

namespace raftwc::node {

/// Runs `work()` off the loop, then `then(result)` on the node's thread if `guard` still exists there
/// (checked on the node's thread only). `work` must not touch objects of the node's thread.
/// `urgent`: on NodeEnv::offLoopUrgent's lane (short work something waits on).
template <class Guard, class Work, class Then>
void runOffLoop(NodeEnv& env, QPointer<Guard> guard, Work work, Then then, bool urgent = false) {
    auto task = [guard = std::move(guard), work = std::move(work), then = std::move(then)]() mutable {
        auto result = std::make_shared<decltype(work())>(work());
        return std::function<void()>([guard, then = std::move(then), result]() mutable {
            if (guard) then(std::move(*result));
        });
    };
    if (urgent)
        env.offLoopUrgent(std::move(task));
    else
        env.offLoop(std::move(task));
}

}  // namespace raftwc::node
