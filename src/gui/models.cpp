#include "models.h"

#include <QBrush>
#include <QLocale>

namespace raftwc::gui {

QString shortId(const QString& id) {
    return id.size() > 10 ? id.left(8) + QChar(0x2026) : id;
}

QString humanBytes(qint64 n) {
    return QLocale::c().formattedDataSize(n, 1, QLocale::DataSizeTraditionalFormat);
}

QString humanMs(qint64 ms) {
    if (ms < 0) return QStringLiteral("–");
    if (ms < 10000) return QStringLiteral("%1 ms").arg(ms);
    if (ms < 120000) return QStringLiteral("%1 s").arg(ms / 1000);
    return QStringLiteral("%1 min").arg(ms / 60000);
}

namespace {
QVariant header(int section, Qt::Orientation o, int role, std::initializer_list<const char*> names) {
    if (o != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= int(names.size()))
        return {};
    return QString::fromUtf8(*(names.begin() + section));
}
QString orDash(qint64 v) {
    return v < 0 ? QStringLiteral("–") : QString::number(v);
}
}  // namespace

// ---- members ----------------------------------------------------------------------------------

int MembersModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : int(view_.members().size());
}
int MembersModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant MembersModel::headerData(int s, Qt::Orientation o, int role) const {
    return header(s, o, role,
                  {"Id", "HTTP", "Role", "Kind", "Term", "Match", "Lag", "Last contact", "Alive"});
}
QVariant MembersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= int(view_.members().size())) return {};
    const MemberRow& m = view_.members()[std::size_t(index.row())];
    if (role == IdRole) return m.id;
    if (role == AliveRole) return m.alive;
    if (role == Qt::ToolTipRole) return QStringLiteral("%1\nrpc %2").arg(m.id, m.rpc);
    if (role == Qt::ForegroundRole && !m.alive) return QBrush(QColor(0xc0, 0x30, 0x30));
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case Id:
            return m.id;
        case Address:
            return m.http;
        case Role:
            return m.alive ? m.role : QStringLiteral("down");
        case Kind:
            return m.voter ? QStringLiteral("voter") : QStringLiteral("learner");
        case Term:
            return orDash(m.term);
        case Match:
            return orDash(m.matchIndex);
        case Lag:
            return orDash(m.lag);
        case LastContact:
            return m.lastContactMs < 0 ? QStringLiteral("never")
                                       : humanMs(m.lastContactMs) + QStringLiteral(" ago");
        case Alive:
            return m.alive ? QStringLiteral("yes") : QStringLiteral("no");
    }
    return {};
}

// ---- timeline ---------------------------------------------------------------------------------

const TermRow* TimelineModel::row(int r) const {
    const auto& terms = view_.terms();
    if (r < 0 || r >= int(terms.size())) return nullptr;
    auto it = terms.rbegin();
    std::advance(it, r);
    return &it->second;
}
int TimelineModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : int(view_.terms().size());
}
int TimelineModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant TimelineModel::headerData(int s, Qt::Orientation o, int role) const {
    return header(s, o, role,
                  {"Term", "Pre-vote", "Campaign", "Votes", "Winner", "Leaderless (from noticed)"});
}
QVariant TimelineModel::data(const QModelIndex& index, int role) const {
    const TermRow* t = row(index.row());
    if (!t || (role != Qt::DisplayRole && role != Qt::ToolTipRole)) return {};
    auto ids = [](const QStringList& l) {
        QStringList s;
        for (const QString& id : l)
            s << shortId(id);
        return s.join(QStringLiteral(", "));
    };
    switch (index.column()) {
        case Term:
            return t->term;
        case PreVote:
            return ids(t->preCampaigners);
        case Campaign:
            return ids(t->campaigners);
        case Votes: {
            QStringList s;
            for (const VoteRow& v : t->votes) {
                if (v.preVote && role == Qt::DisplayRole)
                    continue;  // the real votes; pre-votes in the tooltip
                s << QStringLiteral("%1%2 %3 %4%5")
                         .arg(v.preVote ? QStringLiteral("(pre) ") : QString(), shortId(v.voter),
                              v.granted ? QStringLiteral("→") : QStringLiteral("✗"), shortId(v.candidate),
                              v.granted || role == Qt::DisplayRole ? QString()
                                                                   : QStringLiteral(": ") + v.reason);
            }
            return s.join(role == Qt::DisplayRole ? QStringLiteral("; ") : QStringLiteral("\n"));
        }
        case Winner:
            return t->winner.isEmpty() ? QStringLiteral("–") : shortId(t->winner);
        case Leaderless:
            return humanMs(t->leaderlessMs());
    }
    return {};
}

