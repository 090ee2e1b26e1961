// Node::Install: a snapshot from the leader being received (node_install.cpp). Private to the node.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "net/sha256.h"
#include "node/node.h"
#include "storage/blob_store.h"

namespace raftwc::node {

struct Node::Install {
    /// One blob or table the snapshot refers to and this node lacks.
    struct Item {
        std::uint8_t store = 0;  ///< 0: DIR/blobs, 1: DIR/tables
        std::string name;        ///< 32 raw bytes
        std::uint64_t size = 0;  ///< blobs: the file's size; tables: learnt from the first answer
    };
    std::uint64_t generation = 0;  ///< callbacks of an install replaced since are ignored
    raft::SnapshotMeta meta;
    raft::Message message;  ///< the newest Snapshot message for it: stepped into the core once all is here
    raft::NodeId source = raft::kNoNode;
    std::deque<Item> items;
    std::set<std::string> names;  ///< every blob and table the snapshot refers to (kept by the garbage sweep)

    // The item being fetched: requests [written, requested) are in flight, answers beyond `written` wait in
    // `early` (they may come back out of order).
    std::shared_ptr<storage::BlobStore> store;  ///< the writer's (kept alive as long as it is)
    std::shared_ptr<storage::BlobStore::Writer> writer;
    std::shared_ptr<net::Sha256> hash;  ///< fed by the write task
    std::deque<QByteArray> toWrite;     ///< whole answers, in order, waiting for the write task
    bool writing = false;               ///< a write task runs (one at a time: order)
    std::optional<std::uint64_t> total;
    std::uint64_t written = 0;
    std::uint64_t requested = 0;
    std::map<std::uint64_t, QByteArray> early;  ///< whole answers by offset
    int inflight = 0;
    std::uint64_t attempt = 0;  ///< bumped by a failure: answers to the requests before it are ignored
    int failures = 0;           ///< in a row
    int commits = 0;            ///< items fetched whole and being committed (off the loop)

    qint64 startedMs = 0;
    std::uint64_t bytes = 0;
    int blobsFetched = 0;
    int tablesFetched = 0;
    int resumed = 0;
};

}  // namespace raftwc::node
