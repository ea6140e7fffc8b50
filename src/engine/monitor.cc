// The monitor's event loop: one poll over the container's output, the attached clients, the
// monitor socket, signals and the healthcheck, for the life of the container.
#include "engine/monitor.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "base/fs.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "engine/container_internal.h"
#include "engine/container_service.h"
#include "engine/health.h"
#include "engine/log_file.h"
#include "engine/log_writer.h"
#include "engine/monitor_internal.h"
#include "engine/monitor_protocol.h"
#include "engine/resident_pages.h"
#include "store/database.h"

namespace berth::engine {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kHealthOutputLimit = 4096;
// After the init exits, output still buffered in the pipes is read for at most this long.
constexpr auto kDrainTime = 2s;
// How often the loop gives back the pages of the binary it touched (drop_clean_file_pages).
constexpr auto kTrimInterval = 1s;
// The exit status of a teardown child that says "restart".
constexpr int kRestartStatus = 10;

LogTime log_now() { return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()); }

// Runs fn in a forked child (whose pages never count against the monitor) and returns its
// exit status, or -1 when it could not run or was killed.
template <class F>
int in_child(F&& fn) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    sys::set_signal_mask(0);  // the monitor's actions are already default (spawn_detached)
    ::_exit(fn());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Client {
  UniqueFd control;
  UniqueFd in, out, err;
  bool ready = false;  // all its streams arrived ("go")
};

struct Pipe {
  UniqueFd read, write;
  static Result<Pipe> make() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return FailErrno(errno, "pipe");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

class Monitor {
 public:
  Monitor(EngineOptions options, std::string id)
      : options_(std::move(options)), id_(std::move(id)), paths_(options_, id_) {}

  int run(UniqueFd control);

 private:
  // Adds a client's message; returns false when the client is gone.
  bool handle_client_message(Client& client);
  bool read_initial_client(Client& client);
  void tell_clients(const std::string& text, bool only_ready = true);
  bool start_container(int restart_count);
  // Polls until the init exited and its output is drained.
  void wait_for_exit();
  void accept_clients();
  void copy_output(UniqueFd& fd, LogStream stream);
  void copy_input(Client& client);
  void handle_signals();
  void start_probe();
  void finish_probe(int status);
  void wait_backoff(std::chrono::milliseconds delay);
  // Gives back what the monitor no longer needs resident: its berth.db connection, free heap,
  // and the pages of the binary it touched (drop_clean_file_pages).
  void trim();

