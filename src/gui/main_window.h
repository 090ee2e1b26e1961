// The dashboard's window: a summary line, tabs for members, the election timeline, the log and jobs (all
// table views over models of the feed's ClusterView), a toolbar of actions, drag-and-drop upload and a
// status bar with the connection state. It holds no logic: it renders models and emits what the user asks.
#pragma once

#include <QLabel>
#include <QMainWindow>
#include <QProgressBar>
#include <QTabWidget>
#include <QTableView>

#include "cluster_feed.h"
#include "models.h"

namespace raftwc::gui {

class TimelineBands;
class TopWordsChart;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    /// `memberMode`: this process is a member (title and status bar say so).
    MainWindow(ClusterFeed& feed, bool memberMode, QWidget* parent = nullptr);

    MembersModel& membersModel() { return members_; }
    TimelineModel& timelineModel() { return timeline_; }
    LogModel& logModel() { return log_; }
    JobsModel& jobsModel() { return jobs_; }
    QString summaryText() const;
    /// Shows the tab "members", "elections", "log" or "jobs".
    void showTab(const QString& name);

  signals:
    void transferRequested(const QString& to);  ///< empty: to the most up-to-date voter
    void removeRequested(const QString& id);

  public slots:
    void uploadFiles(const QStringList& paths);
    void showMessage(const QString& text);

  protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;
    void closeEvent(QCloseEvent* e) override;

  private:
    void refresh();
    void updateConnection();
    QString selectedMember() const;
    void chooseAndUpload();
    void transfer();
    void removeSelected();
    void copyAddress();
    void openPage();

    ClusterFeed& feed_;
    bool memberMode_;
    MembersModel members_;
    TimelineModel timeline_;
    LogModel log_;
    JobsModel jobs_;
    QLabel* summary_ = nullptr;
    QLabel* logSummary_ = nullptr;
    QTableView* membersView_ = nullptr;
    QTableView* timelineView_ = nullptr;
    QTableView* logView_ = nullptr;
    QTableView* jobsView_ = nullptr;
    TimelineBands* bands_ = nullptr;
    TopWordsChart* chart_ = nullptr;
    QLabel* connection_ = nullptr;
    QProgressBar* uploadBar_ = nullptr;
    QTabWidget* tabs_ = nullptr;
};

}  // namespace raftwc::gui
