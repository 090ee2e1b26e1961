// runOffLoop: CPU-heavy work (decoding, merging, sorting and compressing frequency tables, encoding
// replies) on the global thread pool, its continuation back on the main thread — the event loop never
// waits on it, so heartbeats and health checks keep flowing while a node counts (docs/ARCHITECTURE.md).
#pragma once

#include <QCoreApplication>
#include <QMetaObject>
#include <QPointer>
#include <QThreadPool>
#include <memory>
#include <utility>

namespace raftwc::node {

/// Runs `work()` on QThreadPool::globalInstance(), then `then(result)` on the main thread if `guard` still
/// exists there (checked on the main thread only). `work` must not touch objects of the main thread.
template <class Guard, class Work, class Then>
void runOffLoop(QPointer<Guard> guard, Work work, Then then) {
    QThreadPool::globalInstance()->start(
        [guard = std::move(guard), work = std::move(work), then = std::move(then)]() mutable {
            auto result = std::make_shared<decltype(work())>(work());
            QMetaObject::invokeMethod(
                QCoreApplication::instance(),
                [guard, then = std::move(then), result]() mutable {
                    if (guard) then(std::move(*result));
                },
                Qt::QueuedConnection);
        });
}

}  // namespace raftwc::node
