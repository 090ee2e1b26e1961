// Process signals delivered on the event loop: the C handler only writes the signal number to a socket
// pair (async-signal-safe); a QSocketNotifier reads it and calls the handler like any other event. For the
// executables' main() (the node and the dashboard); a process routes its signals once.
#pragma once

#include <QObject>
#include <functional>
#include <initializer_list>

namespace raftwc::node {

/// Routes `which` (e.g. SIGTERM, SIGINT, SIGHUP) to `handler(signal)` on `context`'s thread, and ignores
/// SIGPIPE. False if the socket pair cannot be created.
bool routeSignals(QObject* context, std::initializer_list<int> which, std::function<void(int)> handler);

}  // namespace raftwc::node
