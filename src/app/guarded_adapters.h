// Circuit-breaker decorators around the infrastructure adapters: after five
// consecutive infrastructure failures (database or storage errors, not "not
// found") calls fail fast with "circuit_open" for 60 s instead of piling up
// on a sick dependency; then one trial call probes it. Thread-safe.
#pragma once

#include <memory>

#include "core/clock.h"
#include "db/database.h"
#include "db/repository.h"
#include "resilience/circuit_breaker.h"
#include "store/object_store.h"

namespace vs::app {

struct GuardedDatabase {
  std::unique_ptr<db::VideoRepository> videos;
  std::unique_ptr<db::NotificationRepository> notifications;
  std::unique_ptr<db::JobQueue> jobs;
  std::unique_ptr<db::UserRepository> users;
  std::unique_ptr<db::SessionRepository> sessions;
};

// Wraps every repository of `db` with one breaker (they share one
// database). `db` must outlive the result.
GuardedDatabase GuardDatabase(db::Database& db, std::shared_ptr<resilience::CircuitBreaker> breaker);
std::unique_ptr<store::ObjectStore> GuardStore(store::ObjectStore& inner,
                                               std::shared_ptr<resilience::CircuitBreaker> breaker);

// Infrastructure failures (what trips a breaker) versus answers.
bool IsInfrastructureFailure(const Error& e);

}  // namespace vs::app
