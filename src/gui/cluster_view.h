// What the dashboard knows of a cluster, as values, reduced from status snapshots and events (the JSON of
// GET /api/events). Pure: no I/O, no clock (times come with the input). The models render it.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <deque>
#include <map>
#include <set>
#include <vector>

namespace raftwc::gui {

struct MemberRow {
    QString id;
    QString http;
    QString rpc;
    QString role;  ///< leader, follower, learner, … as the reporting node sees it
    bool voter = false;
    bool alive = false;
    qint64 lastContactMs = -1;
    qint64 matchIndex = -1;  ///< known from the leader's status only
    qint64 lag = -1;         ///< leader's commit - matchIndex
    qint64 term = -1;        ///< the member's own term, from its own status
    qint64 commit = -1;
    qint64 applied = -1;
};

struct VoteRow {
    QString voter;
    QString candidate;
    bool preVote = false;
    bool granted = false;
    QString reason;
};

/// One term of the election timeline.
struct TermRow {
    qint64 term = 0;
    QStringList preCampaigners;  ///< ran a pre-vote for this term
    QStringList campaigners;     ///< ran the real vote
    std::vector<VoteRow> votes;
    QString winner;
    qint64 leaderlessSinceMs = -1;  ///< first sign of no leader before this term's leader
    qint64 electedAtMs = -1;
    /// From the first member noticing that there was no leader (its election timeout: the leader died up to
    /// one timeout earlier) to the new leader.
    qint64 leaderlessMs() const {
        return leaderlessSinceMs >= 0 && electedAtMs >= leaderlessSinceMs ? electedAtMs - leaderlessSinceMs
                                                                          : -1;
    }
};

struct EntryRow {
    qint64 index = 0;
    qint64 term = 0;
    QString kind;
    qint64 bytes = 0;
};

struct ShardRow {
    QString node;
    qint64 offset = 0;
    qint64 length = 0;
    qint64 words = 0;
    double progress = 0;
    QString state;
};

struct JobRow {
    QString id;
    QString name;
    QString state;  ///< storing, counting, committing, done, failed
    QString coordinator;
    QString mode;
    qint64 bytes = 0;
    qint64 storedBytes = 0;  ///< replicated so far (while storing)
    qint64 words = -1;
    qint64 lines = -1;
    qint64 elapsedMs = 0;
    QString error;
    std::vector<ShardRow> shards;
    std::vector<std::pair<QString, qint64>> top;
    qint64 updatedMs = 0;
    bool running() const { return state != QLatin1String("done") && state != QLatin1String("failed"); }
};

class ClusterView {
  public:
    /// A status event's "status" object (GET /api/cluster) from node `node`, at `timeMs`.
    void applyStatus(const QJsonObject& status, qint64 timeMs);
    /// One stored event (seq, time, node, type, term, ...). Returns false if it was seen already.
    bool applyEvent(const QJsonObject& event);

    // Summary
    qint64 term() const { return term_; }
    QString leader() const { return leader_; }
    qint64 leaderSinceMs() const { return leaderSinceMs_; }
    int voters() const;
    int aliveVoters() const;
    bool hasQuorum() const { return voters() > 0 && aliveVoters() >= voters() / 2 + 1; }
    qint64 commit() const { return commit_; }
    qint64 applied() const { return applied_; }

    const std::vector<MemberRow>& members() const { return members_; }
    const std::map<qint64, TermRow>& terms() const { return terms_; }
    const std::deque<EntryRow>& entries() const { return entries_; }
    const std::map<QString, JobRow>& jobs() const { return jobs_; }
    /// Jobs newest first.
    std::vector<const JobRow*> jobsByRecency() const;
    /// Every node's http address the view learned (for a feed to connect to).
    QStringList httpAddresses() const;

    static constexpr std::size_t kMaxEntries = 200;
    static constexpr std::size_t kMaxJobs = 100;
    static constexpr std::size_t kMaxTerms = 200;

  private:
    TermRow& termRow(qint64 term);
    void trim();
    MemberRow& member(const QString& id);

    qint64 term_ = 0;
    QString leader_;
    qint64 leaderSinceMs_ = -1;
    qint64 commit_ = 0;
    qint64 applied_ = 0;
    std::vector<MemberRow> members_;
    std::map<QString, QJsonObject> lastStatus_;  ///< by reporting node
    std::map<qint64, TermRow> terms_;
    std::deque<EntryRow> entries_;
    std::map<QString, JobRow> jobs_;
    std::set<std::pair<QString, qint64>> seen_;  ///< (node, seq) of applied events
    std::map<QString, qint64> maxSeq_;           ///< per node: prune seen_ below this - 10000
    qint64 lostLeaderAtMs_ = -1;                 ///< first "no leader" since a leader was last known
};

}  // namespace raftwc::gui
