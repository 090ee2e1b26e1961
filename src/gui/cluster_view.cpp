#include "cluster_view.h"

#include <QJsonArray>
#include <algorithm>

namespace raftwc::gui {

namespace {

qint64 num(const QJsonObject& o, const char* key, qint64 dflt = -1) {
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? v.toInteger() : dflt;
}
QString str(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toString();
}
void addUnique(QStringList& list, const QString& s) {
    if (!s.isEmpty() && !list.contains(s)) list.append(s);
}
constexpr qint64 kFreshMs = 3000;  // a status older than this (than the newest one) is stale

}  // namespace

MemberRow& ClusterView::member(const QString& id) {
    for (MemberRow& m : members_)
        if (m.id == id) return m;
    members_.push_back(MemberRow{});
    members_.back().id = id;
    return members_.back();
}

void ClusterView::applyStatus(const QJsonObject& status, qint64 timeMs) {
    const QString node = str(status, "id");
    if (node.isEmpty()) return;
    QJsonObject s = status;
    s.insert(QStringLiteral("_time"), timeMs);
    lastStatus_[node] = s;

    // The freshest statuses; among them the leader's is the authority on members (it alone knows match
    // indexes and who answers it), else the newest.
    qint64 newest = 0;
    for (const auto& [id, st] : lastStatus_)
        newest = std::max(newest, num(st, "_time", 0));
    const QJsonObject* authority = nullptr;
    for (const auto& [id, st] : lastStatus_) {
        if (num(st, "_time", 0) < newest - kFreshMs) continue;
        if (str(st, "role") == QLatin1String("leader") &&
            (!authority || num(st, "term", 0) > num(*authority, "term", 0)))
            authority = &st;
    }
    if (!authority)
        for (const auto& [id, st] : lastStatus_)
            if (num(st, "_time", 0) == newest) authority = &st;
    if (!authority) return;

    qint64 maxTerm = 0;
    for (const auto& [id, st] : lastStatus_)
        if (num(st, "_time", 0) >= newest - kFreshMs) maxTerm = std::max(maxTerm, num(st, "term", 0));
    term_ = std::max(term_, maxTerm);
    const QJsonValue lead = authority->value(QStringLiteral("leader"));
    const QString leader =
        lead.isObject() ? lead.toObject().value(QStringLiteral("id")).toString() : QString();
    if (leader != leader_) {
        leader_ = leader;
        if (leaderSinceMs_ < 0 || !leader.isEmpty()) leaderSinceMs_ = leader.isEmpty() ? -1 : timeMs;
    }
    commit_ = std::max(commit_, num(*authority, "commitIndex", 0));
    applied_ = std::max(applied_, num(*authority, "appliedIndex", 0));

    std::vector<MemberRow> rows;
    const bool fromLeader = str(*authority, "role") == QLatin1String("leader");
    for (const QJsonValue& v : authority->value(QStringLiteral("members")).toArray()) {
        const QJsonObject m = v.toObject();
        MemberRow r;
        r.id = str(m, "id");
        r.http = str(m, "http");
        r.rpc = str(m, "rpc");
        r.role = str(m, "role");
        r.voter = m.value(QStringLiteral("voter")).toBool();
        r.alive = m.value(QStringLiteral("alive")).toBool() || m.value(QStringLiteral("self")).toBool();
        r.lastContactMs = m.value(QStringLiteral("self")).toBool() ? 0 : num(m, "lastContactMs");
        if (fromLeader) {
            r.matchIndex = num(m, "matchIndex");
            if (r.matchIndex >= 0)
                r.lag = std::max<qint64>(0, num(*authority, "commitIndex", 0) - r.matchIndex);
        }
        auto own = lastStatus_.find(r.id);
        if (own != lastStatus_.end() && num(own->second, "_time", 0) >= newest - kFreshMs) {
            r.term = num(own->second, "term");
            r.commit = num(own->second, "commitIndex");
            r.applied = num(own->second, "appliedIndex");
        }
        rows.push_back(std::move(r));
    }
    members_ = std::move(rows);
}

TermRow& ClusterView::termRow(qint64 term) {
    TermRow& r = terms_[term];
    r.term = term;
    return r;
}

bool ClusterView::applyEvent(const QJsonObject& e) {
    const QString node = str(e, "node");
    const qint64 seq = num(e, "seq");
    if (!node.isEmpty() && seq >= 0) {
        if (!seen_.insert({node, seq}).second) return false;
        qint64& top = maxSeq_[node];
        top = std::max(top, seq);
    }
    const QString type = str(e, "type");
    const qint64 time = num(e, "time", 0);
    const qint64 term = num(e, "term", 0);
    if (term > term_) term_ = term;
    const bool pre = str(e, "kind") == QLatin1String("prevote");
    const qint64 campaignTerm = num(e, "campaignTerm", 0);

    if (type == QLatin1String("campaign")) {
        TermRow& r = termRow(campaignTerm);
        addUnique(pre ? r.preCampaigners : r.campaigners, node);
        if (r.leaderlessSinceMs < 0 || time < r.leaderlessSinceMs) r.leaderlessSinceMs = time;
        if (lostLeaderAtMs_ >= 0 && lostLeaderAtMs_ < r.leaderlessSinceMs)
            r.leaderlessSinceMs = lostLeaderAtMs_;
    } else if (type == QLatin1String("vote")) {
        termRow(campaignTerm)
            .votes.push_back({node, str(e, "candidate"), pre, e.value(QStringLiteral("granted")).toBool(),
                              str(e, "reason")});
    } else if (type == QLatin1String("elected") && !pre) {
        TermRow& r = termRow(campaignTerm);
        r.winner = node;
        if (r.electedAtMs < 0 || time < r.electedAtMs) r.electedAtMs = time;
        if (campaignTerm >= term_) {
            if (leader_ != node || leaderSinceMs_ < 0 || time < leaderSinceMs_) leaderSinceMs_ = time;
            leader_ = node;
        }
        if (lostLeaderAtMs_ >= 0 && (r.leaderlessSinceMs < 0 || lostLeaderAtMs_ < r.leaderlessSinceMs))
            r.leaderlessSinceMs = lostLeaderAtMs_;
    } else if (type == QLatin1String("leader")) {
        const QJsonValue l = e.value(QStringLiteral("leader"));
        if (l.isString()) {
            TermRow& r = termRow(term);
            if (r.winner.isEmpty()) r.winner = l.toString();
            if (r.electedAtMs < 0 || time < r.electedAtMs) r.electedAtMs = time;
            if (lostLeaderAtMs_ >= 0 && lostLeaderAtMs_ <= time &&
                (r.leaderlessSinceMs < 0 || lostLeaderAtMs_ < r.leaderlessSinceMs))
                r.leaderlessSinceMs = lostLeaderAtMs_;
            if (term >= term_) {
                lostLeaderAtMs_ = -1;
                if (leader_ != l.toString()) {
                    leader_ = l.toString();
                    leaderSinceMs_ = time;
                } else if (leaderSinceMs_ < 0 || time < leaderSinceMs_) {
                    leaderSinceMs_ = time;
                }
            }
        } else if (lostLeaderAtMs_ < 0 || time < lostLeaderAtMs_) {
            lostLeaderAtMs_ = time;
        }
    } else if (type == QLatin1String("log")) {
        commit_ = std::max(commit_, num(e, "commit", 0));
        applied_ = std::max(applied_, num(e, "applied", 0));
        for (const QJsonValue& v : e.value(QStringLiteral("recent")).toArray()) {
            const QJsonObject o = v.toObject();
            EntryRow row{num(o, "index", 0), num(o, "term", 0), str(o, "kind"), num(o, "bytes", 0)};
            auto it = std::lower_bound(entries_.begin(), entries_.end(), row.index,
                                       [](const EntryRow& a, qint64 i) { return a.index < i; });
            if (it != entries_.end() && it->index == row.index) {
                *it = row;  // a later term's entry replaced a truncated one
                continue;
            }
            entries_.insert(it, row);
        }
    } else if (type == QLatin1String("job")) {
        const QJsonObject j = e.value(QStringLiteral("job")).toObject();
        const QString id = str(j, "id");
        if (!id.isEmpty()) {
            JobRow& row = jobs_[id];
            const bool wasDone = !row.id.isEmpty() && !row.running();
            if (!(wasDone && time < row.updatedMs)) {  // an older progress note never undoes the end
                row.id = id;
                row.name = str(j, "name");
                row.state = str(j, "state");
                row.coordinator = str(j, "coordinator");
                row.mode = str(j, "mode");
                row.bytes = num(j, "bytes", 0);
                row.storedBytes =
                    num(j, "storedBytes", row.state == QLatin1String("storing") ? 0 : row.bytes);
                row.words = num(j, "words");
                row.lines = num(j, "lines");
                row.elapsedMs = num(j, "elapsedMs", 0);
                row.error = str(j, "error");
                row.updatedMs = std::max(row.updatedMs, time);
                row.shards.clear();
                for (const QJsonValue& v : j.value(QStringLiteral("shards")).toArray()) {
                    const QJsonObject s = v.toObject();
                    ShardRow sr{
                        str(s, "node"), num(s, "offset", 0), num(s, "length", 0), num(s, "words", 0), 0,
                        str(s, "state")};
                    const QJsonValue p = s.value(QStringLiteral("progress"));
                    sr.progress =
                        p.isDouble() ? p.toDouble() : (row.state == QLatin1String("done") ? 1.0 : 0.0);
                    if (sr.state.isEmpty() && row.state == QLatin1String("done"))
                        sr.state = QStringLiteral("done");
                    row.shards.push_back(sr);
                }
                row.top.clear();
                for (const QJsonValue& v : j.value(QStringLiteral("top")).toArray())
                    row.top.emplace_back(str(v.toObject(), "word"), num(v.toObject(), "count", 0));
            }
        }
    } else if (type == QLatin1String("shard")) {
        auto it = jobs_.find(str(e, "job"));
        if (it != jobs_.end() && it->second.running()) {
            for (ShardRow& s : it->second.shards)
                if (s.node == node && s.offset == num(e, "offset", -2)) {
                    const qint64 len = num(e, "length", 0);
                    s.progress = len > 0 ? double(num(e, "bytesDone", 0)) / double(len) : 1.0;
                    s.state = str(e, "state") == QLatin1String("done") ? QStringLiteral("done") : s.state;
                }
        }
    }
    trim();
    return true;
}

void ClusterView::trim() {
    while (entries_.size() > kMaxEntries)
        entries_.pop_front();
    while (terms_.size() > kMaxTerms)
        terms_.erase(terms_.begin());
    if (jobs_.size() > kMaxJobs) {
        std::vector<std::pair<qint64, QString>> byAge;
        for (const auto& [id, j] : jobs_)
            byAge.emplace_back(j.updatedMs, id);
        std::sort(byAge.begin(), byAge.end());
        for (std::size_t i = 0; i + kMaxJobs < byAge.size(); ++i)
            jobs_.erase(byAge[i].second);
    }
    if (seen_.size() > 50000) {  // keep the recent window of every node
        for (auto it = seen_.begin(); it != seen_.end();)
            it = it->second < maxSeq_[it->first] - 10000 ? seen_.erase(it) : std::next(it);
    }
}

int ClusterView::voters() const {
    return int(std::count_if(members_.begin(), members_.end(), [](const MemberRow& m) { return m.voter; }));
}

int ClusterView::aliveVoters() const {
    return int(std::count_if(members_.begin(), members_.end(),
                             [](const MemberRow& m) { return m.voter && m.alive; }));
}

std::vector<const JobRow*> ClusterView::jobsByRecency() const {
    std::vector<const JobRow*> out;
    for (const auto& [id, j] : jobs_)
        out.push_back(&j);
    std::sort(out.begin(), out.end(),
              [](const JobRow* a, const JobRow* b) { return a->updatedMs > b->updatedMs; });
    return out;
}

QStringList ClusterView::httpAddresses() const {
    QStringList out;
    for (const MemberRow& m : members_)
        if (!m.http.isEmpty()) out << m.http;
    for (const auto& [id, st] : lastStatus_)
        for (const QJsonValue& v : st.value(QStringLiteral("members")).toArray())
            addUnique(out, v.toObject().value(QStringLiteral("http")).toString());
    out.removeDuplicates();
    return out;
}

}  // namespace raftwc::gui
