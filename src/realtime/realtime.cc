#include "realtime/realtime.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "http/upgrade.h"
#include "realtime/engine.h"
#include "realtime/polling.h"
#include "realtime/sse.h"
#include "realtime/websocket.h"

namespace vs::realtime {
namespace {

namespace asio = boost::asio;
constexpr auto kSweepEvery = std::chrono::milliseconds(200);

// The server has one upgrade seam: WebSockets for /socket.io/, event
// streams for /api/videos/:id/events.
class BothHandlers final : public http::UpgradeHandler {
 public:
  BothHandlers(http::UpgradeHandler& ws, SseHandler& sse) : ws_(ws), sse_(sse) {}
  bool MayTake(std::string_view target) const override { return sse_.MayTake(target); }
  bool Accepts(const http::Request& req) const override { return ws_.Accepts(req) || sse_.Accepts(req); }
  asio::awaitable<void> Upgrade(boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer,
                                boost::beast::http::request<boost::beast::http::empty_body> req,
                                http::Request parsed) override {
    http::UpgradeHandler& h = ws_.Accepts(parsed) ? ws_ : static_cast<http::UpgradeHandler&>(sse_);
    return h.Upgrade(std::move(stream), std::move(buffer), std::move(req), std::move(parsed));
  }

 private:
  http::UpgradeHandler& ws_;
  SseHandler& sse_;
};

}  // namespace

// The realtime threads run the sweep timer and the fan-out of bus events:
// publishers (worker and API threads) only post to them, so a fan-out to
// thousands of sockets never holds a publisher up. Events go through one
// strand, so they are numbered and queued in publishing order; the socket
// writes of a large fan-out are then shared among the threads.
struct RealtimeServer::Impl {
  Impl(RealtimeOptions options, EventBus& bus, const Clock& clock)
      : bus(bus),
        clock(clock),
        engine(options, clock),
        ws(NewWebSocketHandler(engine)),
        sse(NewSseHandler(engine)),
        both(*ws, *sse) {}

  void Tick() {
    engine.Sweep();
    timer.expires_after(kSweepEvery);
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) Tick();
    });
  }

  EventBus& bus;
  const Clock& clock;
  Engine engine;
  std::unique_ptr<http::UpgradeHandler> ws;
  std::unique_ptr<SseHandler> sse;
  BothHandlers both;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::strand<asio::io_context::executor_type> events{io.get_executor()};
  asio::steady_timer timer{events};
  std::vector<std::thread> threads;
  int subscription = -1;
  std::atomic<bool> shut_down{false};
};

RealtimeServer::RealtimeServer(RealtimeOptions options, EventBus& bus, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), bus, clock)) {
  Impl* impl = impl_.get();
  impl->subscription = bus.Subscribe([impl](const Event& e) {
    // Stamped here, on the publisher's thread: the moment the event happened.
    // A fan-out across processes stamped it already.
    const int64_t ts = e.timestamp_ms != 0 ? e.timestamp_ms : impl->clock.NowMs();
    asio::post(impl->events, [impl, e, ts] { impl->engine.Publish(e, ts); });
  });
  const int n = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  impl->engine.SetFanOut(
      [impl](std::function<void()> task) { asio::post(impl->io, std::move(task)); }, n);
  asio::post(impl->events, [impl] { impl->Tick(); });
  for (int i = 0; i < n; ++i) {
    impl->threads.emplace_back([impl] {
      // Signals are the application's business (it waits for SIGTERM on a
      // thread of its own); a library thread must not be the one to get them.
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      impl->io.run();
    });
  }
}

RealtimeServer::~RealtimeServer() { Shutdown(); }

void RealtimeServer::Register(http::Router& router) { RegisterPolling(router, impl_->engine); }

http::UpgradeHandler* RealtimeServer::upgrade_handler() { return &impl_->both; }

int RealtimeServer::connection_count() const {
  return impl_->engine.connection_count() + impl_->sse->stream_count();
}

RealtimeServer::ConnectionCounts RealtimeServer::connection_counts() const {
  const auto [polling, websocket] = impl_->engine.CountByTransport();
  return {polling, websocket, impl_->sse->stream_count()};
}

void RealtimeServer::Shutdown() {
  if (impl_->shut_down.exchange(true)) return;
  impl_->bus.Unsubscribe(impl_->subscription);
  impl_->engine.Shutdown();
  impl_->sse->Shutdown();
  asio::post(impl_->events, [impl = impl_.get()] {
    impl->timer.cancel();
    impl->work.reset();
    impl->io.stop();
  });
  for (auto& t : impl_->threads) t.join();
}

void RealtimeServer::SweepNow() { impl_->engine.Sweep(); }

}  // namespace vs::realtime
