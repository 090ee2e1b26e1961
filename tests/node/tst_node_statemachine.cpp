// StateMachine: applying committed entries (chunks, manifests, job results, membership changes).
#include <QCryptographicHash>
#include <QDateTime>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QtTest>
#include <tuple>

#include "node/commands.h"
#include "node/job_codecs.h"
#include "node/retention.h"
#include "node/statemachine.h"
#include "node/stored_table.h"
#include "raft/types.h"

using namespace raftwc::node;
using raftwc::raft::ConfChange;
using raftwc::raft::ConfChangeType;
using raftwc::raft::Entry;
using raftwc::raft::EntryType;

namespace {

/// Builds a log and applies it, keeping the entries for inspection.
struct Log {
    std::vector<Entry> entries;
    StateMachine sm;
    raftwc::raft::Term term = 1;

    raftwc::raft::Index append(EntryType type, const QByteArray& data) {
        Entry e{term, entries.size() + 1, type, data.toStdString()};
        entries.push_back(e);
        sm.apply(e);
        return e.index;
    }
    raftwc::raft::Index command(const Command& c) { return append(EntryType::Normal, encodeCommand(c)); }
    raftwc::raft::Index conf(ConfChangeType t, raftwc::raft::NodeId node, const QByteArray& context = {}) {
        return append(
            EntryType::ConfChange,
            QByteArray::fromStdString(raftwc::raft::encodeConfChange({t, node, context.toStdString()})));
    }
    /// The bytes of a stored file, read back from the log entries its chunk refs point at.
    QByteArray readBack(const StoredFile& f) const {
        QByteArray out;
        for (const ChunkRef& c : f.chunks) {
            const Entry& e = entries.at(c.index - 1);
            const QByteArray payload = QByteArray::fromStdString(e.data);
            const auto h = decodeChunkHeader(payload);
            if (!h || h->fileOffset != c.fileOffset || h->length != c.length || h->fileId != f.id)
                return "<bad ref>";
            out += payload.mid(qsizetype(kChunkHeaderBytes), c.length);
        }
        return out;
    }
};

QByteArray fileId(char c) {
    return QByteArray(kFileIdBytes, c);
}

FileManifest manifestFor(const QByteArray& id, const QByteArray& content, const QByteArray& job) {
    return FileManifest{id,
                        QStringLiteral("file-%1.txt").arg(QLatin1String(job)),
                        std::uint64_t(content.size()),
                        QCryptographicHash::hash(content, QCryptographicHash::Sha256),
                        job,
                        QByteArrayLiteral("00000000000000aa")};
}

QByteArray randomContent(QRandomGenerator& rng, int n) {
    QByteArray b(n, Qt::Uninitialized);
    for (int i = 0; i < n; ++i)
        b[i] = char('a' + rng.bounded(26));
    return b;
}

/// Cuts [0, size) into random chunk lengths (some possibly empty at the end never happen).
std::vector<std::pair<int, int>> randomCuts(QRandomGenerator& rng, int size) {
    std::vector<std::pair<int, int>> cuts;
    int off = 0;
    while (off < size) {
        const int n = std::min(size - off, 1 + rng.bounded(400));
        cuts.push_back({off, n});
        off += n;
    }
    return cuts;
}

bool notesMention(const QStringList& notes, const char* what) {
    for (const QString& n : notes)
        if (n.contains(QLatin1String(what))) return true;
    return false;
}

}  // namespace

class tst_NodeStateMachine : public QObject {
    Q_OBJECT
  private slots:
    void chunksThenManifestStoreAFile();
    void applyReportsWhatChanged();
    void interleavedFilesAndShuffledChunks();
    void duplicateChunksAreDeduplicated();
    void gapRejectsTheFile();
    void sizeMismatchRejectsTheFile();
    void manifestBeforeChunks();
    void chunksOfAnotherFileDoNotCount();
    void emptyFile();
    void duplicateManifestKeepsTheFile();
    void abandonedUploadIsReleased();
    void abandonedSetIsBounded();
    void jobResults();
    void jobTableInPieces();
    void jobResultWithBadJsonSkipped_data();
    void jobResultWithBadJsonSkipped();
    void membership();
    void malformedNormalPayloadSkipped();
    void appliedAndGapNotes();
    void deterministic();
    void deletions();
    void retentionPicksTheOldest();
    void snapshotRestoresTheSameState();
};

void tst_NodeStateMachine::chunksThenManifestStoreAFile() {
    QRandomGenerator rng(1);
    Log log;
    log.term = 3;
    const QByteArray content = randomContent(rng, 5000);
    std::vector<raftwc::raft::Index> idx;
    for (auto [off, n] : randomCuts(rng, int(content.size())))
        idx.push_back(log.command(FileChunk{fileId('A'), std::uint64_t(off), content.mid(off, n)}));
    QVERIFY(!log.sm.file(fileId('A')));  // not before the manifest
    log.term = 4;
    const auto mIdx = log.command(manifestFor(fileId('A'), content, "job-1"));
    QVERIFY(log.sm.takeNotes().isEmpty());
    const StoredFile* f = log.sm.file(fileId('A'));
    QVERIFY(f);
    QCOMPARE(f->id, fileId('A'));
    QCOMPARE(f->name, QStringLiteral("file-job-1.txt"));
    QCOMPARE(f->size, std::uint64_t(content.size()));
    QCOMPARE(f->sha256, QCryptographicHash::hash(content, QCryptographicHash::Sha256));
    QCOMPARE(f->jobId, QByteArrayLiteral("job-1"));
    QCOMPARE(f->coordinator, QByteArrayLiteral("00000000000000aa"));
    QCOMPARE(f->manifestIndex, mIdx);
    QCOMPARE(f->manifestTerm, 4u);
    QCOMPARE(f->chunks.size(), idx.size());
    std::uint64_t covered = 0;
    for (std::size_t i = 0; i < f->chunks.size(); ++i) {
        QCOMPARE(f->chunks[i].index, idx[i]);
        QCOMPARE(f->chunks[i].fileOffset, covered);
        covered += f->chunks[i].length;
    }
    QCOMPARE(covered, f->size);
    QCOMPARE(log.readBack(*f), content);
    QCOMPARE(log.sm.fileForJob("job-1"), f);
    QVERIFY(!log.sm.fileForJob("job-2"));
    QCOMPARE(log.sm.applied(), mIdx);
}