  EngineOptions options_;
  std::string id_;
  ContainerPaths paths_;
  std::vector<UniqueFd> reservations_;  // sockets holding the published host ports ("reserve")
  std::string self_;
  UniqueFd lock_, signals_, listen_;
  std::vector<Client> clients_;
  std::string record_;  // the container's record as the starting client sent it
  // The setup's berth.db connection, kept until the first trim: a container that ends within
  // a second (run --rm) is torn down without opening berth.db again. Only without a restart
  // policy, whose teardown runs here and not in a forked child.
  std::shared_ptr<store::Database> db_;
  MonitorPlan plan_;
  std::optional<LogWriter> log_;
  UniqueFd out_, err_, in_, master_;
  pid_t init_ = 0;
  bool init_done_ = false;
  int exit_code_ = 0;
  bool stop_requested_ = false;
  Clock::time_point started_;
  // Healthcheck
  std::optional<Clock::time_point> next_probe_;
  pid_t probe_pid_ = 0;
  UniqueFd probe_out_;
  std::string probe_output_;
  std::string probe_start_;
  Clock::time_point probe_deadline_;
  bool probe_timed_out_ = false;
  bool trimmed_ = false;  // nothing touched since the last trim
  // The first trim waits a trim interval too: a container that ends at once (run --rm) would
  // wait for it, and then fault its pages back in for the teardown.
  Clock::time_point last_trim_ = Clock::now();
};

bool Monitor::handle_client_message(Client& client) {
  auto m = receive_message(client.control.get());
  if (!m || !*m) return false;
  MonitorMessage& msg = **m;
  auto verb = msg.verb();
  if (verb == "stdin") client.in = std::move(msg.fd);
  else if (verb == "stdout") client.out = std::move(msg.fd);
  else if (verb == "stderr") client.err = std::move(msg.fd);
  else if (verb == "container" && !init_) record_ = msg.text.substr(verb.size() + 1);
  else if (verb == "reserve" && msg.fd) reservations_.push_back(std::move(msg.fd));
  else if (verb == "go") {
    client.ready = true;
    if (client.in) set_nonblocking(client.in.get());
    if (init_ && !init_done_) (void)send_message(client.control.get(), fmt::format("started {}", init_));
  } else if (verb == "signal") {
    int sig = std::atoi(msg.word(0).c_str());
    if (init_ && !init_done_ && sig > 0) ::kill(init_, sig);
  } else if (verb == "resize") {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(std::atoi(msg.word(0).c_str()));
    ws.ws_col = static_cast<unsigned short>(std::atoi(msg.word(1).c_str()));
    if (master_) ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  } else if (verb == "stop") {
    stop_requested_ = true;
  }
  return true;
}

bool Monitor::read_initial_client(Client& client) {
  while (!client.ready) {
    if (!handle_client_message(client)) return false;
  }
  return true;
}

void Monitor::tell_clients(const std::string& text, bool only_ready) {
  for (auto& c : clients_) {
    if (c.control && (c.ready || !only_ready)) (void)send_message(c.control.get(), text);
  }
}

bool Monitor::start_container(int restart_count) {
  ContainerStdio stdio;
  std::optional<Pipe> out, err, in;
  // Whether the container has a terminal or takes stdin is the setup's to read: make every
  // pipe and drop what the plan does not use.
  auto made = [&]() -> Result<void> {
    out = TRY(Pipe::make());
    err = TRY(Pipe::make());
    in = TRY(Pipe::make());
    stdio.out = out->write.get();
    stdio.err = err->write.get();
    stdio.in = in->read.get();
    return {};
  }();
  if (!made) {
    tell_clients(fmt::format("error {} could not make the container's pipes", EMFILE));
    return false;
  }
  // In this process, not a forked child: a fork's copy-on-write faults, its refaulted code
  // pages and its exit cost a container start ~4 ms. What the setup allocated is given back
  // below, and the code pages it touched at the next trim.
  UniqueFd master;
  auto plan = setup_container(options_, id_, stdio, restart_count, &master,
                              record_.empty() ? nullptr : &record_, db_);
  ::malloc_trim(0);
  if (!plan) {
    const Error& e = plan.error();
    int err_no = e.sys_errno() ? e.sys_errno() : 0;
    // The message without the errno text: the client rebuilds the error with the errno.
    tell_clients(fmt::format("error {} {}", err_no, err_no ? e.message() : e.what()), false);
    return false;
  }
  plan_ = std::move(*plan);
  if (plan_.restart.name != RestartName::No) db_.reset();
  record_.clear();  // restarts read berth.db: the record may have changed since
  init_ = plan_.pid;
  init_done_ = false;
  started_ = Clock::now();
  master_ = std::move(master);
  if (!plan_.tty) {
    out_ = std::move(out->read);
    err_ = std::move(err->read);
    if (plan_.interactive) in_ = std::move(in->write);
  }
  for (int fd : {out_.get(), err_.get(), master_.get()}) {
    if (fd >= 0) set_nonblocking(fd);
  }
  if (!log_) {
    auto log = LogWriter::open(container_log_path(options_.root, id_), plan_.log_max_size, plan_.log_max_file);
    if (log) log_ = std::move(*log);
    else log::warn("container {}: {}", short_container_id(id_), log.error().what());
  }
  if (!plan_.health_argv.empty()) {
    bool starting = plan_.health_start_period > 0;
    next_probe_ = Clock::now() + std::chrono::nanoseconds(starting ? plan_.health_start_interval : plan_.health_interval);
  }
  tell_clients(fmt::format("started {}", init_));
  return true;
}

void Monitor::accept_clients() {
  for (;;) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    Client c;
    c.control.reset(fd);
    clients_.push_back(std::move(c));
  }
}

void Monitor::copy_output(UniqueFd& fd, LogStream stream) {
  char buf[kReadSize];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF, or EIO once a pty's last slave closed
      fd.reset();
      return;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (log_) {
      if (auto r = log_->write(stream, data, log_now()); !r) log::warn("log: {}", r.error().what());
    }
    for (auto& c : clients_) {
      UniqueFd& dest = stream == LogStream::Stderr && c.err ? c.err : c.out;
      if (!c.ready || !dest) continue;
      if (!write_all(dest.get(), data)) dest.reset();
    }
  }
}

