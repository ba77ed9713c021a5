// ObjectStore adapter for S3 and S3-compatible services (MinIO, s3rver, ...),
// over libcurl, every request signed with our own SigV4 (sigv4.h).
//
// Mapping: Stat = HEAD; OpenReader / FetchToFile = (ranged) GET streamed with
// bounded memory; OpenWriter / PutFile = one PUT when small, otherwise a
// multipart upload (only Commit / success makes the object visible; an
// abandoned writer aborts its upload); List = ListObjectsV2 pages;
// DeletePrefix = List + batched DeleteObjects (single deletes as fallback).
// Idempotent requests are retried with jittered backoff on network errors and
// 5xx; failures map to kNotFound (404 / NoSuchKey) or kStoreError carrying the
// HTTP status and S3 error code. Secrets are never logged or put in messages.
//
// Thread-safe: the store may be used from any number of threads. Costs: an
// open writer buffers up to part_size bytes; an open reader owns a thread
// and up to 1 MiB of buffered bytes until it is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "store/object_store.h"

namespace vs::store {

struct S3Options {
  std::string bucket;
  // Where this process talks to S3, e.g. "http://127.0.0.1:4569"; empty =
  // https://s3.<region>.amazonaws.com.
  std::string endpoint;
  // Scheme://host[:port] put into presigned URLs handed to browsers (when S3
  // is reached under another name from outside); empty = endpoint.
  std::string public_endpoint;
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
  // Path-style (http://host/bucket/key) instead of virtual-hosted
  // (http://bucket.host/key). Path-style is used anyway when the endpoint is
  // an IP address or localhost, or the bucket name is not DNS-safe.
  bool force_path_style = false;
  // Objects larger than this are uploaded in parts of part_size bytes (S3
  // needs parts >= 5 MiB except the last; tests use smaller ones with
  // s3rver, which does not enforce it). A writer buffers one part.
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_size = 8ull << 20;
  int max_retries = 4;  // extra attempts for idempotent requests
  int connect_timeout_ms = 5000;
  // Whole-request limit for small requests (HEAD, List, Delete, part
  // bookkeeping).
  int request_timeout_ms = 30000;
  // Transfers (GET, PUT bodies) have no total limit; they fail when less than
  // one byte per second moved for this long.
  int stall_timeout_s = 30;
  // Content-Type stored with each object written by key (S3 serves it back,
  // e.g. to Safari's native HLS); unset = application/octet-stream. The app
  // passes api::MimeTypeFor, which the store cannot depend on. Called from
  // any thread: must be thread-safe.
  std::function<std::string(const std::string& key)> content_type_for;
};

// Checks the options (not the network: see ObjectStore::Check).
Result<std::unique_ptr<ObjectStore>> NewS3Store(const S3Options& options);

}  // namespace vs::store