void tst_NodeStateMachine::interleavedFilesAndShuffledChunks() {
    QRandomGenerator rng(2);
    for (int round = 0; round < 50; ++round) {
        Log log;
        const int files = 1 + rng.bounded(4);
        std::vector<QByteArray> contents;
        std::vector<std::tuple<int, int, int>> pieces;  // file, offset, length
        for (int f = 0; f < files; ++f) {
            contents.push_back(randomContent(rng, rng.bounded(3000)));
            for (auto [off, n] : randomCuts(rng, int(contents.back().size())))
                pieces.push_back({f, off, n});
        }
        // Any commit order (chunks are proposed through a window, several uploads at once).
        for (std::size_t i = pieces.size(); i > 1; --i)
            std::swap(pieces[i - 1], pieces[std::size_t(rng.bounded(int(i)))]);
        for (auto [f, off, n] : pieces)
            log.command(FileChunk{fileId(char('A' + f)), std::uint64_t(off), contents[f].mid(off, n)});
        for (int f = 0; f < files; ++f)
            log.command(manifestFor(fileId(char('A' + f)), contents[f], QByteArray::number(f)));
        QVERIFY(log.sm.takeNotes().isEmpty());
        for (int f = 0; f < files; ++f) {
            const StoredFile* sf = log.sm.fileForJob(QByteArray::number(f));
            QVERIFY(sf);
            QCOMPARE(sf->id, fileId(char('A' + f)));
            for (std::size_t i = 1; i < sf->chunks.size(); ++i)
                QCOMPARE(sf->chunks[i].fileOffset, sf->chunks[i - 1].fileOffset + sf->chunks[i - 1].length);
            QCOMPARE(log.readBack(*sf), contents[f]);
        }
    }
}

void tst_NodeStateMachine::duplicateChunksAreDeduplicated() {
    QRandomGenerator rng(3);
    for (int round = 0; round < 30; ++round) {
        Log log;
        const QByteArray content = randomContent(rng, 1 + rng.bounded(4000));
        const auto cuts = randomCuts(rng, int(content.size()));
        std::map<int, raftwc::raft::Index> firstIndexAt;
        for (auto [off, n] : cuts) {
            const int copies = 1 + rng.bounded(3);  // re-proposed after a leader change
            for (int c = 0; c < copies; ++c) {
                const auto i = log.command(FileChunk{fileId('D'), std::uint64_t(off), content.mid(off, n)});
                firstIndexAt.emplace(off, i);
            }
        }
        log.command(manifestFor(fileId('D'), content, "dup"));
        QVERIFY(log.sm.takeNotes().isEmpty());
        const StoredFile* f = log.sm.file(fileId('D'));
        QVERIFY(f);
        QCOMPARE(f->chunks.size(), cuts.size());
        for (const ChunkRef& c : f->chunks)
            QCOMPARE(c.index, firstIndexAt.at(int(c.fileOffset)));  // the first copy is kept
        QCOMPARE(log.readBack(*f), content);
    }
}

void tst_NodeStateMachine::gapRejectsTheFile() {
    QRandomGenerator rng(4);
    const QByteArray content = randomContent(rng, 3000);
    const auto cuts = randomCuts(rng, int(content.size()));
    QVERIFY(cuts.size() >= 3);
    for (std::size_t missing = 0; missing < cuts.size(); ++missing) {
        Log log;
        for (std::size_t i = 0; i < cuts.size(); ++i)
            if (i != missing)
                log.command(FileChunk{fileId('G'), std::uint64_t(cuts[i].first),
                                      content.mid(cuts[i].first, cuts[i].second)});
        log.command(manifestFor(fileId('G'), content, "gap"));
        QVERIFY(!log.sm.file(fileId('G')));
        QVERIFY(!log.sm.fileForJob("gap"));
        const QStringList notes = log.sm.takeNotes();
        QCOMPARE(notes.size(), 1);
        QVERIFY2(notes[0].contains(QLatin1String("rejected")) &&
                     notes[0].contains(QString::fromLatin1(fileId('G').toHex())),
                 qPrintable(notes[0]));
        QVERIFY(log.sm.takeNotes().isEmpty());  // drained
    }
}