void Monitor::copy_input(Client& client) {
  char buf[kReadSize];
  ssize_t n = ::read(client.in.get(), buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    client.in.reset();
    // The attached stdin ended: so does the container's (Docker's StdinOnce).
    in_.reset();
    return;
  }
  int dest = master_ ? master_.get() : in_.get();
  if (dest >= 0 && !write_all(dest, std::string_view(buf, static_cast<size_t>(n)))) in_.reset();
}

void Monitor::handle_signals() {
  signalfd_siginfo info;
  while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo != SIGCHLD) {
      // The monitor itself is asked to end (a shutdown): stop the container, do not restart.
      stop_requested_ = true;
      if (init_ && !init_done_) ::kill(init_, SIGTERM);
    }
  }
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == init_ && !init_done_) {
      init_done_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (probe_pid_) ::kill(probe_pid_, SIGKILL);
    } else if (pid == probe_pid_) {
      finish_probe(status);
    }
  }
}

void Monitor::start_probe() {
  auto pipe = Pipe::make();
  if (!pipe) return;
  std::vector<std::string> args = {self_, "runtime", "--root", paths_.runtime_root, "exec", id_};
  args.insert(args.end(), plan_.health_argv.begin(), plan_.health_argv.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  probe_start_ = now_rfc3339_nano();
  pid_t pid = ::fork();
  if (pid < 0) return;
  if (pid == 0) {
    sys::set_signal_mask(0);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(pipe->write.get(), 1);
    ::dup2(pipe->write.get(), 2);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  probe_pid_ = pid;
  probe_out_ = std::move(pipe->read);
  set_nonblocking(probe_out_.get());
  probe_output_.clear();
  probe_timed_out_ = false;
  probe_deadline_ = Clock::now() + std::chrono::nanoseconds(plan_.health_timeout);
  next_probe_.reset();
}

void Monitor::finish_probe(int status) {
  probe_pid_ = 0;
  if (probe_out_) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(probe_out_.get(), buf, sizeof(buf))) > 0) {
      if (probe_output_.size() < kHealthOutputLimit) probe_output_.append(buf, static_cast<size_t>(n));
    }
    probe_out_.reset();
  }
  if (init_done_) return;
  HealthResult result;
  result.start = probe_start_;
  result.end = now_rfc3339_nano();
  if (probe_timed_out_) {
    result.exit_code = -1;
    result.output = fmt::format("Health check exceeded timeout ({}s)",
                                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::nanoseconds(plan_.health_timeout)).count());
  } else {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.output = probe_output_;
  }
  HealthPlan plan;
  plan.argv = plan_.health_argv;
  plan.interval = std::chrono::nanoseconds(plan_.health_interval);
  plan.timeout = std::chrono::nanoseconds(plan_.health_timeout);
  plan.start_period = std::chrono::nanoseconds(plan_.health_start_period);
  plan.start_interval = std::chrono::nanoseconds(plan_.health_start_interval);
  plan.retries = plan_.health_retries;
  bool in_start_period = Clock::now() < started_ + plan.start_period;
  in_child([&] {
    auto r = write_container_state(options_, id_, [&](ContainerState& s) {
      record_health_result(s.health, plan, result, in_start_period);
    });
    if (!r) log::warn("container {}: record health: {}", short_container_id(id_), r.error().what());
    return r ? 0 : 1;
  });
  next_probe_ = Clock::now() + (in_start_period ? plan.start_interval : plan.interval);
}

