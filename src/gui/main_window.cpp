#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDateTime>
#include <QDesktopServices>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QHeaderView>
#include <QInputDialog>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyledItemDelegate>
#include <QTabWidget>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>

namespace raftwc::gui {

// ---- painted views (read their model; no state of their own) --------------------------------------

/// A progress bar in a table cell, from ProgressRole.
class ProgressDelegate : public QStyledItemDelegate {
  public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* p, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        const QVariant v = index.data(ProgressRole);
        if (!v.isValid()) return QStyledItemDelegate::paint(p, option, index);
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 3, -2, -3);
        bar.minimum = 0;
        bar.maximum = 100;
        bar.progress = int(v.toDouble() * 100);
        bar.text = index.data().toString();
        bar.textVisible = true;
        bar.palette = option.palette;
        bar.state = option.state | QStyle::State_Horizontal;
        QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, p);
    }
};

/// The election timeline as bands, newest term on top: green when a leader was elected, amber when the
/// term ended without one; the text says who campaigned, the votes and how long the cluster had no leader.
class TimelineBands : public QWidget {
  public:
    TimelineBands(const TimelineModel& model, QWidget* parent) : QWidget(parent), model_(model) {
        setMinimumHeight(150);
        setAccessibleName(tr("Election timeline"));
    }

  protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        const int rows = std::min(model_.rowCount(), std::max(1, height() / 26));
        if (model_.rowCount() == 0) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter, tr("no election seen yet"));
            return;
        }
        for (int i = 0; i < rows; ++i) {
            const TermRow* t = model_.row(i);
            const QRect band(4, 4 + i * 26, width() - 8, 22);
            const bool won = !t->winner.isEmpty();
            QColor fill = won ? QColor(0x2e, 0x9d, 0x5a) : QColor(0xd9, 0x8b, 0x00);
            fill.setAlpha(i == 0 ? 90 : 45);
            p.setPen(Qt::NoPen);
            p.setBrush(fill);
            p.drawRoundedRect(band, 5, 5);
            int granted = 0, votes = 0;
            for (const VoteRow& v : t->votes)
                if (!v.preVote) {
                    ++votes;
                    granted += v.granted ? 1 : 0;
                }
            QString text = tr("term %1").arg(t->term);
            if (!t->campaigners.isEmpty())
                text += tr(" · campaign: %1").arg([&] {
                    QStringList s;
                    for (const QString& c : t->campaigners)
                        s << shortId(c);
                    return s.join(QStringLiteral(", "));
                }());
            if (votes) text += tr(" · votes %1 granted / %2 answered").arg(granted).arg(votes);
            text += won ? tr(" · leader %1").arg(shortId(t->winner)) : tr(" · no leader");
            if (t->leaderlessMs() >= 0)
                text += tr(" · elected %1 after a member noticed no leader").arg(humanMs(t->leaderlessMs()));
            p.setPen(palette().color(QPalette::WindowText));
            p.drawText(band.adjusted(8, 0, -8, 0), Qt::AlignVCenter | Qt::AlignLeft, text);
        }
    }

  private:
    const TimelineModel& model_;
};

/// The selected job's top words as horizontal bars.
class TopWordsChart : public QWidget {
  public:
    explicit TopWordsChart(QWidget* parent) : QWidget(parent) {
        setMinimumHeight(120);
        setAccessibleName(tr("Top words of the selected job"));
    }
    void show(const JobRow* job) {
        title_ = job ? (job->name.isEmpty() ? job->id : job->name) : QString();
        top_ = job ? job->top : std::vector<std::pair<QString, qint64>>{};
        update();
    }

  protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        if (top_.empty()) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect(), Qt::AlignCenter,
                       title_.isEmpty() ? tr("select a finished job to see its top words") : tr("no words"));
            return;
        }
        const int n = std::min<int>(int(top_.size()), 10);
        const int rowH = std::max(12, (height() - 20) / n);
        const qint64 max = std::max<qint64>(1, top_.front().second);
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(QRect(4, 0, width() - 8, 18), Qt::AlignLeft, tr("Top words: %1").arg(title_));
        const int labelW = 110;
        for (int i = 0; i < n; ++i) {
            const int y = 20 + i * rowH;
            p.setPen(palette().color(QPalette::WindowText));
            p.drawText(QRect(4, y, labelW - 8, rowH), Qt::AlignRight | Qt::AlignVCenter,
                       p.fontMetrics().elidedText(top_[std::size_t(i)].first, Qt::ElideRight, labelW - 8));
            const int w =
                int(double(width() - labelW - 70) * double(top_[std::size_t(i)].second) / double(max));
            p.fillRect(QRect(labelW, y + 2, std::max(2, w), rowH - 4), palette().color(QPalette::Highlight));
            p.drawText(QRect(labelW + w + 6, y, 64, rowH), Qt::AlignLeft | Qt::AlignVCenter,
                       QString::number(top_[std::size_t(i)].second));
        }
    }

  private:
    QString title_;
    std::vector<std::pair<QString, qint64>> top_;
};

// ---- the window -----------------------------------------------------------------------------------

namespace {
QTableView* makeTable(QAbstractItemModel* model, const QString& name, QWidget* parent) {
    auto* v = new QTableView(parent);
    v->setObjectName(name);
    v->setModel(model);
    v->setSelectionBehavior(QAbstractItemView::SelectRows);
    v->setSelectionMode(QAbstractItemView::SingleSelection);
    v->setAlternatingRowColors(true);
    v->verticalHeader()->hide();
    v->horizontalHeader()->setStretchLastSection(true);
    v->setTabKeyNavigation(false);  // Tab leaves the table: keyboard users move between widgets
    return v;
}
}  // namespace