void tst_NodeStateMachine::sizeMismatchRejectsTheFile() {
    const QByteArray content("hello world, hello state machine");
    for (int delta : {-1, 1, -10, 1000}) {
        Log log;
        log.command(FileChunk{fileId('S'), 0, content.left(10)});
        log.command(FileChunk{fileId('S'), 10, content.mid(10)});
        FileManifest m = manifestFor(fileId('S'), content, "size");
        m.size = std::uint64_t(qint64(content.size()) + delta);
        log.command(m);
        QVERIFY2(!log.sm.file(fileId('S')), qPrintable(QString::number(delta)));
        QVERIFY(notesMention(log.sm.takeNotes(), "rejected"));
    }
}

void tst_NodeStateMachine::manifestBeforeChunks() {
    const QByteArray content("early manifest");
    Log log;
    log.command(manifestFor(fileId('M'), content, "early"));
    QVERIFY(!log.sm.file(fileId('M')));
    QVERIFY(notesMention(log.sm.takeNotes(), "rejected"));
    // The chunks arriving later are not attached to the rejected manifest...
    log.command(FileChunk{fileId('M'), 0, content});
    QVERIFY(!log.sm.file(fileId('M')));
    // ...but a manifest proposed again afterwards completes the file.
    const auto again = log.command(manifestFor(fileId('M'), content, "early"));
    const StoredFile* f = log.sm.file(fileId('M'));
    QVERIFY(f);
    QCOMPARE(f->manifestIndex, again);
    QCOMPARE(log.readBack(*f), content);
}

void tst_NodeStateMachine::chunksOfAnotherFileDoNotCount() {
    const QByteArray content("0123456789abcdefghij");
    Log log;
    log.command(FileChunk{fileId('X'), 0, content.left(10)});
    log.command(FileChunk{fileId('Y'), 10, content.mid(10)});  // right offset, wrong file
    log.command(manifestFor(fileId('X'), content, "x"));
    QVERIFY(!log.sm.file(fileId('X')));
    QVERIFY(notesMention(log.sm.takeNotes(), "cover 10 of 20"));
    // File Y is not made from X's chunk either.
    log.command(manifestFor(fileId('Y'), content.mid(10), "y"));  // claims 10 bytes, has [10, 20)
    QVERIFY(!log.sm.file(fileId('Y')));
}

void tst_NodeStateMachine::emptyFile() {
    Log log;
    log.command(manifestFor(fileId('E'), {}, "empty"));
    const StoredFile* f = log.sm.file(fileId('E'));
    QVERIFY(f);
    QCOMPARE(f->size, 0u);
    QVERIFY(f->chunks.empty());
    QVERIFY(log.sm.takeNotes().isEmpty());
}

void tst_NodeStateMachine::duplicateManifestKeepsTheFile() {
    const QByteArray content("twice committed manifest");
    Log log;
    log.command(FileChunk{fileId('T'), 0, content});
    const auto first = log.command(manifestFor(fileId('T'), content, "twice"));
    log.command(manifestFor(fileId('T'), content, "twice"));  // re-proposed after a timeout
    log.command(FileChunk{fileId('T'), 0, content});          // a late re-proposed chunk
    const StoredFile* f = log.sm.file(fileId('T'));
    QVERIFY(f);
    QCOMPARE(f->manifestIndex, first);
    QCOMPARE(log.readBack(*f), content);
    QCOMPARE(log.sm.fileForJob("twice"), f);
    // A repeat of a completed file's manifest or chunks is not a problem: no note (the chaos run saw
    // "chunks cover 0 of N bytes; file rejected" on every node for intact files), nothing left pending.
    QCOMPARE(log.sm.takeNotes(), QStringList());
    QCOMPARE(log.sm.pendingFiles(), std::size_t(0));
    // A different file under the same id cannot replace it.
    log.command(FileChunk{fileId('T'), 0, QByteArray("other")});
    log.command(manifestFor(fileId('T'), QByteArray("other"), "twice"));
    QCOMPARE(log.sm.file(fileId('T'))->manifestIndex, first);
    QCOMPARE(log.sm.takeNotes().size(), 1);
}

void tst_NodeStateMachine::abandonedUploadIsReleased() {
    // Issue 10 item 4: the chunks of an upload whose manifest never commits were kept for ever.
    const QByteArray content("an upload that never finished");
    Log log;
    log.command(FileChunk{fileId('Z'), 0, content.left(10)});
    log.command(FileChunk{fileId('K'), 0, QByteArray("kept")});
    QCOMPARE(log.sm.pendingFiles(), std::size_t(2));
    log.command(FileAbandoned{fileId('Z')});
    QCOMPARE(log.sm.pendingFiles(), std::size_t(1));           // only the abandoned one is released
    log.command(FileChunk{fileId('Z'), 10, content.mid(10)});  // a late chunk of it is ignored
    QCOMPARE(log.sm.pendingFiles(), std::size_t(1));
    log.command(manifestFor(fileId('Z'), content, "late"));  // and it can no longer complete
    QVERIFY(!log.sm.file(fileId('Z')));
    // Abandoning a stored file changes nothing.
    log.command(manifestFor(fileId('K'), QByteArray("kept"), "kept"));
    QVERIFY(log.sm.file(fileId('K')));
    log.command(FileAbandoned{fileId('K')});
    QVERIFY(log.sm.file(fileId('K')));
    QCOMPARE(log.readBack(*log.sm.file(fileId('K'))), QByteArray("kept"));
    QCOMPARE(log.sm.pendingFiles(), std::size_t(0));
}

