// raftwc recover: offline disaster recovery of one surviving node after a permanent loss of quorum.
#pragma once

#include <QStringList>

namespace raftwc::recover {

/// Runs `raftwc recover ARGS` (ARGS without "recover"); returns the exit status (0 done, 1 refused or
/// failed, 2 bad arguments).
int run(const QStringList& args);

}  // namespace raftwc::recover