MainWindow::MainWindow(ClusterFeed& feed, bool memberMode, QWidget* parent)
    : QMainWindow(parent),
      feed_(feed),
      memberMode_(memberMode),
      members_(feed.view()),
      timeline_(feed.view()),
      log_(feed.view()),
      jobs_(feed.view()) {
    setWindowTitle(memberMode ? tr("raftwc dashboard — member") : tr("raftwc dashboard — observer"));
    setAcceptDrops(true);
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    summary_ = new QLabel(central);
    summary_->setObjectName(QStringLiteral("summary"));
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont f = summary_->font();
    f.setPointSizeF(f.pointSizeF() * 1.2);
    f.setBold(true);
    summary_->setFont(f);
    layout->addWidget(summary_);

    auto* tabs = new QTabWidget(central);
    tabs->setObjectName(QStringLiteral("tabs"));
    membersView_ = makeTable(&members_, QStringLiteral("members"), tabs);
    tabs->addTab(membersView_, tr("&Members"));

    auto* elections = new QSplitter(Qt::Vertical, tabs);
    bands_ = new TimelineBands(timeline_, elections);
    timelineView_ = makeTable(&timeline_, QStringLiteral("timeline"), elections);
    elections->addWidget(bands_);
    elections->addWidget(timelineView_);
    tabs->addTab(elections, tr("&Elections"));

    auto* logPage = new QWidget(tabs);
    auto* logLayout = new QVBoxLayout(logPage);
    logSummary_ = new QLabel(logPage);
    logSummary_->setObjectName(QStringLiteral("logSummary"));
    logView_ = makeTable(&log_, QStringLiteral("log"), logPage);
    logLayout->addWidget(logSummary_);
    logLayout->addWidget(logView_);
    tabs->addTab(logPage, tr("&Log"));

    auto* jobsPage = new QSplitter(Qt::Vertical, tabs);
    jobsView_ = makeTable(&jobs_, QStringLiteral("jobs"), jobsPage);
    jobsView_->setItemDelegateForColumn(JobsModel::Progress, new ProgressDelegate(jobsView_));
    chart_ = new TopWordsChart(jobsPage);
    jobsPage->addWidget(jobsView_);
    jobsPage->addWidget(chart_);
    tabs->addTab(jobsPage, tr("&Jobs"));
    layout->addWidget(tabs);
    tabs_ = tabs;
    setCentralWidget(central);
    connect(jobsView_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& i) { chart_->show(jobs_.jobAt(i.row())); });

    auto* bar = addToolBar(tr("Actions"));
    bar->setObjectName(QStringLiteral("actions"));
    auto add = [&](const QString& text, const QKeySequence& key, auto slot) {
        QAction* a = bar->addAction(text);
        a->setShortcut(key);
        a->setToolTip(QStringLiteral("%1 (%2)").arg(QString(text).remove(QLatin1Char('&')), key.toString()));
        connect(a, &QAction::triggered, this, slot);
        return a;
    };
    add(tr("&Upload files…"), QKeySequence::Open, &MainWindow::chooseAndUpload);
    add(tr("&Transfer leadership"), QKeySequence(tr("Ctrl+T")), &MainWindow::transfer);
    add(tr("&Remove member…"), QKeySequence(tr("Ctrl+Del")), &MainWindow::removeSelected);
    add(tr("&Copy address"), QKeySequence(tr("Ctrl+Shift+C")), &MainWindow::copyAddress);
    add(tr("Open &page"), QKeySequence(tr("Ctrl+P")), &MainWindow::openPage);
    QAction* quit = new QAction(tr("&Quit"), this);
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);
    addAction(quit);

    connection_ = new QLabel(this);
    connection_->setObjectName(QStringLiteral("connection"));
    statusBar()->addWidget(connection_, 1);
    uploadBar_ = new QProgressBar(this);
    uploadBar_->setMaximumWidth(220);
    uploadBar_->hide();
    statusBar()->addPermanentWidget(uploadBar_);

    connect(&feed_, &ClusterFeed::changed, this, &MainWindow::refresh);
    connect(&feed_, &ClusterFeed::connectionChanged, this, &MainWindow::updateConnection);
    connect(&feed_, &ClusterFeed::uploadProgress, this,
            [this](const QString& name, qint64 sent, qint64 total) {
                uploadBar_->show();
                uploadBar_->setFormat(name + QStringLiteral(" %p%"));
                uploadBar_->setMaximum(total > 0 ? 1000 : 0);
                uploadBar_->setValue(total > 0 ? int(1000 * sent / total) : 0);
            });
    connect(&feed_, &ClusterFeed::uploadFinished, this,
            [this](const QString& name, bool ok, const QString& m) {
                uploadBar_->hide();
                showMessage(ok ? tr("%1 counted: %2").arg(name, m) : tr("%1 failed: %2").arg(name, m));
            });
    connect(&feed_, &ClusterFeed::actionFinished, this,
            [this](const QString& what, bool ok, const QString& m) {
                showMessage(ok ? tr("%1: done").arg(what) : tr("%1 failed: %2").arg(what, m));
            });
    // "leader for 12 s" moves with the clock.
    auto* tick = new QTimer(this);
    connect(tick, &QTimer::timeout, this, [this] { summary_->setText(summaryText()); });
    tick->start(1000);

    QSettings settings;
    resize(1100, 720);
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    refresh();
    updateConnection();
}

void MainWindow::showTab(const QString& name) {
    const QStringList names{QStringLiteral("members"), QStringLiteral("elections"), QStringLiteral("log"),
                            QStringLiteral("jobs")};
    if (names.contains(name)) tabs_->setCurrentIndex(int(names.indexOf(name)));
}

QString MainWindow::summaryText() const {
    const ClusterView& v = feed_.view();
    if (v.members().empty()) return tr("Waiting for a member to answer…");
    QString leader = v.leader().isEmpty() ? tr("no leader") : tr("leader %1").arg(shortId(v.leader()));
    if (!v.leader().isEmpty() && v.leaderSinceMs() > 0)
        leader += tr(" for %1").arg(humanMs(QDateTime::currentMSecsSinceEpoch() - v.leaderSinceMs()));
    return tr("term %1 · %2 · %3 of %4 voters alive (%5)")
        .arg(v.term())
        .arg(leader)
        .arg(v.aliveVoters())
        .arg(v.voters())
        .arg(v.hasQuorum() ? tr("quorum") : tr("NO QUORUM"));
}