void tst_NodeStateMachine::abandonedSetIsBounded() {
    // Every deleted or abandoned upload is remembered (its late chunks are ignored), but not for ever: the
    // state, and every snapshot of it, stays bounded under an endless stream of uploads.
    Log log;
    auto id = [](int k) { return QByteArray::number(k).rightJustified(kFileIdBytes, '0'); };
    for (int k = 0; k < 5000; ++k)
        log.command(FileAbandoned{id(k)});
    const qsizetype after5000 = log.sm.snapshot().size();
    for (int k = 5000; k < 20000; ++k)
        log.command(FileAbandoned{id(k)});
    QCOMPARE(log.sm.snapshot().size(), after5000);
    // The newest are still remembered: a late chunk of one is ignored.
    log.command(FileChunk{id(19999), 0, QByteArray("late")});
    QCOMPARE(log.sm.pendingFiles(), std::size_t(0));
}

void tst_NodeStateMachine::jobResults() {
    Log log;
    QVERIFY(log.sm.jobs().empty());
    QVERIFY(!log.sm.job("a"));
    std::vector<QByteArray> ids{"job-a", "job-b", "job-c", "job-d"};
    std::map<QByteArray, raftwc::raft::Index> at;
    for (const QByteArray& id : ids) {
        const QJsonObject o{{QStringLiteral("id"), QString::fromLatin1(id)}, {QStringLiteral("words"), 42}};
        at[id] = log.command(JobResult{id, QJsonDocument(o).toJson(QJsonDocument::Compact), "table-" + id});
        log.command(FileChunk{fileId('Z'), 0, "noise"});  // other entries in between
    }
    const auto list = log.sm.jobs();
    QCOMPARE(list.size(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {  // newest first
        const QByteArray& id = ids[ids.size() - 1 - i];
        QCOMPARE(list[i]->jobId, id);
        QCOMPARE(list[i]->index, at[id]);
        QCOMPARE(
            log.entries.at(list[i]->index - 1).data,
            encodeCommand(JobResult{id,
                                    QJsonDocument(QJsonObject{{QStringLiteral("id"), QString::fromLatin1(id)},
                                                              {QStringLiteral("words"), 42}})
                                        .toJson(QJsonDocument::Compact),
                                    "table-" + id})
                .toStdString());
        QCOMPARE(list[i]->result.value(QStringLiteral("id")).toString(), QString::fromLatin1(id));
        QCOMPARE(log.sm.job(id), list[i]);
    }
    // The same job committed twice (a retried proposal) stays one job, in its first place.
    log.command(JobResult{"job-b", QByteArrayLiteral("{\"id\":\"job-b\",\"again\":true}"), "t2"});
    QCOMPARE(log.sm.jobs().size(), ids.size());
    QVERIFY(log.sm.job("job-b"));
    QCOMPARE(log.sm.jobs()[0]->jobId, QByteArrayLiteral("job-d"));
    QVERIFY(log.sm.takeNotes().isEmpty());
}

void tst_NodeStateMachine::jobTableInPieces() {
    // A table of 60,000 distinct words of 20 random letters (about 1.3 MB) with a 64 KiB budget per piece:
    // many pieces, each within the budget, read back from the log page by page, equal to the original.
    QRandomGenerator rng(41);
    std::vector<raftwc::wordcount::WordCount> sorted;
    for (int i = 0; i < 60000; ++i)
        sorted.push_back({randomContent(rng, 20).toStdString(), std::uint64_t(60000 - i)});
    std::vector<std::size_t> counts;
    const std::vector<QByteArray> pieces = encodeWordTablePieces(sorted, 64 << 10, &counts);
    QVERIFY(pieces.size() >= 10);
    std::size_t sum = 0;
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        QVERIFY(std::size_t(pieces[k].size()) <= (64u << 10));
        QCOMPARE(decodeWordTable(pieces[k])->size(), counts[k]);
        sum += counts[k];
    }
    QCOMPARE(sum, sorted.size());

    Log log;
    const auto resultJson = [&](const QByteArray& id) {
        return QJsonDocument(QJsonObject{{QStringLiteral("id"), QString::fromLatin1(id)},
                                         {QStringLiteral("tableWords"), qint64(sorted.size())},
                                         {QStringLiteral("tableComplete"), true},
                                         {QStringLiteral("tablePieces"), qint64(pieces.size())}})
            .toJson(QJsonDocument::Compact);
    };
    // A first attempt commits some pieces with a stale first piece, then fails; the retry commits them all.
    log.command(JobTablePiece{"job-p", 1, 1, encodeWordTablePieces({{"stale", 1}}, 1 << 20, &counts)[0]});
    for (std::size_t k = 1; k < pieces.size(); ++k) {
        log.command(JobTablePiece{"job-p", std::uint32_t(k), decodeWordTable(pieces[k])->size(), pieces[k]});
        log.command(FileChunk{fileId('Z'), 0, "noise"});
    }
    const auto resultAt = log.command(JobResult{"job-p", resultJson("job-p"), pieces[0]});
    const StoredJob* j = log.sm.job("job-p");
    QVERIFY(j);
    QVERIFY(j->tableComplete);
    QCOMPARE(j->pieces.size(), pieces.size() - 1);
    for (const TablePieceRef& ref : j->pieces)
        QVERIFY(ref.index < resultAt);
    const PayloadReader read = [&log](raftwc::raft::Index i) -> std::optional<QByteArray> {
        if (i == 0 || i > log.entries.size()) return std::nullopt;
        return QByteArray::fromStdString(log.entries[i - 1].data);
    };
    TablePieceCache cache;
    std::vector<raftwc::wordcount::WordCount> back;
    for (std::size_t off = 0;; off += 7777) {  // pages that straddle piece boundaries
        const StoredWordsPage page = storedWordsPage(*j, off, 7777, read, &cache);
        QVERIFY2(page.error.isEmpty(), qPrintable(page.error));
        QCOMPARE(page.stored, std::uint64_t(sorted.size()));
        if (page.words.empty()) break;
        back.insert(back.end(), page.words.begin(), page.words.end());
    }
    QVERIFY(back == sorted);
    // A page past the end is empty; a damaged piece is an error, not a crash.
    QVERIFY(storedWordsPage(*j, sorted.size() + 5, 10, read).words.empty());
    const PayloadReader broken = [](raftwc::raft::Index) -> std::optional<QByteArray> {
        return QByteArray("junk");
    };
    QVERIFY(!storedWordsPage(*j, sorted.size() - 1, 10, broken).error.isEmpty());
    QVERIFY(log.sm.takeNotes().isEmpty());

    // A result whose pieces never committed: what it has (piece 0) is shown, marked incomplete, with a note.
    log.command(JobResult{"job-q", resultJson("job-q"), pieces[0]});
    QVERIFY(!log.sm.job("job-q")->tableComplete);
    QVERIFY(notesMention(log.sm.takeNotes(), "missing"));
    const StoredWordsPage q = storedWordsPage(*log.sm.job("job-q"), 0, SIZE_MAX, read);
    QVERIFY(q.error.isEmpty());
    QCOMPARE(q.words.size(), counts.empty() ? 0 : decodeWordTable(pieces[0])->size());
}

void tst_NodeStateMachine::jobResultWithBadJsonSkipped_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("truncated") << QByteArrayLiteral("{\"words\": 1");
    QTest::newRow("array") << QByteArrayLiteral("[1,2,3]");
    QTest::newRow("number") << QByteArrayLiteral("42");
    QTest::newRow("garbage") << QByteArrayLiteral("\xff\xfe not json");
}

