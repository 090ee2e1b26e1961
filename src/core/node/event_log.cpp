#include "node/event_log.h"

#include <QJsonDocument>

namespace raftwc::node {

const NodeEvent& EventLog::append(QJsonObject data, qint64 timeMs) {
    NodeEvent e;
    e.seq = next_++;
    data.insert(QStringLiteral("seq"), qint64(e.seq));
    data.insert(QStringLiteral("time"), timeMs);
    e.data = std::move(data);
    events_.push_back(std::move(e));
    while (events_.size() > capacity_)
        events_.pop_front();
    const NodeEvent& stored = events_.back();
    if (!listeners_.empty()) {
        // A copy: listeners may unsubscribe while we call them; one removed meanwhile is not called.
        std::vector<quint64> ids;
        ids.reserve(listeners_.size());
        for (const auto& [id, f] : listeners_)
            ids.push_back(id);
        const NodeEvent copy = stored;
        for (quint64 id : ids) {
            auto it = listeners_.find(id);
            if (it == listeners_.end()) continue;
            Listener f = it->second;  // the listener may erase itself
            f(copy);
        }
    }
    return events_.back();
}

std::vector<NodeEvent> EventLog::after(quint64 after, std::size_t max) const {
    std::vector<NodeEvent> out;
    if (events_.empty() || after >= lastSeq()) return out;
    const quint64 first = std::max(after + 1, oldestSeq());
    for (std::size_t i = std::size_t(first - oldestSeq()); i < events_.size() && out.size() < max; ++i)
        out.push_back(events_[i]);
    return out;
}

quint64 EventLog::subscribe(Listener f) {
    const quint64 id = nextListener_++;
    listeners_.emplace(id, std::move(f));
    return id;
}

void EventLog::unsubscribe(quint64 id) {
    listeners_.erase(id);
}

QByteArray sseMessage(const QJsonObject& data) {
    QByteArray out = "event: " + data.value(QStringLiteral("type")).toString().toUtf8() + "\ndata: ";
    out += QJsonDocument(data).toJson(QJsonDocument::Compact);  // one line: JSON escapes newlines
    out += "\n\n";
    return out;
}

QByteArray sseMessage(const NodeEvent& e) {
    return "id: " + QByteArray::number(e.seq) + '\n' + sseMessage(e.data);
}

}  // namespace raftwc::node