// ---- log --------------------------------------------------------------------------------------

int LogModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : int(view_.entries().size());
}
int LogModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant LogModel::headerData(int s, Qt::Orientation o, int role) const {
    return header(s, o, role, {"Index", "Term", "Kind", "Bytes"});
}
QVariant LogModel::data(const QModelIndex& index, int role) const {
    const auto& e = view_.entries();
    if (!index.isValid() || role != Qt::DisplayRole || index.row() >= int(e.size())) return {};
    const EntryRow& r = e[e.size() - 1 - std::size_t(index.row())];  // newest first
    switch (index.column()) {
        case Index:
            return r.index;
        case Term:
            return r.term;
        case Kind:
            return r.kind;
        case Bytes:
            return humanBytes(r.bytes);
    }
    return {};
}

// ---- jobs -------------------------------------------------------------------------------------

std::vector<JobsModel::Line> JobsModel::lines() const {
    std::vector<Line> out;
    for (const JobRow* j : view_.jobsByRecency()) {
        out.push_back({j, -1});
        if (j->running())
            for (int i = 0; i < int(j->shards.size()); ++i)
                out.push_back({j, i});
    }
    return out;
}
const JobRow* JobsModel::jobAt(int row) const {
    const auto l = lines();
    return row >= 0 && row < int(l.size()) ? l[std::size_t(row)].job : nullptr;
}
int JobsModel::rowCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : int(lines().size());
}
int JobsModel::columnCount(const QModelIndex& p) const {
    return p.isValid() ? 0 : ColumnCount;
}
QVariant JobsModel::headerData(int s, Qt::Orientation o, int role) const {
    return header(s, o, role, {"Job", "State", "Node", "Range", "Progress", "Words"});
}
QVariant JobsModel::data(const QModelIndex& index, int role) const {
    const auto l = lines();
    if (!index.isValid() || index.row() >= int(l.size())) return {};
    const Line& line = l[std::size_t(index.row())];
    const JobRow& j = *line.job;
    if (line.shard < 0) {
        double done = 0, total = 0;
        for (const ShardRow& s : j.shards) {
            done += s.progress * double(s.length);
            total += double(s.length);
        }
        // Storing: the bytes replicated so far; counting: the bytes counted.
        const double progress = !j.running() ? 1.0
                                : j.state == QLatin1String("storing")
                                    ? (j.bytes > 0 ? double(j.storedBytes) / double(j.bytes) : 0.0)
                                : total > 0 ? done / total
                                            : 0.0;
        if (role == ProgressRole) return progress;
        if (role == Qt::ToolTipRole) return j.error.isEmpty() ? j.id : j.error;
        if (role != Qt::DisplayRole) return {};
        switch (index.column()) {
            case Job:
                return j.name.isEmpty() ? j.id : j.name;
            case State:
                return j.state;
            case Node:
                return QStringLiteral("coordinator %1").arg(shortId(j.coordinator));
            case Range:
                return humanBytes(j.bytes);
            case Progress:
                return QStringLiteral("%1 %").arg(int(progress * 100));
            case Words:
                return j.words < 0 ? QStringLiteral("–") : QLocale::c().toString(j.words);
        }
        return {};
    }
    const ShardRow& s = j.shards[std::size_t(line.shard)];
    if (role == ProgressRole) return s.progress;
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case Job:
            return QStringLiteral("   shard @ %1").arg(s.offset);
        case State:
            return s.state;
        case Node:
            return shortId(s.node);
        case Range:
            return humanBytes(s.length);
        case Progress:
            return QStringLiteral("%1 %").arg(int(s.progress * 100));
        case Words:
            return QLocale::c().toString(s.words);
    }
    return {};
}

}  // namespace raftwc::gui
