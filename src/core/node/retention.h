// Retention: which finished jobs (and the files uploaded for them) go, decided by the leader from the
// replicated state and carried out through the log (JobDeleted), so every node drops the same ones. Pure.
#pragma once

#include <QByteArray>
#include <vector>

#include "node/statemachine.h"

namespace raftwc::node {

struct RetentionLimits {
    int files = 0;     ///< finished jobs kept at most (0: no limit)
    qint64 bytes = 0;  ///< bytes of their files kept at most (0: no limit)
    qint64 ageMs = 0;  ///< jobs older than this go (0: no limit)
};

/// The jobs beyond the limits, oldest first: counting from the newest, a job goes if it is past the
/// `files`-th, if the files of it and the newer ones kept pass `bytes` (never the newest), or if it was
/// created more than `ageMs` before `nowWallMs` (its result's createdAt). A job whose createdAt cannot be
/// read is judged by count and bytes only.
std::vector<QByteArray> expiredJobs(const StateMachine& sm, const RetentionLimits& limits, qint64 nowWallMs);

}  // namespace raftwc::node
