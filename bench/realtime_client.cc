// Load client of bench/realtime.sh: many Socket.IO-over-WebSocket clients in
// one epoll loop, driven by line commands on stdin (from bench/realtime.mjs).
// It speaks what socket.io-client speaks with transports: ['websocket']
// (upgrade, "40", emits with ack ids, pongs), but spends a few microseconds
// per received message instead of the tens a JavaScript client needs, so
// that on a small machine the latency figures measure the servers.
//
//   realtime_client PORT FIRST_INDEX COUNT PER_ADDRESS
// Client i binds 127.0.(1 + a / 250).(1 + a % 250) with a = (FIRST_INDEX+i) / PER_ADDRESS.
// Commands (one at a time): "connect", "join VIDEO [LEAVE]", "arm VIDEO",
// "collect TIMEOUT_MS", "close".
// Each is answered by one line starting with "ok" (collect: "ok N" then N
// lines "ARRIVAL_MS TIMESTAMP_MS", then "sample RAW_PACKET").
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "realtime_client: " << what << ": " << strerror(errno) << "\n";
  std::exit(1);
}

struct Client {
  int fd = -1;
  bool upgraded = false;
  bool connected = false;  // Socket.IO CONNECT answered
  std::string in;
  std::string out;  // unsent bytes
  int next_ack = 0;
  int pending_acks = 0;
  bool arrived = false;
  double arrival_ms = 0;
  std::string packet;  // the measured event
};

int port = 0;
std::vector<Client> clients;
int ep = -1;
std::string armed;  // video id whose next video-status is recorded

// A masked client text frame (an all-zero mask leaves the payload as is).
void SendText(Client& c, const std::string& text) {
  const size_t n = text.size();
  if (n < 126) {
    c.out.push_back(static_cast<char>(0x81));
    c.out.push_back(static_cast<char>(0x80 | n));
  } else {
    c.out.push_back(static_cast<char>(0x81));
    c.out.push_back(static_cast<char>(0x80 | 126));
    c.out.push_back(static_cast<char>(n >> 8));
    c.out.push_back(static_cast<char>(n & 0xFF));
  }
  c.out.append(4, '\0');
  c.out += text;
  const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  if (w > 0) c.out.erase(0, static_cast<size_t>(w));
  if (!c.out.empty()) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(&c - clients.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void OnMessage(Client& c, const std::string& m, double t) {
  if (m.empty()) return;
  if (m[0] == '0') return SendText(c, "40");
  if (m == "2") return SendText(c, "3");
  if (m.size() >= 2 && m[0] == '4' && m[1] == '0') {
    c.connected = true;
    return;
  }
  if (m.size() >= 2 && m[0] == '4' && m[1] == '3') {
    --c.pending_acks;
    return;
  }
  if (!armed.empty() && !c.arrived && m.rfind("42[\"video-status\"", 0) == 0 &&
      m.find(armed) != std::string::npos) {
    c.arrived = true;
    c.arrival_ms = t;
    c.packet = m;
  }
}

void OnReadable(Client& c) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    const double t = NowMs();  // when the bytes came in, before any parsing
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) Die("connection lost");
    c.in.append(buf, static_cast<size_t>(n));
    if (!c.upgraded) {
      const size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        errno = 0;
        Die("upgrade refused: " + c.in.substr(0, c.in.find('\r')));
      }
      c.upgraded = true;
      c.in.erase(0, end + 4);
    }
    size_t pos = 0;
    while (c.in.size() - pos >= 2) {
      const auto* u = reinterpret_cast<const unsigned char*>(c.in.data() + pos);
      uint64_t len = u[1] & 0x7F;
      size_t off = 2;
      if (len == 126) {
        if (c.in.size() - pos < 4) break;
        len = (uint64_t{u[2]} << 8) | u[3];
        off = 4;
      } else if (len == 127) {
        if (c.in.size() - pos < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | u[2 + i];
        off = 10;
      }
      if (c.in.size() - pos < off + len) break;
      if ((u[0] & 0x0F) == 1) OnMessage(c, c.in.substr(pos + off, len), t);
      pos += off + len;
    }
    c.in.erase(0, pos);
  }
}

void OnWritable(Client& c) {
  if (!c.out.empty()) {
    const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w > 0) c.out.erase(0, static_cast<size_t>(w));
  }
  if (c.out.empty()) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(&c - clients.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void Connect(size_t from, size_t to, int first_index, int per_address) {
  for (size_t i = from; i < to; ++i) {
    Client& c = clients[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) Die("socket");
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const int a = (first_index + static_cast<int>(i)) / per_address;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl((127u << 24) | ((1u + a / 250) << 8) | (1u + a % 250));
    if (::bind(c.fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) Die("bind");
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<uint16_t>(port));
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0 &&
        errno != EINPROGRESS)
      Die("connect");
    c.out = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:" +
            std::to_string(port) +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) Die("epoll_ctl");
  }
}

// Sockets are read continuously, also while no command is running, so
// that arrival times are taken when the data arrives; stdin is one more
// descriptor in the same epoll set.
constexpr uint32_t kStdin = 0xFFFFFFFF;

