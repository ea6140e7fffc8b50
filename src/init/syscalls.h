// The few system calls berth-init makes, called directly: berth-init links no C library,
// because glibc's start-up alone (CPU feature probing, ifunc relocation, TLS, stdio) costs a
// static program ~1.8 ms per exec on these VMs, paid by every container start.
#pragma once

#include <asm/unistd.h>

namespace berth::init::sys {

inline long call(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  ret = x0;
#else
#error "berth-init: no system call glue for this architecture"
#endif
  return ret;  // -errno on failure
}

// Runs fn(arg) in a child process that shares this one's memory until it execs or exits
// (clone with CLONE_VM | CLONE_VFORK, this process waiting meanwhile): no copy of the page
// tables, and the child runs at once on this CPU. The child runs on stack_top (16-byte
// aligned, the highest address of its own stack), so it never writes this process's frames;
// fn must exec or exit (if it returns, the child exits 127). Returns the child's pid, or
// -errno.
inline long spawn_vfork(void (*fn)(void*), void* arg, void* stack_top) {
  constexpr long kFlags =
      0x00000100 /* CLONE_VM */ | 0x00004000 /* CLONE_VFORK */ | 17 /* SIGCHLD */;
  long ret;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = 0;
  register long r8 __asm__("r8") = 0;
  register void (*r12)(void*) __asm__("r12") = fn;
  register void* r13 __asm__("r13") = arg;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov $231, %%eax\n\t"  // exit_group(127)
      "mov $127, %%edi\n\t"
      "syscall\n\t"
      "1:"
      : "=a"(ret)
      : "a"(__NR_clone), "D"(kFlags), "S"(stack_top), "d"(0), "r"(r10), "r"(r8), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = __NR_clone;
  register long x0 __asm__("x0") = kFlags;
  register void* x1 __asm__("x1") = stack_top;
  register long x2 __asm__("x2") = 0;
  register long x3 __asm__("x3") = 0;
  register long x4 __asm__("x4") = 0;
  register void (*x19)(void*) __asm__("x19") = fn;
  register void* x20 __asm__("x20") = arg;
  __asm__ volatile(
      "svc 0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x29, xzr\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "mov x8, #94\n\t"  // exit_group(127)
      "mov x0, #127\n\t"
      "svc 0\n\t"
      "1:"
      : "+r"(x0)
      : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x19), "r"(x20)
      : "x30", "memory");
  ret = x0;
#else
#error "berth-init: no system call glue for this architecture"
#endif
  return ret;
}

}  // namespace berth::init::sys
