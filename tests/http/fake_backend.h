// A deterministic ApiBackend for tests and for fake_api_server: it really counts words (whitespace
// split; "normalized" also lowercases and trims punctuation), keeps jobs in memory, and can answer
// uploads immediately, hold them for the test to answer (Deferred), or simulate shard progress over
// time (Simulated) so the web page's live view can be exercised.
#pragma once

#include "http/api.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <algorithm>
#include <memory>

namespace raftwc::http::testing {

struct WordTally {
    qint64 words = 0;
    qint64 lines = 0;
    qint64 chars = 0;         ///< UTF-8 lead and ASCII bytes (exact for valid UTF-8)
    qint64 maxLineWidth = 0;  ///< wc -L for text of width-1 characters: tabs to multiples of 8
    QHash<QString, qint64> counts;
};

inline QString normalizeWord(const QString& w) {
    qsizetype b = 0, e = w.size();
    while (b < e && !w[b].isLetterOrNumber())
        ++b;
    while (e > b && !w[e - 1].isLetterOrNumber())
        --e;
    return w.mid(b, e - b).toLower();
}

inline WordTally tally(QByteArrayView bytes, bool normalized) {
    WordTally t;
    t.lines = std::count(bytes.begin(), bytes.end(), '\n');
    qint64 column = 0;
    for (const char c : bytes) {
        if ((uchar(c) & 0xC0) == 0x80) continue;  // a continuation byte
        ++t.chars;
        if (c == '\n' || c == '\r' || c == '\f') {
            t.maxLineWidth = std::max(t.maxLineWidth, column);
            column = 0;
        } else if (c == '\t') {
            column = (column | 7) + 1;
        } else if (uchar(c) >= 0x20 && c != 0x7F) {
            ++column;
        }
    }
    t.maxLineWidth = std::max(t.maxLineWidth, column);
    qsizetype i = 0;
    const qsizetype n = bytes.size();
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    while (i < n) {
        while (i < n && space(bytes[i]))
            ++i;
        const qsizetype start = i;
        while (i < n && !space(bytes[i]))
            ++i;
        if (i > start) {
            QString w = QString::fromUtf8(bytes.sliced(start, i - start));
            if (normalized) w = normalizeWord(w);
            if (w.isEmpty()) continue;
            ++t.words;
            ++t.counts[w];
        }
    }
    return t;
}

inline QJsonArray topWords(const QHash<QString, qint64>& counts, qsizetype limit, qsizetype offset = 0) {
    QList<QPair<QString, qint64>> v;
    v.reserve(counts.size());
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        v.append({it.key(), it.value()});
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    QJsonArray out;
    for (qsizetype i = offset; i < v.size() && i < offset + limit; ++i)
        out.append(QJsonObject{{QStringLiteral("word"), v[i].first}, {QStringLiteral("count"), v[i].second}});
    return out;
}

class FakeBackend : public QObject, public ApiBackend {
  public:
    enum class Mode { Immediate, Deferred, Simulated };

    Mode mode = Mode::Immediate;
    int simulatedMs = 1500;  ///< Simulated: time until the answer
    int countCalls = 0;
    QList<Upload> uploads;                         ///< every upload received, in order
    QList<std::function<void(ApiReply)>> pending;  ///< Deferred: answers the test will give
    QString lastWordsId, lastWordsMode;
    qsizetype lastWordsLimit = -1, lastWordsOffset = -1;
    ApiReply overrideCount;  ///< if status != 0 (set it), count() answers this instead (e.g. 503)
    bool useOverride = false;
    bool keepUploads = true;  ///< keep every Upload in `uploads` (tests); fake_api_server turns it off

    static constexpr const char* kNodes[3] = {"a1f3c9e2b4d60718", "5b2e8d7c1a9f3e40", "c07d4e1f9a2b8635"};