struct Pending {
  enum Kind { kNone, kConnect, kJoin, kCollect } kind = kNone;
  double deadline = 0;
  size_t batch_from = 0, batch_to = 0;  // kConnect: the batch being connected
};

bool AllConnected(size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (!clients[i].connected) return false;
  return true;
}

void Reply(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string CollectReply() {
  size_t n = 0;
  for (const Client& c : clients) n += c.arrived;
  std::string out = "ok " + std::to_string(n) + "\n";
  std::string sample;
  for (const Client& c : clients) {
    if (!c.arrived) continue;
    const size_t k = c.packet.find("\"timestamp\":");
    const long long ts = k == std::string::npos ? 0 : std::atoll(c.packet.c_str() + k + 12);
    char row[64];
    std::snprintf(row, sizeof(row), "%.3f %lld\n", c.arrival_ms, ts);
    out += row;
    if (sample.empty()) sample = c.packet;
  }
  armed.clear();
  return out + "sample " + sample + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: realtime_client PORT FIRST_INDEX COUNT PER_ADDRESS\n";
    return 2;
  }
  port = std::atoi(argv[1]);
  const int first_index = std::atoi(argv[2]);
  const int count = std::atoi(argv[3]);
  const int per_address = std::atoi(argv[4]);
  ep = epoll_create1(EPOLL_CLOEXEC);
  clients.resize(static_cast<size_t>(count));
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.u32 = kStdin;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) != 0) Die("epoll_ctl stdin");

  std::string input;
  Pending pending;
  epoll_event events[256];
  for (;;) {
    // Start the next command once the previous one is answered.
    size_t eol;
    while (pending.kind == Pending::kNone && (eol = input.find('\n')) != std::string::npos) {
      std::istringstream cmd(input.substr(0, eol));
      input.erase(0, eol + 1);
      std::string op;
      cmd >> op;
      if (op == "connect") {
        // In batches of 100: a burst of thousands would overflow the backlog.
        pending =
            Pending{Pending::kConnect, NowMs() + 30000, 0, std::min<size_t>(100, clients.size())};
        Connect(pending.batch_from, pending.batch_to, first_index, per_address);
      } else if (op == "join") {
        std::string video, leave;
        cmd >> video >> leave;
        for (Client& c : clients) {
          if (!leave.empty()) {
            SendText(c,
                     "42" + std::to_string(c.next_ack++) + "[\"leave-video\",\"" + leave + "\"]");
            ++c.pending_acks;
          }
          SendText(c, "42" + std::to_string(c.next_ack++) + "[\"join-video\",\"" + video + "\"]");
          ++c.pending_acks;
        }
        pending = Pending{Pending::kJoin, NowMs() + 30000, 0, 0};
      } else if (op == "arm") {
        cmd >> armed;
        for (Client& c : clients) c.arrived = false;
        Reply("ok\n");
      } else if (op == "collect") {
        double timeout = 10000;
        cmd >> timeout;
        pending = Pending{Pending::kCollect, NowMs() + timeout, 0, 0};
      } else if (op == "close") {
        for (Client& c : clients) ::close(c.fd);
        Reply("ok\n");
        return 0;
      }
    }
    // Is the running command done?
    if (pending.kind == Pending::kConnect && AllConnected(pending.batch_from, pending.batch_to)) {
      if (pending.batch_to == clients.size()) {
        Reply("ok " + std::to_string(clients.size()) + "\n");
        pending = Pending{};
        continue;
      }
      pending.batch_from = pending.batch_to;
      pending.batch_to = std::min(clients.size(), pending.batch_to + 100);
      pending.deadline = NowMs() + 30000;
      Connect(pending.batch_from, pending.batch_to, first_index, per_address);
    }
    if (pending.kind == Pending::kJoin) {
      bool done = true;
      for (const Client& c : clients) done = done && c.pending_acks <= 0;
      if (done) {
        Reply("ok\n");
        pending = Pending{};
        continue;
      }
    }
    if (pending.kind == Pending::kCollect) {
      bool done = true;
      for (const Client& c : clients) done = done && c.arrived;
      if (done || NowMs() >= pending.deadline) {
        Reply(CollectReply());
        pending = Pending{};
        continue;
      }
    }
    if ((pending.kind == Pending::kConnect || pending.kind == Pending::kJoin) &&
        NowMs() >= pending.deadline) {
      errno = 0;
      Die(pending.kind == Pending::kConnect ? "connect timed out" : "join timed out");
    }
    const int n = epoll_wait(ep, events, 256, 50);
    if (n < 0 && errno != EINTR) Die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u32 == kStdin) {
        char buf[4096];
        for (;;) {
          const ssize_t r = ::read(0, buf, sizeof(buf));
          if (r > 0) {
            input.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0) return 0;  // the driver went away
          break;
        }
        continue;
      }
      Client& c = clients[events[i].data.u32];
      if (events[i].events & EPOLLOUT) OnWritable(c);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable(c);
    }
  }
}
