#include "node/signals.h"

#include <sys/socket.h>
#include <unistd.h>

#include <QSocketNotifier>
#include <csignal>

namespace raftwc::node {

namespace {
int g_fds[2] = {-1, -1};  // the one self-pipe of the process (a C signal handler has no other way in)
void onSignal(int sig) {
    const char c = char(sig);
    [[maybe_unused]] const ssize_t n = ::write(g_fds[1], &c, 1);
}
}  // namespace

bool routeSignals(QObject* context, std::initializer_list<int> which, std::function<void(int)> handler) {
    if (g_fds[0] < 0 && ::socketpair(AF_UNIX, SOCK_STREAM, 0, g_fds) != 0) return false;
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s : which)
        sigaction(s, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    auto* notifier = new QSocketNotifier(g_fds[0], QSocketNotifier::Read, context);
    QObject::connect(notifier, &QSocketNotifier::activated, context, [handler = std::move(handler)] {
        char c = 0;
        if (::read(g_fds[0], &c, 1) == 1) handler(int(c));
    });
    return true;
}

}  // namespace raftwc::node
