// NodeApi: the node's answers to the HTTP API (http::ApiBackend). Reads status values and the replicated
// state machine; starts jobs through the coordinator.
#pragma once

#include <QByteArray>
#include <memory>
#include <optional>

#include "http/api.h"
#include "node/stored_table.h"
#include "wordcount/wordcount.h"

namespace raftwc::node {

class Node;
struct JobOutcome;

/// The one place a job's outcome becomes HTTP: 200 with the result, 503 + Retry-After (try again), 409
/// (duplicate id), 500 (internal).
http::ApiReply apiReply(const JobOutcome& outcome);

class NodeApi final : public http::ApiBackend {
  public:
    explicit NodeApi(Node& node) : node_(node) {}

    void count(http::Upload upload, std::function<void(http::ApiReply)> done) override;
    std::unique_ptr<http::UploadSink> beginUpload(http::UploadMeta meta,
                                                  std::function<void(http::ApiReply)> done) override;
    http::ApiReply cluster() override;
    http::ApiReply health() override;
    http::ApiReply ready() override;
    QByteArray metrics() override;
    http::ApiReply jobs(qsizetype limit, const QString& after) override;
    http::ApiReply job(const QString& id) override;
    http::ApiReply jobWords(const QString& id, qsizetype limit, qsizetype offset,
                            const QString& mode) override;
    std::shared_ptr<void> openEvents(const http::EventsQuery& query,
                                     std::shared_ptr<http::StreamWriter> out) override;
    void events(const http::EventsQuery& query, std::function<void(http::ApiReply)> done) override;
    void removeMember(const QString& id, const QByteArray& authorization,
                      std::function<void(http::ApiReply)> done) override;
    void transferLeadership(const QString& to, const QByteArray& authorization,
                            std::function<void(http::ApiReply)> done) override;
    void deleteJob(const QString& id, const QByteArray& authorization,
                   std::function<void(http::ApiReply)> done) override;
    void deleteFile(const QString& sha256Hex, const QByteArray& authorization,
                    std::function<void(http::ApiReply)> done) override;
    void compact(const QByteArray& authorization, std::function<void(http::ApiReply)> done) override;

  private:
    /// A 507 answer if this node's disk cannot take a file of `bytes` (unknown: < 0) now.
    std::optional<http::ApiReply> noRoomFor(qint64 bytes) const;
    /// Membership operations need "Authorization: Bearer <cluster key>" when the node has a key.
    std::optional<http::ApiReply> denied(const QByteArray& authorization) const;
    Node& node_;
    // The last decoded pieces of frequency tables (paging through a job's words decodes each piece once).
    TablePieceCache tableCache_;
};

}  // namespace raftwc::node