void MainWindow::refresh() {
    const QString member = selectedMember();
    members_.refresh();
    timeline_.refresh();
    log_.refresh();
    const int jobRow = jobsView_->currentIndex().row();
    jobs_.refresh();
    if (jobRow >= 0 && jobRow < jobs_.rowCount()) jobsView_->selectRow(jobRow);
    for (int r = 0; r < members_.rowCount(); ++r)
        if (members_.index(r, 0).data(IdRole).toString() == member) membersView_->selectRow(r);
    summary_->setText(summaryText());
    logSummary_->setText(tr("commit index %1 · applied %2 · the newest %3 entries:")
                             .arg(feed_.view().commit())
                             .arg(feed_.view().applied())
                             .arg(feed_.view().entries().size()));
    bands_->update();
}

void MainWindow::updateConnection() {
    const QStringList live = feed_.connectedPeers();
    const QStringList all = feed_.peers();
    QString text = live.isEmpty() ? tr("not connected: trying %1").arg(all.join(QStringLiteral(", ")))
                                  : tr("connected to %1 of %2 members (%3)")
                                        .arg(live.size())
                                        .arg(all.size())
                                        .arg(live.join(QStringLiteral(", ")));
    if (memberMode_) text = tr("this window runs a member · ") + text;
    connection_->setText(text);
}

void MainWindow::showMessage(const QString& text) {
    statusBar()->showMessage(text, 8000);
}

QString MainWindow::selectedMember() const {
    const QModelIndex i = membersView_->currentIndex();
    return i.isValid() ? members_.index(i.row(), 0).data(IdRole).toString() : QString();
}

void MainWindow::uploadFiles(const QStringList& paths) {
    for (const QString& p : paths)
        feed_.upload(p);
}

void MainWindow::chooseAndUpload() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Files to count"));
    uploadFiles(files);
}

void MainWindow::transfer() {
    const QString to = selectedMember();
    emit transferRequested(to == feed_.view().leader() ? QString() : to);
    showMessage(to.isEmpty() || to == feed_.view().leader()
                    ? tr("asking the leader to hand over to the most up-to-date voter…")
                    : tr("asking the leader to hand over to %1…").arg(shortId(to)));
}

void MainWindow::removeSelected() {
    const QString id = selectedMember();
    if (id.isEmpty()) {
        showMessage(tr("select a member first"));
        return;
    }
    if (QMessageBox::question(
            this, tr("Remove member"),
            tr("Remove %1 from the cluster?\n\nIt stops being a member; a node that is still "
               "running must be started with a fresh data directory to join again.")
                .arg(id)) != QMessageBox::Yes)
        return;
    emit removeRequested(id);
}

void MainWindow::copyAddress() {
    const QModelIndex i = membersView_->currentIndex();
    if (!i.isValid()) return showMessage(tr("select a member first"));
    const QString http = members_.index(i.row(), MembersModel::Address).data().toString();
    QGuiApplication::clipboard()->setText(http);
    showMessage(tr("copied %1").arg(http));
}

void MainWindow::openPage() {
    const QModelIndex i = membersView_->currentIndex();
    const QString http =
        i.isValid() ? members_.index(i.row(), MembersModel::Address).data().toString() : feed_.actionPeer();
    if (http.isEmpty()) return showMessage(tr("no member to open"));
    QDesktopServices::openUrl(QUrl(QStringLiteral("http://%1/").arg(http)));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    QStringList paths;
    for (const QUrl& u : e->mimeData()->urls())
        if (u.isLocalFile()) paths << u.toLocalFile();
    uploadFiles(paths);
}

void MainWindow::closeEvent(QCloseEvent* e) {
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("cluster/peers"), feed_.peers());
    QMainWindow::closeEvent(e);
}

}  // namespace raftwc::gui