void tst_NodeStateMachine::jobResultWithBadJsonSkipped() {
    QFETCH(QByteArray, json);
    Log log;
    log.command(JobResult{"good", QByteArrayLiteral("{}"), {}});
    const auto bad = log.command(JobResult{"bad", json, "t"});
    QVERIFY(!log.sm.job("bad"));
    QCOMPARE(log.sm.jobs().size(), 1u);
    QCOMPARE(log.sm.applied(), bad);
    const QStringList notes = log.sm.takeNotes();
    QCOMPARE(notes.size(), 1);
    QVERIFY2(notes[0].contains(QLatin1String("bad JSON")), qPrintable(notes[0]));
}

void tst_NodeStateMachine::applyReportsWhatChanged() {
    // apply() decodes each entry once and says what changed, for the node's side effects.
    StateMachine sm;
    const MemberAddress a{QStringLiteral("10.0.0.1:7000"), QStringLiteral("10.0.0.1:3000")};
    Applied r = sm.apply(Entry{1, 1, EntryType::ConfChange,
                               raftwc::raft::encodeConfChange(
                                   {ConfChangeType::AddLearner, 2, encodeMemberAddress(a).toStdString()})});
    QVERIFY(r.confChange && r.confChange->type == ConfChangeType::AddLearner && r.confChange->node == 2);
    QVERIFY(r.address && r.address->first == 2 && r.address->second == a);
    const MemberAddress b{QStringLiteral("10.0.0.2:7000"), QStringLiteral("10.0.0.2:3000")};
    r = sm.apply(Entry{1, 2, EntryType::Normal, encodeCommand(MemberAddressUpdate{3, b}).toStdString()});
    QVERIFY(!r.confChange && r.address && r.address->first == 3 && r.address->second == b);
    const QByteArray content("one two three");
    r = sm.apply(
        Entry{1, 3, EntryType::Normal, encodeCommand(FileChunk{fileId('f'), 0, content}).toStdString()});
    QVERIFY(!r.fileStored && !r.address && !r.confChange);
    r = sm.apply(
        Entry{1, 4, EntryType::Normal,
              encodeCommand(manifestFor(fileId('f'), content, QByteArrayLiteral("job-a"))).toStdString()});
    QVERIFY(r.fileStored && !r.jobResult);
    r = sm.apply(Entry{1, 5, EntryType::NoOp, {}});
    QVERIFY(!r.fileStored && !r.jobResult && !r.confChange && !r.address);
}

