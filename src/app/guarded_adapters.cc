#include "app/guarded_adapters.h"

namespace vs::app {
namespace {

using resilience::CircuitBreaker;

// Base for the decorators: Run() is one line per forwarded method.
class Guard {
 protected:
  explicit Guard(std::shared_ptr<CircuitBreaker> b) : breaker_(std::move(b)) {}
  template <typename F>
  auto Run(F&& f) -> decltype(f()) {
    return breaker_->Call(std::forward<F>(f), IsInfrastructureFailure);
  }
  std::shared_ptr<CircuitBreaker> breaker_;
};

class GuardedVideos final : public db::VideoRepository, Guard {
 public:
  GuardedVideos(db::VideoRepository& in, std::shared_ptr<CircuitBreaker> b) : Guard(std::move(b)), in_(in) {}
  Status Create(const Video& v) override { return Run([&] { return in_.Create(v); }); }
  Result<std::optional<Video>> Get(const std::string& id) override { return Run([&] { return in_.Get(id); }); }
  Result<Page<Video>> List(const db::ListQuery& q) override { return Run([&] { return in_.List(q); }); }
  Result<std::vector<std::pair<VideoStatus, int64_t>>> CountByStatus(const db::Audience& a) override {
    return Run([&] { return in_.CountByStatus(a); });
  }
  Result<std::optional<Video>> UpdateMetadata(const std::string& id, const std::optional<std::string>& t,
                                              const std::optional<std::string>& d,
                                              const std::optional<Visibility>& vis) override {
    return Run([&] { return in_.UpdateMetadata(id, t, d, vis); });
  }
  Result<std::optional<Video>> Transition(const std::string& id, const std::vector<VideoStatus>& from,
                                          VideoStatus to, const db::StatusPatch& p) override {
    return Run([&] { return in_.Transition(id, from, to, p); });
  }
  Result<bool> UpdateProgress(const std::string& id, double p) override {
    return Run([&] { return in_.UpdateProgress(id, p); });
  }
  Result<std::optional<db::ConfirmResult>> ConfirmUpload(const std::string& id,
                                                         const std::string& source_etag) override {
    return Run([&] { return in_.ConfirmUpload(id, source_etag); });
  }
  Result<bool> Delete(const std::string& id) override { return Run([&] { return in_.Delete(id); }); }
  Result<int64_t> AdoptOrphans(const std::string& owner) override {
    return Run([&] { return in_.AdoptOrphans(owner); });
  }

 private:
  db::VideoRepository& in_;
};

class GuardedNotifications final : public db::NotificationRepository, Guard {
 public:
  GuardedNotifications(db::NotificationRepository& in, std::shared_ptr<CircuitBreaker> b)
      : Guard(std::move(b)), in_(in) {}
  Result<Notification> Add(const std::string& v, VideoStatus s, const std::string& m) override {
    return Run([&] { return in_.Add(v, s, m); });
  }
  Result<Page<Notification>> List(int limit, const std::string& cursor, const std::string& v,
                                  const db::Audience& a) override {
    return Run([&] { return in_.List(limit, cursor, v, a); });
  }
  Result<bool> RecordDelivery(const std::string& id, int64_t now_ms) override {
    return Run([&] { return in_.RecordDelivery(id, now_ms); });
  }

 private:
  db::NotificationRepository& in_;
};

class GuardedJobs final : public db::JobQueue, Guard {
 public:
  GuardedJobs(db::JobQueue& in, std::shared_ptr<CircuitBreaker> b) : Guard(std::move(b)), in_(in) {}
  Result<std::optional<Job>> Claim(const std::string& w, int64_t lease) override {
    return Run([&] { return in_.Claim(w, lease); });
  }
  Result<bool> Heartbeat(int64_t id, const std::string& w, int64_t lease) override {
    return Run([&] { return in_.Heartbeat(id, w, lease); });
  }
  Result<bool> Complete(int64_t id, const std::string& w) override { return Run([&] { return in_.Complete(id, w); }); }
  Result<JobState> Fail(int64_t id, const std::string& w, const std::string& e, bool retry, int64_t b) override {
    return Run([&] { return in_.Fail(id, w, e, retry, b); });
  }
  Result<bool> Release(int64_t id, const std::string& w) override { return Run([&] { return in_.Release(id, w); }); }
  Result<std::optional<Job>> LatestForVideo(const std::string& v) override {
    return Run([&] { return in_.LatestForVideo(v); });
  }
  Result<std::vector<Job>> List(std::optional<JobState> st, int limit) override {
    return Run([&] { return in_.List(st, limit); });
  }
  Result<std::optional<Job>> Cancel(int64_t id) override { return Run([&] { return in_.Cancel(id); }); }
  Result<db::JobStats> Stats() override { return Run([&] { return in_.Stats(); }); }

