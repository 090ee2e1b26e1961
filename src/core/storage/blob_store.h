// BlobStore: DIR/blobs/<64 hex digits> — content-addressed file contents (docs/STORAGE.md, "Blobs"). A stored
// file's bytes move out of the log into a blob named by their SHA-256, so a file uploaded twice is stored
// once and the log prefix holding its chunks can later be compacted away. A blob is written as
// blobs/<hex>.tmp, synced, renamed into place and the directory synced: after a crash it is whole or absent
// (a *.tmp left behind is removed at open). The caller hashes the bytes and commits only when they match the
// name.
//
// Thread-safe: the node assembles blobs on worker threads while its loop asks has().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file_ops.h"
#include "storage/status.h"

namespace raftwc::storage {

class BlobStore {
  public:
    /// Opens (creating) DIR/`sub`, removes unfinished *.tmp files and lists the blobs present. (The node
    /// keeps stored files in DIR/blobs and finished jobs' tables in DIR/tables, named by the SHA-256 of the
    /// job id.)
    static Result<std::unique_ptr<BlobStore>> open(std::shared_ptr<FileOps> ops, const std::string& dir,
                                                   const std::string& sub = "blobs");

    /// A blob being written; commit() makes it visible, destroying it first removes it.
    class Writer {
      public:
        ~Writer();
        Writer(const Writer&) = delete;
        Writer& operator=(const Writer&) = delete;
        Status append(const char* data, std::size_t n);
        /// fsync, rename into place, fsync the directory.
        Status commit();
        std::uint64_t written() const { return written_; }

      private:
        friend class BlobStore;
        Writer(BlobStore& store, std::string digest, int fd, std::string tmp)
            : store_(store), digest_(std::move(digest)), fd_(fd), tmp_(std::move(tmp)) {}
        BlobStore& store_;
        std::string digest_;
        int fd_ = -1;
        std::string tmp_;
        std::uint64_t written_ = 0;
        bool committed_ = false;
    };

    /// Starts writing the blob named `digest` (32 raw bytes). Two writers of one digest at once are the
    /// caller's to avoid (the node assembles one file at a time).
    Result<std::unique_ptr<Writer>> create(std::string_view digest);
    bool has(std::string_view digest) const;
    /// DIR/blobs/<hex>.
    std::string path(std::string_view digest) const;
    /// Deletes a blob (absent: ok).
    Status remove(std::string_view digest);
    /// The digests present, sorted.
    std::vector<std::string> list() const;

    static std::string hex(std::string_view digest);

  private:
    BlobStore(std::shared_ptr<FileOps> ops, std::string dir) : ops_(std::move(ops)), dir_(std::move(dir)) {}
    std::shared_ptr<FileOps> ops_;
    std::string dir_;  ///< DIR/blobs
    mutable std::mutex mu_;
    std::set<std::string> present_;
};

}  // namespace raftwc::storage