void tst_NodeStateMachine::membership() {
    Log log;
    const MemberAddress a{QStringLiteral("10.0.0.1:7000"), QStringLiteral("10.0.0.1:3000")};
    const MemberAddress b{QStringLiteral("[fd00::2]:7000"), QStringLiteral("[fd00::2]:3000")};
    log.conf(ConfChangeType::AddVoter, 1);  // bootstrap: no context
    QVERIFY(log.sm.memberAddresses().empty());
    log.conf(ConfChangeType::AddLearner, 2, encodeMemberAddress(a));
    log.conf(ConfChangeType::AddLearner, 3, encodeMemberAddress(b));
    QCOMPARE(log.sm.memberAddresses().size(), 2u);
    QCOMPARE(log.sm.memberAddresses().at(2), a);
    QCOMPARE(log.sm.memberAddresses().at(3), b);
    log.conf(ConfChangeType::PromoteLearner, 2);  // no context: addresses unchanged
    QCOMPARE(log.sm.memberAddresses().at(2), a);
    // A member that rejoins with new addresses replaces the old ones.
    const MemberAddress a2{QStringLiteral("10.0.0.9:7001"), QStringLiteral("10.0.0.9:3001")};
    log.conf(ConfChangeType::AddLearner, 2, encodeMemberAddress(a2));
    QCOMPARE(log.sm.memberAddresses().at(2), a2);
    log.conf(ConfChangeType::RemoveNode, 2);
    QCOMPARE(log.sm.memberAddresses().count(2), 0u);
    QCOMPARE(log.sm.memberAddresses().size(), 1u);
    // The MemberAddress command records (or moves) a member's addresses: the bootstrap node has no
    // AddLearner context, and a node may come back on another address.
    const MemberAddress boot{QStringLiteral("10.0.0.5:7000"), QStringLiteral("10.0.0.5:3000")};
    log.command(MemberAddressUpdate{1, boot});
    QCOMPARE(log.sm.memberAddresses().at(1), boot);
    const MemberAddress moved{QStringLiteral("10.0.0.6:7000"), QStringLiteral("10.0.0.6:3000")};
    log.command(MemberAddressUpdate{1, moved});
    QCOMPARE(log.sm.memberAddresses().at(1), moved);
    QCOMPARE(log.sm.memberAddresses().size(), 2u);
    log.conf(ConfChangeType::RemoveNode, 1);
    QCOMPARE(log.sm.memberAddresses().count(1), 0u);
    log.conf(ConfChangeType::RemoveNode, 99);  // unknown: nothing happens
    QCOMPARE(log.sm.memberAddresses().size(), 1u);
    // A malformed context or change is ignored, not fatal.
    log.conf(ConfChangeType::AddLearner, 4, QByteArrayLiteral("\x01garbage"));
    QCOMPARE(log.sm.memberAddresses().count(4), 0u);
    const auto last = log.append(EntryType::ConfChange, QByteArrayLiteral("not a conf change"));
    QCOMPARE(log.sm.applied(), last);
    QCOMPARE(log.sm.memberAddresses().size(), 1u);
    QVERIFY(log.sm.jobs().empty());
}

void tst_NodeStateMachine::malformedNormalPayloadSkipped() {
    QRandomGenerator rng(5);
    Log log;
    const QByteArray content("still fine");
    log.command(FileChunk{fileId('F'), 0, content});
    QByteArray truncated = encodeCommand(FileChunk{fileId('F'), 10, "more"});
    truncated.chop(1);
    const QByteArray bad[] = {QByteArrayLiteral("\x09\x01"), QByteArrayLiteral("\x01\x07zzz"), truncated,
                              QByteArrayLiteral("\x01")};
    for (const QByteArray& b : bad) {
        const auto i = log.append(EntryType::Normal, b);
        QCOMPARE(log.sm.applied(), i);
        const QStringList notes = log.sm.takeNotes();
        QCOMPARE(notes.size(), 1);
        QVERIFY2(notes[0].contains(QLatin1String("skipped")) && notes[0].contains(QString::number(i)),
                 qPrintable(notes[0]));
    }
    for (int i = 0; i < 200; ++i) {  // random garbage never disturbs the state
        QByteArray g(rng.bounded(64), Qt::Uninitialized);
        for (auto& c : g)
            c = char(rng.bounded(256));
        log.append(EntryType::Normal, g);
    }
    log.sm.takeNotes();
    log.command(manifestFor(fileId('F'), content, "ok"));  // the truncated chunk was not taken
    const StoredFile* f = log.sm.file(fileId('F'));
    QVERIFY(f);
    QCOMPARE(log.readBack(*f), content);
    // Empty Normal and NoOp entries are fine and silent.
    log.append(EntryType::Normal, {});
    log.append(EntryType::NoOp, {});
    QVERIFY(log.sm.takeNotes().isEmpty());
    QCOMPARE(log.sm.applied(), log.entries.size());
}

void tst_NodeStateMachine::appliedAndGapNotes() {
    StateMachine sm;
    QCOMPARE(sm.applied(), 0u);
    sm.apply(Entry{1, 5, EntryType::NoOp, {}});  // the first entry after a snapshot/compaction
    QCOMPARE(sm.applied(), 5u);
    QVERIFY(sm.takeNotes().isEmpty());
    sm.apply(Entry{1, 6, EntryType::NoOp, {}});
    QVERIFY(sm.takeNotes().isEmpty());
    sm.apply(Entry{1, 9, EntryType::NoOp, {}});
    QCOMPARE(sm.applied(), 9u);
    QVERIFY(notesMention(sm.takeNotes(), "gap"));
}