 private:
  db::JobQueue& in_;
};

class GuardedUsers final : public db::UserRepository, Guard {
 public:
  GuardedUsers(db::UserRepository& in, std::shared_ptr<CircuitBreaker> b) : Guard(std::move(b)), in_(in) {}
  Result<std::optional<User>> Register(User u) override {
    return Run([&] { return in_.Register(std::move(u)); });
  }
  Result<std::optional<User>> Get(const std::string& id) override { return Run([&] { return in_.Get(id); }); }
  Result<std::optional<User>> FindByEmail(const std::string& e) override {
    return Run([&] { return in_.FindByEmail(e); });
  }
  Result<bool> SetAdmin(const std::string& id, bool admin) override {
    return Run([&] { return in_.SetAdmin(id, admin); });
  }
  Result<bool> SetPasswordHash(const std::string& id, const std::string& h, int64_t now_ms) override {
    return Run([&] { return in_.SetPasswordHash(id, h, now_ms); });
  }
  Result<int64_t> Count() override { return Run([&] { return in_.Count(); }); }

 private:
  db::UserRepository& in_;
};

class GuardedSessions final : public db::SessionRepository, Guard {
 public:
  GuardedSessions(db::SessionRepository& in, std::shared_ptr<CircuitBreaker> b) : Guard(std::move(b)), in_(in) {}
  Status Create(const Session& s) override { return Run([&] { return in_.Create(s); }); }
  Result<std::optional<Session>> Get(const std::string& id) override { return Run([&] { return in_.Get(id); }); }
  Result<std::vector<Session>> ListForUser(const std::string& user, int64_t now_ms) override {
    return Run([&] { return in_.ListForUser(user, now_ms); });
  }
  Result<bool> Delete(const std::string& id) override { return Run([&] { return in_.Delete(id); }); }
  Result<int64_t> DeleteForUser(const std::string& user) override {
    return Run([&] { return in_.DeleteForUser(user); });
  }
  Result<int64_t> PruneExpired(int64_t now_ms) override { return Run([&] { return in_.PruneExpired(now_ms); }); }

 private:
  db::SessionRepository& in_;
};

class GuardedStore final : public store::ObjectStore, Guard {
 public:
  GuardedStore(store::ObjectStore& in, std::shared_ptr<CircuitBreaker> b) : Guard(std::move(b)), in_(in) {}
  Result<store::ObjectInfo> Stat(const std::string& k) override { return Run([&] { return in_.Stat(k); }); }
  Result<std::unique_ptr<store::ObjectWriter>> OpenWriter(const std::string& k) override {
    return Run([&] { return in_.OpenWriter(k); });
  }
  Status PutFile(const std::string& k, const std::string& p, bool move) override {
    return Run([&] { return in_.PutFile(k, p, move); });
  }
  Result<std::string> FetchToFile(const std::string& k, const std::string& s) override {
    return Run([&] { return in_.FetchToFile(k, s); });
  }
  Result<std::vector<std::string>> List(const std::string& p) override { return Run([&] { return in_.List(p); }); }
  Status Delete(const std::string& k) override { return Run([&] { return in_.Delete(k); }); }
  Status DeletePrefix(const std::string& p) override { return Run([&] { return in_.DeletePrefix(p); }); }
  Result<std::unique_ptr<store::ObjectReader>> OpenReader(const std::string& k, uint64_t offset,
                                                          std::optional<uint64_t> length) override {
    return Run([&] { return in_.OpenReader(k, offset, length); });
  }
  std::optional<std::string> LocalPath(const std::string& k) override { return in_.LocalPath(k); }
  // Signing is local computation: nothing to guard.
  std::optional<std::string> PresignPut(const std::string& k, const std::string& type, int64_t ttl) override {
    return in_.PresignPut(k, type, ttl);
  }
  std::optional<std::string> PresignGet(const std::string& k, int64_t ttl) override {
    return in_.PresignGet(k, ttl);
  }
  // Readiness asks the store itself, also while the breaker is open.
  Status Check() override { return in_.Check(); }
  // A statvfs: local and cheap, nothing to guard.
  std::optional<uint64_t> FreeBytes() override { return in_.FreeBytes(); }

 private:
  store::ObjectStore& in_;
};

}  // namespace

// A full disk (kInsufficientStorage) is not among them: the store and the
// database still answer, and fail-fast for a minute would outlast the
// moment space is freed.
bool IsInfrastructureFailure(const Error& e) { return e.kind == ErrorKind::kUnavailable; }

GuardedDatabase GuardDatabase(db::Database& db, std::shared_ptr<CircuitBreaker> breaker) {
  GuardedDatabase g;
  g.videos = std::make_unique<GuardedVideos>(db.videos(), breaker);
  g.notifications = std::make_unique<GuardedNotifications>(db.notifications(), breaker);
  g.jobs = std::make_unique<GuardedJobs>(db.jobs(), breaker);
  g.users = std::make_unique<GuardedUsers>(db.users(), breaker);
  g.sessions = std::make_unique<GuardedSessions>(db.sessions(), breaker);
  return g;
}

std::unique_ptr<store::ObjectStore> GuardStore(store::ObjectStore& inner, std::shared_ptr<CircuitBreaker> breaker) {
  return std::make_unique<GuardedStore>(inner, std::move(breaker));
}

}  // namespace vs::app