    void count(Upload upload, std::function<void(ApiReply)> done) override {
        ++countCalls;
        if (keepUploads) uploads.append(upload);
        if (useOverride) return done(overrideCount);
        // A file named like "fail-503…" is refused as a node without a leader would (the page's error path).
        if (upload.name.startsWith(QLatin1String("fail-503"))) {
            ApiReply r = ApiReply::error(503, QStringLiteral("no_leader"),
                                         QStringLiteral("no leader is known right now; retry shortly"));
            r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("2")});
            return done(r);
        }
        const QString id = upload.jobId.isEmpty()
                               ? QStringLiteral("job-%1").arg(++m_seq, 8, 10, QLatin1Char('0'))
                               : upload.jobId;
        const QJsonObject result = makeResult(id, upload);
        if (mode == Mode::Immediate) {
            storeDone(id, result, upload);
            return done(ApiReply::json(200, result));
        }
        if (mode == Mode::Deferred) {
            pending.append([done](ApiReply r) { done(r); });
            return;
        }
        // Simulated: show shards making progress, then answer.
        QJsonObject running = result;
        running.insert(QStringLiteral("state"), QStringLiteral("counting"));
        QJsonArray shards = running.value(QStringLiteral("shards")).toArray();
        for (qsizetype i = 0; i < shards.size(); ++i) {
            QJsonObject s = shards[i].toObject();
            s.insert(QStringLiteral("state"), QStringLiteral("counting"));
            s.insert(QStringLiteral("progress"), 0.0);
            s.insert(QStringLiteral("words"), 0);
            shards[i] = s;
        }
        running.insert(QStringLiteral("shards"), shards);
        running.remove(QStringLiteral("top"));
        m_jobs.insert(id, running);
        auto start = std::make_shared<qint64>(QDateTime::currentMSecsSinceEpoch());
        auto* timer = new QTimer(this);
        timer->setInterval(100);
        const int total = simulatedMs;
        QObject::connect(
            timer, &QTimer::timeout, this, [this, timer, id, result, upload, done, start, total] {
                const double f = std::min(1.0, double(QDateTime::currentMSecsSinceEpoch() - *start) / total);
                QJsonObject job = m_jobs.value(id);
                QJsonArray live = job.value(QStringLiteral("shards")).toArray();
                const QJsonArray finalShards = result.value(QStringLiteral("shards")).toArray();
                for (qsizetype i = 0; i < live.size(); ++i) {
                    QJsonObject s = live[i].toObject();
                    const double p = std::min(1.0, f * (1.0 + 0.3 * double(i)));
                    s.insert(QStringLiteral("progress"), p);
                    s.insert(QStringLiteral("state"),
                             p >= 1.0 ? QStringLiteral("done") : QStringLiteral("counting"));
                    s.insert(QStringLiteral("words"),
                             qint64(p * finalShards[i].toObject().value(QStringLiteral("words")).toDouble()));
                    live[i] = s;
                }
                job.insert(QStringLiteral("shards"), live);
                m_jobs.insert(id, job);
                publishEvent(QStringLiteral("job"), {{QStringLiteral("job"), f >= 1.0 ? result : job},
                                                     {QStringLiteral("relayed"), false}});
                if (f >= 1.0) {
                    timer->deleteLater();
                    storeDone(id, result, upload);
                    done(ApiReply::json(200, result));
                } else {
                    timer->start();
                }
            });
        timer->setSingleShot(true);
        timer->start();
    }

    // Event streams (GET /api/events): each open stream gets `streamGreeting`, then what publish() writes.
    QByteArray streamGreeting = "event: status\ndata: {}\n\n";
    std::vector<std::shared_ptr<StreamWriter>> streams;  ///< open ones (the handle's end removes them)
    int streamsOpened = 0, streamsClosed = 0;
    EventsQuery lastEventsQuery;
    bool refuseStreams = false;
    /// Live mode (fake_api_server): streams start with a real status event, get one every second, and
    /// simulated jobs publish their progress, as a node's stream does.
    bool liveEvents = false;
    QByteArray statusMessage() {
        const QJsonObject o{{QStringLiteral("type"), QStringLiteral("status")},
                            {QStringLiteral("node"), QLatin1String(kNodes[0])},
                            {QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch()},
                            {QStringLiteral("status"), QJsonDocument::fromJson(cluster().body).object()}};
        return "event: status\ndata: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n";
    }
    void publishEvent(const QString& type, QJsonObject fields) {
        if (!liveEvents) return;
        fields.insert(QStringLiteral("type"), type);
        fields.insert(QStringLiteral("seq"), ++m_eventSeq);
        fields.insert(QStringLiteral("node"), QLatin1String(kNodes[0]));
        fields.insert(QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch());
        fields.insert(QStringLiteral("term"), 7);
        publish("id: " + QByteArray::number(m_eventSeq) + "\nevent: " + type.toUtf8() +
                "\ndata: " + QJsonDocument(fields).toJson(QJsonDocument::Compact) + "\n\n");
    }
    std::shared_ptr<void> openEvents(const EventsQuery& q, std::shared_ptr<StreamWriter> out) override {
        if (refuseStreams) return nullptr;
        lastEventsQuery = q;
        ++streamsOpened;
        if (liveEvents && !m_statusTimer) {
            m_statusTimer = new QTimer(this);
            QObject::connect(m_statusTimer, &QTimer::timeout, this, [this] { publish(statusMessage()); });
            m_statusTimer->start(1000);
        }
        out->write(liveEvents ? statusMessage() : streamGreeting);
        streams.push_back(out);
        QPointer<FakeBackend> self(this);
        StreamWriter* raw = out.get();
        return std::shared_ptr<void>(new int(0), [self, raw](int* p) {
            delete p;
            if (!self) return;
            ++self->streamsClosed;
            std::erase_if(self->streams, [raw](const auto& w) { return w.get() == raw; });
        });
    }
    /// Writes to every open stream; returns how many took it.
    int publish(const QByteArray& bytes) {
        int n = 0;
        for (const auto& w : streams)
            n += w->write(bytes) ? 1 : 0;
        return n;
    }
    void events(const EventsQuery& q, std::function<void(ApiReply)> done) override {
        lastEventsQuery = q;
        done(ApiReply::json(200, QJsonObject{{QStringLiteral("events"), QJsonArray()},
                                             {QStringLiteral("next"), qint64(q.after)},
                                             {QStringLiteral("wait"), q.waitMs}}));
    }

    ApiReply cluster() override {
        QJsonArray members;
        for (int i = 0; i < 3; ++i) {
            members.append(QJsonObject{
                {QStringLiteral("id"), QLatin1String(kNodes[i])},
                {QStringLiteral("rpc"), QStringLiteral("10.0.0.%1:7000").arg(i + 1)},
                {QStringLiteral("http"), QStringLiteral("10.0.0.%1:3000").arg(i + 1)},
                {QStringLiteral("role"), i == 0 ? QStringLiteral("leader") : QStringLiteral("follower")},
                {QStringLiteral("voter"), true},
                {QStringLiteral("alive"), i != 2 || !thirdDown},
                {QStringLiteral("lastContactMs"), i == 0 ? 0 : 40 * i},
                {QStringLiteral("matchIndex"), 42}});
        }
        return ApiReply::json(
            200, QJsonObject{{QStringLiteral("id"), QLatin1String(kNodes[0])},
                             {QStringLiteral("role"), QStringLiteral("leader")},
                             {QStringLiteral("term"), 7},
                             {QStringLiteral("leader"),
                              QJsonObject{{QStringLiteral("id"), QLatin1String(kNodes[0])},
                                          {QStringLiteral("http"), QStringLiteral("10.0.0.1:3000")}}},
                             {QStringLiteral("commitIndex"), 42},
                             {QStringLiteral("clusterId"), QStringLiteral("fake-cluster")},
                             {QStringLiteral("members"), members}});
    }
    ApiReply health() override {
        return ApiReply::json(200, QJsonObject{{QStringLiteral("status"), QStringLiteral("ok")},
                                               {QStringLiteral("role"), QStringLiteral("leader")}});
    }
    QByteArray metrics() override {
        return QByteArrayLiteral(
            "# HELP raftwc_fake_up Fake backend.\n# TYPE raftwc_fake_up gauge\nraftwc_fake_up 1\n");
    }
    ApiReply jobs(qsizetype limit, const QString& after) override {
        QJsonArray list;
        bool started = after.isEmpty();
        QString last;
        bool more = false;
        for (auto it = m_order.crbegin(); it != m_order.crend(); ++it) {
            if (!started) {
                started = *it == after;
                continue;
            }
            if (list.size() == limit) {
                more = true;
                break;
            }
            QJsonObject j = m_jobs.value(*it);
            j.remove(QStringLiteral("top"));
            j.remove(QStringLiteral("shards"));
            list.append(j);
            last = *it;
        }
        if (!started)
            return ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no job %1").arg(after));
        QJsonObject page{{QStringLiteral("jobs"), list}};
        if (more) page.insert(QStringLiteral("next"), last);
        return ApiReply::json(200, page);
    }
    ApiReply job(const QString& id) override {
        if (!m_jobs.contains(id))
            return ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no job %1").arg(id));
        return ApiReply::json(200, m_jobs.value(id));
    }
    ApiReply jobWords(const QString& id, qsizetype limit, qsizetype offset,
                      const QString& wordMode) override {
        lastWordsId = id;
        lastWordsLimit = limit;
        lastWordsOffset = offset;
        lastWordsMode = wordMode;
        if (!m_tallies.contains(id))
            return ApiReply::error(404, QStringLiteral("not_found"), QStringLiteral("no job %1").arg(id));
        const WordTally& t = m_tallies[id];
        return ApiReply::json(200, QJsonObject{{QStringLiteral("id"), id},
                                               {QStringLiteral("mode"), wordMode},
                                               {QStringLiteral("total"), qint64(t.counts.size())},
                                               {QStringLiteral("offset"), offset},
                                               {QStringLiteral("limit"), limit},
                                               {QStringLiteral("words"), topWords(t.counts, limit, offset)}});
    }

    bool thirdDown = false;

    // ---- streamed uploads, observed (streamSinks = true): a sink with a window the test opens ----------
    struct SinkLog {
        QByteArray received;        ///< bytes written so far
        qint64 window = 64 * 1024;  ///< bytes the sink takes before the test frees room
        qint64 maxOverRoom = 0;     ///< largest write beyond the room announced (must stay 0)
        bool finished = false;
        bool destroyed = false;
        std::function<void(ApiReply)> done;
        std::function<void()> freeRoom;  ///< the test: the window's bytes were "stored"
    };
    bool streamSinks = false;
    QList<std::shared_ptr<SinkLog>> sinks;

    std::unique_ptr<UploadSink> beginUpload(UploadMeta meta, std::function<void(ApiReply)> done) override {
        if (!streamSinks) return ApiBackend::beginUpload(std::move(meta), std::move(done));
        class Sink final : public UploadSink {
          public:
            explicit Sink(std::shared_ptr<SinkLog> log) : m_log(std::move(log)) {
                m_log->freeRoom = [this] {
                    m_stored = m_log->received.size();
                    roomAvailable();
                };
            }
            ~Sink() override {
                m_log->destroyed = true;
                m_log->freeRoom = nullptr;
            }
            qint64 room() const override {
                return std::max<qint64>(0, m_log->window - (m_log->received.size() - m_stored));
            }
            void write(QByteArrayView bytes) override {
                m_log->maxOverRoom = std::max(m_log->maxOverRoom, qint64(bytes.size()) - room());
                m_log->received.append(bytes.data(), bytes.size());
            }
            void finish() override {
                m_log->finished = true;
                m_log->done(ApiReply::json(
                    200, QJsonObject{{QStringLiteral("bytes"), qint64(m_log->received.size())}}));
            }

          private:
            std::shared_ptr<SinkLog> m_log;
            qint64 m_stored = 0;
        };
        auto log = std::make_shared<SinkLog>();
        log->done = std::move(done);
        sinks.append(log);
        return std::make_unique<Sink>(log);
    }

  private:
    void storeDone(const QString& id, const QJsonObject& result, const Upload& upload) {
        if (!m_order.contains(id)) m_order.append(id);
        m_jobs.insert(id, result);
        m_tallies.insert(id, tally(upload.bytes(), upload.mode != QLatin1String("raw")));
    }

    QJsonObject makeResult(const QString& id, const Upload& upload) {
        const QByteArrayView bytes = upload.bytes();
        const bool normalized = upload.mode != QLatin1String("raw");
        const WordTally all = tally(bytes, normalized);
        // Three shards cut at whitespace.
        QJsonArray shards;
        qsizetype start = 0;
        for (int i = 0; i < 3; ++i) {
            qsizetype end = i == 2 ? bytes.size() : std::max(start, bytes.size() * (i + 1) / 3);
            while (end < bytes.size() && !QChar::isSpace(uchar(bytes[end])))
                ++end;
            const WordTally part = tally(bytes.sliced(start, end - start), normalized);
            shards.append(QJsonObject{{QStringLiteral("node"), QLatin1String(kNodes[i])},
                                      {QStringLiteral("offset"), qint64(start)},
                                      {QStringLiteral("length"), qint64(end - start)},
                                      {QStringLiteral("words"), part.words},
                                      {QStringLiteral("ms"), 3 + i},
                                      {QStringLiteral("state"), QStringLiteral("done")},
                                      {QStringLiteral("progress"), 1.0}});
            start = end;
        }
        return QJsonObject{
            {QStringLiteral("id"), id},
            {QStringLiteral("name"), upload.name},
            {QStringLiteral("bytes"), qint64(bytes.size())},
            {QStringLiteral("sha256"),
             QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex())},
            {QStringLiteral("words"), all.words},
            {QStringLiteral("lines"), all.lines},
            {QStringLiteral("chars"), all.chars},
            {QStringLiteral("maxLineWidth"), all.maxLineWidth},
            {QStringLiteral("uniqueWords"), qint64(all.counts.size())},
            {QStringLiteral("top"), topWords(all.counts, 20)},
            {QStringLiteral("shards"), shards},
            {QStringLiteral("coordinator"), QLatin1String(kNodes[0])},
            {QStringLiteral("term"), 7},
            {QStringLiteral("logIndex"), 42 + m_seq},
            {QStringLiteral("elapsedMs"), 12},
            {QStringLiteral("mode"), upload.mode},
            {QStringLiteral("state"), QStringLiteral("done")},
            {QStringLiteral("createdAt"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)}};
    }

    int m_seq = 0;
    qint64 m_eventSeq = 0;
    QTimer* m_statusTimer = nullptr;
    QHash<QString, QJsonObject> m_jobs;
    QHash<QString, WordTally> m_tallies;
    QStringList m_order;
};

}  // namespace raftwc::http::testing