void tst_NodeStateMachine::deterministic() {
    // Two replicas applying the same committed entries end in the same state.
    QRandomGenerator rng(6);
    Log a;
    for (int f = 0; f < 5; ++f) {
        const QByteArray content = randomContent(rng, rng.bounded(2000));
        for (auto [off, n] : randomCuts(rng, int(content.size())))
            a.command(FileChunk{fileId(char('a' + f)), std::uint64_t(off), content.mid(off, n)});
        a.command(manifestFor(fileId(char('a' + f)), content, QByteArray::number(f)));
        a.command(
            JobResult{QByteArray::number(f), QByteArrayLiteral("{\"n\":") + QByteArray::number(f) + '}', {}});
        a.conf(ConfChangeType::AddLearner, raftwc::raft::NodeId(f + 10),
               encodeMemberAddress({QStringLiteral("h%1:1").arg(f), QStringLiteral("h%1:2").arg(f)}));
    }
    StateMachine b;
    for (const Entry& e : a.entries)
        b.apply(e);
    QCOMPARE(b.applied(), a.sm.applied());
    QCOMPARE(b.memberAddresses(), a.sm.memberAddresses());
    QCOMPARE(b.jobs().size(), a.sm.jobs().size());
    for (std::size_t i = 0; i < b.jobs().size(); ++i) {
        QCOMPARE(b.jobs()[i]->jobId, a.sm.jobs()[i]->jobId);
        QCOMPARE(b.jobs()[i]->result, a.sm.jobs()[i]->result);
    }
    for (int f = 0; f < 5; ++f) {
        const StoredFile* x = a.sm.file(fileId(char('a' + f)));
        const StoredFile* y = b.file(fileId(char('a' + f)));
        QVERIFY(x && y);
        QCOMPARE(y->size, x->size);
        QCOMPARE(y->chunks.size(), x->chunks.size());
        for (std::size_t i = 0; i < x->chunks.size(); ++i) {
            QCOMPARE(y->chunks[i].index, x->chunks[i].index);
            QCOMPARE(y->chunks[i].fileOffset, x->chunks[i].fileOffset);
            QCOMPARE(y->chunks[i].length, x->chunks[i].length);
        }
    }
}

void tst_NodeStateMachine::deletions() {
    // DELETE /api/jobs/{id} and /api/files/{sha256} (and retention) go through the log: a job's deletion
    // drops its result and the file uploaded for it; a file's deletion drops every file with that content.
    // What no file holds any more is reported, so the node drops the blob.
    Log log;
    const QByteArray x = "the same bytes twice", y = "other bytes";
    const QByteArray shaX = QCryptographicHash::hash(x, QCryptographicHash::Sha256);
    const QByteArray shaY = QCryptographicHash::hash(y, QCryptographicHash::Sha256);
    const std::vector<std::tuple<char, QByteArray, QByteArray>> uploads{
        {'A', x, "job-1"}, {'B', x, "job-2"}, {'C', y, "job-3"}};
    for (const auto& [c, content, job] : uploads) {
        log.command(FileChunk{fileId(c), 0, content});
        log.command(manifestFor(fileId(c), content, job));
        log.command(JobResult{job, "{\"id\":\"" + job + "\"}", "t"});
    }
    QCOMPARE(log.sm.jobs().size(), std::size_t(3));
    QVERIFY(log.sm.hasContent(shaX) && log.sm.hasContent(shaY));
    auto apply = [&](const Command& c) {
        Entry e{1, log.entries.size() + 1, EntryType::Normal, encodeCommand(c).toStdString()};
        log.entries.push_back(e);
        return log.sm.apply(e);
    };
    Applied a = apply(JobDeleted{"job-1"});
    QVERIFY(a.deleted);
    QVERIFY(a.unreferencedSha256.empty());  // file B has the same content
    QVERIFY(!log.sm.job("job-1") && !log.sm.fileForJob("job-1") && !log.sm.file(fileId('A')));
    QVERIFY(log.sm.file(fileId('B')) && log.sm.hasContent(shaX));
    QCOMPARE(log.sm.jobs().size(), std::size_t(2));
    a = apply(JobDeleted{"job-2"});
    QCOMPARE(a.unreferencedSha256, std::vector<QByteArray>{shaX});
    QVERIFY(!log.sm.hasContent(shaX));
    a = apply(JobDeleted{"job-2"});  // again (a retried proposal): nothing
    QVERIFY(!a.deleted && a.unreferencedSha256.empty());
    a = apply(FileDeleted{shaY});
    QCOMPARE(a.unreferencedSha256, std::vector<QByteArray>{shaY});
    QVERIFY(!log.sm.file(fileId('C')) && !log.sm.fileForJob("job-3"));
    QVERIFY(log.sm.job("job-3"));  // a result outlives its file
    a = apply(FileDeleted{shaY});
    QVERIFY(!a.deleted && a.unreferencedSha256.empty());
    // A late chunk of a deleted file is not a new upload.
    apply(FileChunk{fileId('A'), 0, x});
    QCOMPARE(log.sm.pendingFiles(), std::size_t(0));
    QVERIFY(log.sm.takeNotes().isEmpty());
    // Commands round-trip; malformed ones are refused.
    QVERIFY(std::get<JobDeleted>(*decodeCommand(encodeCommand(JobDeleted{"job-9"}))).jobId == "job-9");
    QVERIFY(std::get<FileDeleted>(*decodeCommand(encodeCommand(FileDeleted{shaX}))).sha256 == shaX);
    QVERIFY(!decodeCommand(encodeCommand(FileDeleted{"short"})));
    QVERIFY(!decodeCommand(encodeCommand(JobDeleted{""})));
}

