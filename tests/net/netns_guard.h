// Socket tests must run inside a private network namespace (tests/tools/in-netns.sh, the NETNS flag
// of raftwc_add_test): they refuse to run when any interface other than loopback exists.
#pragma once

#include <QNetworkInterface>
#include <QtTest>

inline bool onlyLoopbackPresent() {
    const QList<QNetworkInterface> all = QNetworkInterface::allInterfaces();
    for (const QNetworkInterface& i : all)
        if (!i.flags().testFlag(QNetworkInterface::IsLoopBack)) return false;
    return true;
}

#define RAFTWC_REQUIRE_NETNS()                                                                      \
    do {                                                                                            \
        if (!onlyLoopbackPresent())                                                                 \
            QSKIP("socket test: run inside a private network namespace (tests/tools/in-netns.sh)"); \
    } while (false)
