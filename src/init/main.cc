// berth-init -- COMMAND [ARG...]: the container's PID 1 (`/run/berth-init`, on by default,
// --init=false turns it off). It starts the command as its only child, forwards every
// catchable signal to it, reaps every zombie (orphans re-parented to it included) and exits
// with the command's status: 128+N when signal N killed it, 126 when it cannot be executed,
// 127 when it is not found. So a shell-form CMD stops on SIGTERM at once and zombies never
// pile up. Outside PID 1 it becomes a child subreaper, so orphans are still reaped.
//
// A program of its own, not a verb of berth, and free-standing (syscalls.h): it is exec'd in
// every container. The berth binary carries it (init/image.h).
#include <asm/signal.h>
#include <linux/prctl.h>
#include <linux/wait.h>

#include <cerrno>
#include <cstddef>

#include "init/syscalls.h"

namespace berth::init {
namespace {

constexpr int kSignals = 64;
constexpr size_t kSigsetBytes = 8;
constexpr int kPathMax = 4096;

struct SigInfo {
  int signo, err, code;
  int pad[29];
};

struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  unsigned long mask;
};

size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

void say(const char* s) { sys::call(__NR_write, 2, reinterpret_cast<long>(s), static_cast<long>(length(s))); }

const char* describe(int err) {
  switch (err) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case ENOTDIR: return "Not a directory";
    case ELOOP: return "Too many levels of symbolic links";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Cannot allocate memory";
    default: return "error";
  }
}

[[noreturn]] void exit_with(int code) {
  for (;;) sys::call(__NR_exit_group, code);
}

// "berth-init: <what> <name>: <error>" on stderr.
void complain(const char* what, const char* name, int err) {
  say("berth-init: ");
  say(what);
  if (name) {
    say(" ");
    say(name);
  }
  say(": ");
  say(describe(err));
  say("\n");
}

// execve, then /bin/sh for a file without a #! line (ENOEXEC), as execvp does.
int exec_file(const char* path, char** argv, char** envp) {
  int err = static_cast<int>(-sys::call(__NR_execve, reinterpret_cast<long>(path), reinterpret_cast<long>(argv),
                                        reinterpret_cast<long>(envp)));
  if (err != ENOEXEC) return err;
  int argc = 0;
  while (argv[argc]) ++argc;
  char sh[] = "/bin/sh";
  char* shell_argv[argc + 2];
  shell_argv[0] = sh;
  shell_argv[1] = const_cast<char*>(path);
  for (int i = 1; i <= argc; ++i) shell_argv[i + 1] = argv[i];
  sys::call(__NR_execve, reinterpret_cast<long>(sh), reinterpret_cast<long>(shell_argv), reinterpret_cast<long>(envp));
  return ENOEXEC;
}

// execvp: a name without '/' is looked up in the environment's PATH (or the default one);
// returns the errno that decides 126 or 127.
int exec_command(char** argv, char** envp) {
  const char* name = argv[0];
  for (const char* c = name; *c; ++c) {
    if (*c == '/') return exec_file(name, argv, envp);
  }
  const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char** e = envp; *e; ++e) {
    const char* v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
  }
  size_t name_len = length(name);
  int result = ENOENT;
  char full[kPathMax];
  for (const char* dir = path;; ++dir) {
    const char* end = dir;
    while (*end && *end != ':') ++end;
    size_t dir_len = static_cast<size_t>(end - dir);
    if (dir_len + 1 + name_len < sizeof(full)) {
      size_t n = 0;
      if (dir_len == 0) full[n++] = '.';  // an empty entry is the working directory
      for (const char* c = dir; c < end; ++c) full[n++] = *c;
      full[n++] = '/';
      for (size_t i = 0; i <= name_len; ++i) full[n++] = name[i];
      int err = exec_file(full, argv, envp);
      if (err == EACCES) result = EACCES;
      else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV && err != ETIMEDOUT) return err;
    }
    if (!*end) return result;
    dir = end;
  }
}

