// GET /api/events: the node's EventLog as Server-Sent Events (a status event every second, pings, replay
// from Last-Event-ID) or as one JSON answer (long poll).
#include <QDateTime>
#include <QJsonArray>
#include <QPointer>
#include <QTimer>

#include "node/api.h"
#include "node/event_log.h"
#include "node/node.h"

namespace raftwc::node {

namespace {

constexpr int kStatusEveryMs = 1000;
constexpr int kPingEvery = 15;  // status periods
constexpr std::size_t kMaxJsonEvents = 1000;

QJsonObject statusEvent(const Node& node) {
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("status")},
                       {QStringLiteral("node"), nodeIdString(node.id())},
                       {QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch()},
                       {QStringLiteral("status"), clusterJson(node.status())}};
}

QJsonObject restartEvent(quint64 asked, quint64 last) {
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("gap")},
                       {QStringLiteral("reason"), QStringLiteral("restarted")},
                       {QStringLiteral("asked"), qint64(asked)},
                       {QStringLiteral("last"), qint64(last)}};
}

QJsonObject gapEvent(quint64 from, quint64 to) {
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("gap")},
                       {QStringLiteral("from"), qint64(from)},
                       {QStringLiteral("to"), qint64(to)}};
}

/// One client's subscription: lives as long as its connection (the front end holds it).
class EventSubscription : public QObject {
  public:
    EventSubscription(Node& node, http::EventsQuery q, std::shared_ptr<http::StreamWriter> out)
        : node_(&node), log_(node.eventLog()), out_(std::move(out)) {
        auto log = log_.lock();
        write(sseMessage(statusEvent(node)));
        if (q.hasAfter && log) {
            if (q.after > log->lastSeq()) {
                // An id from before this process started (the node restarted; ids start again at 1): the
                // client missed what happened since, so it gets everything still buffered.
                write(sseMessage(restartEvent(q.after, log->lastSeq())));
                q.after = 0;
            }
            if (q.after + 1 < log->oldestSeq())
                write(sseMessage(gapEvent(q.after + 1, log->oldestSeq() - 1)));
            for (const NodeEvent& e : log->after(q.after))
                write(sseMessage(e));
        }
        if (log) listener_ = log->subscribe([this](const NodeEvent& e) { write(sseMessage(e)); });
        timer_.setInterval(kStatusEveryMs);
        QObject::connect(&timer_, &QTimer::timeout, this, [this] {
            if (!node_) return;
            write(sseMessage(statusEvent(*node_)));
            if (++ticks_ % kPingEvery == 0) write(QByteArrayLiteral(": ping\n\n"));
        });
        timer_.start();
    }
    ~EventSubscription() override {
        if (auto log = log_.lock(); log && listener_) log->unsubscribe(listener_);
    }

  private:
    void write(const QByteArray& bytes) {
        if (dead_) return;
        if (!out_->write(bytes)) {
            dead_ = true;  // the connection closes and destroys this subscription
            timer_.stop();
        }
    }
    QPointer<Node> node_;
    std::weak_ptr<EventLog> log_;
    std::shared_ptr<http::StreamWriter> out_;
    quint64 listener_ = 0;
    QTimer timer_;
    int ticks_ = 0;
    bool dead_ = false;
};

http::ApiReply eventsReply(const Node& node, http::EventsQuery q) {
    const auto log = node.eventLog();
    QJsonObject restarted;
    if (q.hasAfter && q.after > log->lastSeq()) {  // an id of an earlier process: everything buffered
        restarted = restartEvent(q.after, log->lastSeq());
        q.after = 0;
    }
    QJsonArray events;
    const quint64 after = q.hasAfter ? q.after : log->lastSeq();
    quint64 next = after;
    for (const NodeEvent& e : log->after(after, kMaxJsonEvents)) {
        events.append(e.data);
        next = e.seq;
    }
    QJsonObject o{{QStringLiteral("node"), nodeIdString(node.id())},
                  {QStringLiteral("events"), events},
                  {QStringLiteral("next"), qint64(next)},
                  {QStringLiteral("oldest"), qint64(log->oldestSeq())},
                  {QStringLiteral("status"), clusterJson(node.status())}};
    if (!restarted.isEmpty())
        o.insert(QStringLiteral("gap"), restarted);
    else if (q.hasAfter && q.after + 1 < log->oldestSeq())
        o.insert(QStringLiteral("gap"), gapEvent(q.after + 1, log->oldestSeq() - 1));
    return http::ApiReply::json(200, o);
}

/// A long-poll answer waiting for an event (deletes itself once answered).
struct LongPoll : QObject {
    std::function<void(http::ApiReply)> done;
    http::EventsQuery query;
    QPointer<Node> node;
    std::weak_ptr<EventLog> log;
    quint64 listener = 0;
    QTimer timer;
    void finish() {
        if (!done) return;
        timer.stop();
        if (auto l = log.lock()) l->unsubscribe(listener);
        auto answer = std::exchange(done, nullptr);
        if (node) answer(eventsReply(*node, query));
        deleteLater();
    }
};

}  // namespace

std::shared_ptr<void> NodeApi::openEvents(const http::EventsQuery& query,
                                          std::shared_ptr<http::StreamWriter> out) {
    return std::make_shared<EventSubscription>(node_, query, std::move(out));
}

void NodeApi::events(const http::EventsQuery& query, std::function<void(http::ApiReply)> done) {
    const auto log = node_.eventLog();
    const quint64 after = query.hasAfter ? query.after : log->lastSeq();
    const bool restarted = query.hasAfter && query.after > log->lastSeq();  // answered at once, from 1
    if (query.waitMs <= 0 || log->lastSeq() > after || restarted) return done(eventsReply(node_, query));
    // Long poll: answer at the first event after `after`, or when the wait ends.
    auto* w = new LongPoll;
    w->done = std::move(done);
    w->query = query;
    w->query.hasAfter = true;
    w->query.after = after;
    w->node = &node_;
    w->log = log;
    w->listener = log->subscribe([w](const NodeEvent&) {
        // Not from inside the log's append: answer on the next turn of the loop.
        QTimer::singleShot(0, w, [w] { w->finish(); });
    });
    w->timer.setSingleShot(true);
    QObject::connect(&w->timer, &QTimer::timeout, w, [w] { w->finish(); });
    w->timer.start(query.waitMs);
}

}  // namespace raftwc::node