void Monitor::wait_for_exit() {
  std::optional<Clock::time_point> drain_deadline;
  for (;;) {
    if (init_done_ && !drain_deadline) drain_deadline = Clock::now() + kDrainTime;
    if (init_done_ && ((!out_ && !err_ && !master_) || Clock::now() >= *drain_deadline)) break;
    std::vector<pollfd> fds;
    auto add = [&](int fd) {
      fds.push_back(pollfd{fd, POLLIN, 0});
      return fds.size() - 1;
    };
    size_t sig_i = add(signals_.get());
    size_t listen_i = listen_ ? add(listen_.get()) : SIZE_MAX;
    size_t out_i = out_ ? add(out_.get()) : SIZE_MAX;
    size_t err_i = err_ ? add(err_.get()) : SIZE_MAX;
    size_t master_i = master_ ? add(master_.get()) : SIZE_MAX;
    size_t probe_i = probe_out_ ? add(probe_out_.get()) : SIZE_MAX;
    size_t clients_i = fds.size();
    for (auto& c : clients_) {
      add(c.control.get());
      // A client's stdin is read only while the container has somewhere to put it.
      fds.push_back(pollfd{c.ready && c.in && (in_ || master_) ? c.in.get() : -1, POLLIN, 0});
    }
    auto now = Clock::now();
    std::optional<Clock::time_point> wake;
    auto sooner = [&](Clock::time_point t) { wake = wake ? std::min(*wake, t) : t; };
    if (next_probe_ && !probe_pid_) sooner(*next_probe_);
    if (probe_pid_ && !probe_timed_out_) sooner(probe_deadline_);
    if (drain_deadline) sooner(*drain_deadline);
    // At most once a second, the code pages touched since are given back.
    if (!trimmed_) sooner(last_trim_ + kTrimInterval);
    int timeout = -1;
    if (wake) timeout = static_cast<int>(std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count()));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log::warn("monitor poll: {}", strerror(errno));
      return;
    }
    if (!trimmed_ && Clock::now() >= last_trim_ + kTrimInterval) {
      trim();
      trimmed_ = n == 0;
      if (n == 0) continue;
    }
    if (n > 0) trimmed_ = false;
    auto ready = [&](size_t i) { return i != SIZE_MAX && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)); };
    if (ready(out_i)) copy_output(out_, LogStream::Stdout);
    if (ready(err_i)) copy_output(err_, LogStream::Stderr);
    if (ready(master_i)) copy_output(master_, LogStream::Stdout);
    if (ready(probe_i)) {
      char buf[4096];
      ssize_t r = ::read(probe_out_.get(), buf, sizeof(buf));
      if (r > 0 && probe_output_.size() < kHealthOutputLimit) probe_output_.append(buf, static_cast<size_t>(r));
      if (r == 0) probe_out_.reset();
    }
    if (ready(sig_i)) handle_signals();
    if (ready(listen_i)) accept_clients();
    size_t count = clients_.size();
    for (size_t k = 0; k < count; ++k) {
      Client& c = clients_[k];
      if (ready(clients_i + 2 * k + 1) && c.in) copy_input(c);
      if (ready(clients_i + 2 * k) && !handle_client_message(c)) c.control.reset();
    }
    std::erase_if(clients_, [](const Client& c) { return !c.control; });
    now = Clock::now();
    if (probe_pid_ && !probe_timed_out_ && now >= probe_deadline_) {
      probe_timed_out_ = true;
      ::kill(probe_pid_, SIGKILL);
    }
    if (next_probe_ && !probe_pid_ && !init_done_ && now >= *next_probe_) start_probe();
  }
  if (log_) (void)log_->flush(log_now());
  out_.reset();
  err_.reset();
  master_.reset();
  in_.reset();
  if (probe_pid_) {
    ::kill(probe_pid_, SIGKILL);
    ::waitpid(probe_pid_, nullptr, 0);
    probe_pid_ = 0;
  }
  probe_out_.reset();
  next_probe_.reset();
}

void Monitor::trim() {
  db_.reset();
  ::malloc_trim(0);
  // The binary is 12 MB; start-up and the setup fault in megabytes of it.
  drop_clean_file_pages(self_);
  last_trim_ = Clock::now();
}

void Monitor::wait_backoff(std::chrono::milliseconds delay) {
  trim();  // a container restarting in a loop may never run for a trim interval
  auto until = Clock::now() + delay;
  while (!stop_requested_) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return;
    std::vector<pollfd> fds = {{signals_.get(), POLLIN, 0}};
    if (listen_) fds.push_back({listen_.get(), POLLIN, 0});
    for (auto& c : clients_) fds.push_back({c.control.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) <= 0) continue;
    if (fds[0].revents) handle_signals();
    if (listen_ && fds[1].revents) accept_clients();
    for (auto& c : clients_) {
      if (!handle_client_message(c)) c.control.reset();
    }
    std::erase_if(clients_, [](const Client& c) { return !c.control; });
  }
}