// What the command's process needs: it runs (spawn_vfork) on child_stack, in this process's
// memory, until its exec.
struct Command {
  char** argv;
  char** envp;
  unsigned long mask;  // the signal mask to restore
};
// As large as the default stack: exec_file's shell fallback copies argv onto it. Untouched
// pages of .bss cost nothing.
alignas(16) char child_stack[8 << 20];

[[noreturn]] void exec_child(void* arg) {
  const Command& c = *static_cast<const Command*>(arg);
  KernelSigaction dfl{};  // SIG_DFL
  for (int sig = 1; sig <= kSignals; ++sig)
    sys::call(__NR_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, kSigsetBytes);
  sys::call(__NR_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&c.mask), 0, kSigsetBytes);
  int err = exec_command(c.argv, c.envp);
  complain("exec", c.argv[0], err);
  exit_with(err == ENOENT ? 127 : 126);
}

// Signals the init handles itself: SIGCHLD drives the reaping; the others are synchronous
// faults of the init process, not requests for the command.
bool forwarded(int sig) {
  return sig != SIGCHLD && sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL && sig != SIGABRT &&
         sig != SIGTRAP && sig != SIGSYS;
}

int exit_code(int status) {
  if ((status & 0x7f) == 0) return (status >> 8) & 0xff;  // exited
  if (static_cast<signed char>((status & 0x7f) + 1) >> 1 > 0) return 128 + (status & 0x7f);  // killed by a signal
  return 1;
}

[[noreturn]] void run(int argc, char** argv, char** envp) {
  if (argc < 3 || argv[1][0] != '-' || argv[1][1] != '-' || argv[1][2] != '\0') {
    say("usage: berth-init -- COMMAND [ARG...]\n");
    exit_with(127);
  }
  char** command = argv + 2;
  if (sys::call(__NR_getpid) != 1) sys::call(__NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  unsigned long all = ~0UL, old = 0;
  sys::call(__NR_rt_sigprocmask, SIG_BLOCK, reinterpret_cast<long>(&all), reinterpret_cast<long>(&old), kSigsetBytes);

  Command start{command, envp, old};
  long child = sys::spawn_vfork(exec_child, &start, child_stack + sizeof(child_stack));
  if (child < 0) {
    complain("fork", nullptr, static_cast<int>(-child));
    exit_with(126);
  }

  for (;;) {
    SigInfo info{};
    long sig = sys::call(__NR_rt_sigtimedwait, reinterpret_cast<long>(&all), reinterpret_cast<long>(&info), 0,
                         kSigsetBytes);
    if (sig < 0) {
      if (sig == -EINTR || sig == -EAGAIN) continue;
      complain("sigwaitinfo", nullptr, static_cast<int>(-sig));
      exit_with(1);
    }
    if (sig != SIGCHLD) {
      if (forwarded(static_cast<int>(sig))) sys::call(__NR_kill, child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      long pid = sys::call(__NR_wait4, -1, reinterpret_cast<long>(&status), WNOHANG, 0);
      if (pid == -EINTR) continue;
      if (pid <= 0) break;
      if (pid == child) exit_with(exit_code(status));
    }
  }
}

}  // namespace
}  // namespace berth::init

// The compiler may turn loops and struct copies into these calls.
extern "C" void* memset(void* dest, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<unsigned char>(c);
  return dest;
}
extern "C" void* memcpy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return dest;
}

extern "C" [[noreturn]] void berth_init_start(long* sp) {
  int argc = static_cast<int>(sp[0]);
  char** argv = reinterpret_cast<char**>(sp + 1);
  berth::init::run(argc, argv, argv + argc + 1);
}

// The entry point: the kernel leaves argc, argv and envp on the stack.
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call berth_init_start\n  hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n  mov x29, #0\n  mov x30, #0\n  mov x0, sp\n  and sp, x0, #-16\n  bl berth_init_start\n");
#endif
