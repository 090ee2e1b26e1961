// EventLog: what happened on this node, as an ordered, bounded list of values (the source of /api/events,
// the dashboard's timeline and the page's live view). Each event is a JSON object with seq, time, node,
// type and term, plus fields by type (docs/API.md, "GET /api/events"). Not thread-safe: the event loop's.
#pragma once

#include <QByteArray>
#include <QJsonObject>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <vector>

namespace raftwc::node {

struct NodeEvent {
    quint64 seq = 0;
    QJsonObject data;  ///< includes "seq", "time", "type"
    QString type() const { return data.value(QStringLiteral("type")).toString(); }
};

class EventLog {
  public:
    static constexpr std::size_t kDefaultCapacity = 4096;
    explicit EventLog(std::size_t capacity = kDefaultCapacity) : capacity_(capacity ? capacity : 1) {}

    /// Stores `data` (which must carry "type") with the next seq and `timeMs`, and tells every listener.
    const NodeEvent& append(QJsonObject data, qint64 timeMs);
    /// Stored events with seq > `after`, oldest first, at most `max`.
    std::vector<NodeEvent> after(quint64 after, std::size_t max = SIZE_MAX) const;
    /// The last seq handed out (0: none yet).
    quint64 lastSeq() const { return next_ - 1; }
    /// The oldest seq still stored (lastSeq() + 1 when empty).
    quint64 oldestSeq() const { return events_.empty() ? next_ : events_.front().seq; }
    std::size_t size() const { return events_.size(); }

    using Listener = std::function<void(const NodeEvent&)>;
    /// A listener may unsubscribe itself (or others) from inside its call.
    quint64 subscribe(Listener f);
    void unsubscribe(quint64 id);
    std::size_t listeners() const { return listeners_.size(); }

  private:
    std::size_t capacity_;
    std::deque<NodeEvent> events_;
    quint64 next_ = 1;
    std::map<quint64, Listener> listeners_;
    quint64 nextListener_ = 1;
};

/// One Server-Sent Events message: "id: <seq>\nevent: <type>\ndata: <json>\n\n".
QByteArray sseMessage(const NodeEvent& e);
/// An unstored message (no id): "event: <type>\ndata: <json>\n\n".
QByteArray sseMessage(const QJsonObject& data);

}  // namespace raftwc::node