int Monitor::run(UniqueFd control) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  signals_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  // SIGPIPE is blocked, not ignored: a write to a gone client fails with EPIPE, and the
  // container, created from this process, does not inherit an ignored SIGPIPE (its init
  // clears the mask).
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);

  // Nothing is touched before the starting client's "go": a monitor spawned before its
  // container was created (EarlyMonitor) whose command failed just exits.
  Client first;
  first.control = std::move(control);
  if (!read_initial_client(first)) return 0;
  if (UniqueFd log(::open((paths_.dir + "/monitor.log").c_str(),
                          O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
      log)
    ::dup2(log.get(), 2);
  auto lock = try_lock_monitor(paths_.lock, LOCK_EX);
  if (!lock) {
    (void)send_message(first.control.get(), "running");
    return 0;
  }
  lock_ = std::move(*lock);
  clients_.push_back(std::move(first));
  auto self = read_link("/proc/self/exe");
  self_ = self ? *self : "/proc/self/exe";
  if (auto l = listen_monitor_socket(paths_.dir)) listen_ = std::move(*l);
  else log::warn("container {}: {}", short_container_id(id_), l.error().what());

  int restart_count = 0;
  std::chrono::milliseconds backoff{0};
  for (;;) {
    if (!start_container(restart_count)) return 1;
    wait_for_exit();
    bool oom = read_oom_kills(plan_.oom_events) > plan_.oom_before;
    int code = exit_code_;
    bool stop = stop_requested_;
    bool auto_remove = plan_.auto_remove;
    // Without a restart policy this is the monitor's last work: it runs here, sparing a fork
    // (the monitor's size no longer matters). Otherwise in a child, as the monitor lives on.
    bool last = plan_.restart.name == RestartName::No;
    // A --rm container's files go after its exit is told (below): it is gone for every command
    // once its record is. Only here, where there is a "below".
    bool files_after_exit = last && auto_remove;
    std::unique_ptr<ContainerService> removing;
    auto teardown = [&] {
      auto db = store::Database::shared(db_, options_.root + "/berth.db");
      if (!db) {
        log::warn("container {}: {}", short_container_id(id_), db.error().what());
        return 1;
      }
      if (!files_after_exit) release_container_files(options_, id_);
      auto r = teardown_container(options_, **db, id_, code, oom, stop, restart_count);
      if (!r) log::warn("container {}: {}", short_container_id(id_), r.error().what());
      bool restart = r && *r;
      if (!restart && auto_remove) {
        auto forgotten = forget_container(options_, *db, id_);
        if (forgotten)
          removing = std::move(*forgotten);
        else
          log::warn("container {}: --rm: {}", short_container_id(id_), forgotten.error().what());
        if (removing && !files_after_exit) (void)removing->remove_files(id_);
      }
      return restart ? kRestartStatus : 0;
    };
    int status = last ? teardown() : in_child(teardown);
    bool restart = status == kRestartStatus;
    // The next container may want these host ports as soon as this one's exit is known.
    if (!restart) reservations_.clear();
    tell_clients(fmt::format("exit {}", code));
    clients_.clear();
    init_ = 0;
    if (files_after_exit && removing) {
      if (auto r = removing->remove_files(id_); !r) log::warn("container {}: --rm: {}", short_container_id(id_), r.error().what());
    } else if (files_after_exit) {
      release_container_files(options_, id_);  // forgetting it failed: at least no mount stays
    }
    if (!restart) return 0;
    // Docker's backoff: 100 ms, doubled on each restart up to a minute, reset once the
    // container ran for 10 s.
    if (Clock::now() - started_ >= 10s) backoff = 0ms;
    backoff = backoff == 0ms ? 100ms : std::min<std::chrono::milliseconds>(backoff * 2, 60s);
    wait_backoff(backoff);
    if (stop_requested_) {
      in_child([&] {
        auto r = write_container_state(options_, id_, [](ContainerState& s) {
          s.status = ContainerStatus::Exited;
          s.monitor_pid = 0;
        });
        return r ? 0 : 1;
      });
      return 0;
    }
    ++restart_count;
  }
}

}  // namespace

int run_monitor(const EngineOptions& options, const std::string& id, int control_fd) {
  ::fcntl(control_fd, F_SETFD, FD_CLOEXEC);
  Monitor monitor(options, id);
  return monitor.run(UniqueFd(control_fd));
}

}  // namespace berth::engine