void tst_NodeStateMachine::retentionPicksTheOldest() {
    // Jobs j0 (oldest) .. j5 (newest), files of 100 * (k + 1) bytes, created an hour apart.
    Log log;
    const qint64 now = QDateTime(QDate(2026, 12, 4), QTime(12, 0), Qt::UTC).toMSecsSinceEpoch();
    for (int k = 0; k < 6; ++k) {
        const QByteArray job = "j" + QByteArray::number(k);
        const QByteArray content(100 * (k + 1), char('a' + k));
        log.command(FileChunk{fileId(char('A' + k)), 0, content});
        log.command(manifestFor(fileId(char('A' + k)), content, job));
        const QString created =
            QDateTime::fromMSecsSinceEpoch(now - (6 - k) * 3600 * 1000, Qt::UTC).toString(Qt::ISODateWithMs);
        log.command(JobResult{job,
                              QJsonDocument(QJsonObject{{QStringLiteral("id"), QString::fromLatin1(job)},
                                                        {QStringLiteral("createdAt"), created}})
                                  .toJson(QJsonDocument::Compact),
                              "t"});
    }
    using V = std::vector<QByteArray>;
    QCOMPARE(expiredJobs(log.sm, {}, now), V{});                                    // no limits
    QCOMPARE(expiredJobs(log.sm, {4, 0, 0}, now), (V{"j0", "j1"}));                 // the 4 newest stay
    QCOMPARE(expiredJobs(log.sm, {0, 1100, 0}, now), (V{"j0", "j1", "j2", "j3"}));  // 600 + 500 bytes stay
    QCOMPARE(expiredJobs(log.sm, {0, 0, 3 * 3600 * 1000 + 1}, now), (V{"j0", "j1", "j2"}));     // > 3 h old
    QCOMPARE(expiredJobs(log.sm, {5, 1500, 4 * 3600 * 1000 + 1}, now), (V{"j0", "j1", "j2"}));  // all three
    QCOMPARE(expiredJobs(log.sm, {0, 10, 0}, now), (V{"j0", "j1", "j2", "j3", "j4"}));  // the newest stays
    QCOMPARE(expiredJobs(log.sm, {1, 0, 0}, now), (V{"j0", "j1", "j2", "j3", "j4"}));
}

void tst_NodeStateMachine::snapshotRestoresTheSameState() {
    // Issue 13: the state as a snapshot at any applied index, restored and then fed the rest of the log,
    // ends exactly where applying the whole log ends (equal snapshot bytes); any damage is refused.
    QRandomGenerator rng(1313);
    for (int round = 0; round < 20; ++round) {
        Log a;
        std::vector<QByteArray> jobsDone;
        for (int step = 0; step < 40; ++step) {
            const char f = char('a' + rng.bounded(20));
            const QByteArray job = "job-" + QByteArray(1, f);
            switch (rng.bounded(7)) {
                case 0:
                case 1: {  // a whole upload, sometimes left without its manifest
                    const QByteArray content = randomContent(rng, rng.bounded(1, 900));
                    for (auto [off, n] : randomCuts(rng, int(content.size())))
                        a.command(FileChunk{fileId(f), std::uint64_t(off), content.mid(off, n)});
                    if (rng.bounded(4)) a.command(manifestFor(fileId(f), content, job));
                    break;
                }
                case 2:  // a result with its table in pieces, sometimes pieces only
                    a.command(JobTablePiece{job, 1, 3, "piece"});
                    if (rng.bounded(3)) {
                        a.command(JobResult{job, "{\"id\":\"" + job + "\"}", "t0"});
                        jobsDone.push_back(job);
                    }
                    break;
                case 3:
                    a.command(FileAbandoned{fileId(f)});
                    break;
                case 4:
                    if (!jobsDone.empty()) a.command(JobDeleted{jobsDone[rng.bounded(int(jobsDone.size()))]});
                    break;
                case 5:
                    a.command(MemberAddressUpdate{raftwc::raft::NodeId(1 + rng.bounded(5)),
                                                  {QStringLiteral("h:%1").arg(step), QStringLiteral("w")}});
                    break;
                case 6:
                    a.command(FileDeleted{
                        QCryptographicHash::hash(randomContent(rng, 1), QCryptographicHash::Sha256)});
                    break;
            }
        }
        const QByteArray whole = a.sm.snapshot();
        QCOMPARE(StateMachine::restore(whole)->snapshot(), whole);
        for (int k = 0; k <= 3; ++k) {
            const std::size_t cut = std::size_t(rng.bounded(int(a.entries.size()) + 1));
            StateMachine x;
            for (std::size_t i = 0; i < cut; ++i)
                x.apply(a.entries[i]);
            QString why;
            std::optional<StateMachine> y = StateMachine::restore(x.snapshot(), &why);
            QVERIFY2(y, qPrintable(why));
            QCOMPARE(y->applied(), x.applied());
            for (std::size_t i = cut; i < a.entries.size(); ++i)
                y->apply(a.entries[i]);
            QVERIFY2(y->snapshot() == whole,
                     qPrintable(QStringLiteral("round %1, cut at %2").arg(round).arg(cut)));
            QCOMPARE(y->jobs().size(), a.sm.jobs().size());
        }
        for (qsizetype n = 0; n < whole.size(); n += 1 + whole.size() / 50)
            QVERIFY(!StateMachine::restore(whole.left(n)));
        QVERIFY(!StateMachine::restore(whole + 'x'));
        QByteArray v2 = whole;
        v2[0] = 2;
        QVERIFY(!StateMachine::restore(v2));
    }
}

QTEST_GUILESS_MAIN(tst_NodeStateMachine)
#include "tst_node_statemachine.moc"
