// Table models over a ClusterView (values in, rows out). The view is replaced as a whole on each change
// (refresh()): the tables are small (members, ≤ 200 terms, entries and jobs).
#pragma once

#include <QAbstractTableModel>

#include "cluster_view.h"

namespace raftwc::gui {

/// Custom roles for delegates and tests.
enum Role { ProgressRole = Qt::UserRole + 1, IdRole, AliveRole };

class ViewModel : public QAbstractTableModel {
  public:
    explicit ViewModel(const ClusterView& view, QObject* parent = nullptr)
        : QAbstractTableModel(parent), view_(view) {}
    /// The view changed: rows are re-read.
    void refresh() {
        beginResetModel();
        endResetModel();
    }

  protected:
    const ClusterView& view_;
};

class MembersModel : public ViewModel {
  public:
    using ViewModel::ViewModel;
    enum Column { Id, Address, Role, Kind, Term, Match, Lag, LastContact, Alive, ColumnCount };
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;
};

class TimelineModel : public ViewModel {
  public:
    using ViewModel::ViewModel;
    enum Column { Term, PreVote, Campaign, Votes, Winner, Leaderless, ColumnCount };
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;
    /// Rows newest term first.
    const TermRow* row(int r) const;
};

class LogModel : public ViewModel {
  public:
    using ViewModel::ViewModel;
    enum Column { Index, Term, Kind, Bytes, ColumnCount };
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;
};

/// One row per (job, shard) of running jobs, then one row per finished job.
class JobsModel : public ViewModel {
  public:
    using ViewModel::ViewModel;
    enum Column { Job, State, Node, Range, Progress, Words, ColumnCount };
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;
    /// The job of a row (nullptr if none).
    const JobRow* jobAt(int row) const;

  private:
    struct Line {
        const JobRow* job;
        int shard;  ///< -1: the job's own line
    };
    std::vector<Line> lines() const;
};

QString shortId(const QString& id);
QString humanBytes(qint64 n);
QString humanMs(qint64 ms);

}  // namespace raftwc::gui
