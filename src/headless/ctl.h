// raftwc ctl: the operator's client (status, members, count, jobs, transfer, remove) over a node's HTTP API.
#pragma once

#include <QStringList>

namespace raftwc::ctl {

/// Runs `raftwc ctl ARGS` (ARGS without "ctl"); returns the exit status.
int run(const QStringList& args);

}  // namespace raftwc::ctl
