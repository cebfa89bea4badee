// A seccomp filter in the spirit of Docker's default profile, written as a deny list:
// kernel-keyring, module, kexec, clock, swap, reboot, BPF/perf, handle-based opens,
// the new mount API and io_uring return EPERM; creating user namespaces (clone and
// unshare with CLONE_NEWUSER) returns EPERM; clone3 returns ENOSYS so libcs fall
// back to clone, whose flags the filter can see; other ABIs than x86-64 are refused.
// As in Docker's profile, a capability the container holds keeps the system calls it
// is meant for: CAP_SYS_ADMIN mount/umount/setns/user namespaces, CAP_SYS_TIME the
// clocks, CAP_SYS_MODULE modules, CAP_SYS_BOOT reboot and so on.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "monitor.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define C(cap) (1ULL << (cap))
#define ALWAYS 0ULL

static const struct {
  int nr;
  unsigned long long grant;  // capabilities any of which allow the call; ALWAYS: denied regardless
} denied[] = {
    {SYS_acct, C(CAP_SYS_PACCT)},
    {SYS_add_key, ALWAYS},
    {SYS_bpf, C(CAP_SYS_ADMIN) | C(CAP_BPF)},
    {SYS_clock_adjtime, C(CAP_SYS_TIME)},
    {SYS_clock_settime, C(CAP_SYS_TIME)},
    {SYS_create_module, ALWAYS},
    {SYS_delete_module, C(CAP_SYS_MODULE)},
    {SYS_finit_module, C(CAP_SYS_MODULE)},
    {SYS_get_kernel_syms, ALWAYS},
    {SYS_init_module, C(CAP_SYS_MODULE)},
    {SYS_ioperm, C(CAP_SYS_RAWIO)},
    {SYS_iopl, C(CAP_SYS_RAWIO)},
    {SYS_kcmp, C(CAP_SYS_PTRACE)},
    {SYS_kexec_file_load, ALWAYS},
    {SYS_kexec_load, ALWAYS},
    {SYS_keyctl, ALWAYS},
    {SYS_lookup_dcookie, C(CAP_SYS_ADMIN)},
    {SYS_mount, C(CAP_SYS_ADMIN)},
    {SYS_move_pages, C(CAP_SYS_NICE)},
    {SYS_name_to_handle_at, C(CAP_SYS_ADMIN)},
    {SYS_nfsservctl, ALWAYS},
    {SYS_open_by_handle_at, C(CAP_DAC_READ_SEARCH)},
    {SYS_perf_event_open, C(CAP_SYS_ADMIN) | C(CAP_PERFMON)},
    {SYS_pivot_root, C(CAP_SYS_ADMIN)},
    {SYS_query_module, ALWAYS},
    {SYS_quotactl, C(CAP_SYS_ADMIN)},
    {SYS_reboot, C(CAP_SYS_BOOT)},
    {SYS_request_key, ALWAYS},
    {SYS_setns, C(CAP_SYS_ADMIN)},
    {SYS_settimeofday, C(CAP_SYS_TIME)},
    {SYS_swapon, ALWAYS},
    {SYS_swapoff, ALWAYS},
    {SYS_sysfs, ALWAYS},
    {SYS__sysctl, ALWAYS},
    {SYS_umount2, C(CAP_SYS_ADMIN)},
    {SYS_uselib, ALWAYS},
    {SYS_userfaultfd, ALWAYS},
    {SYS_ustat, ALWAYS},
#ifdef SYS_fsopen
    {SYS_fsopen, C(CAP_SYS_ADMIN)},
    {SYS_fsconfig, C(CAP_SYS_ADMIN)},
    {SYS_fsmount, C(CAP_SYS_ADMIN)},
    {SYS_fspick, C(CAP_SYS_ADMIN)},
    {SYS_open_tree, C(CAP_SYS_ADMIN)},
    {SYS_move_mount, C(CAP_SYS_ADMIN)},
#endif
#ifdef SYS_io_uring_setup
    {SYS_io_uring_setup, ALWAYS},
    {SYS_io_uring_enter, ALWAYS},
    {SYS_io_uring_register, ALWAYS},
#endif
};

#define NDENIED (sizeof denied / sizeof denied[0])
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

int install_seccomp(unsigned long long caps) {
  // 0-2 arch check, 3 load nr, 4-5 x32 check, then one JEQ per denied syscall, then the
  // tail: without CAP_SYS_ADMIN clone3 -> ENOSYS and clone/unshare with CLONE_NEWUSER
  // -> EPERM (8 instructions), with it just allow (2); the last instruction denies.
  int sysadmin = (caps & C(CAP_SYS_ADMIN)) != 0;
  size_t m = 0;
  for (size_t i = 0; i < NDENIED; i++)
    if (!(denied[i].grant & caps)) m++;
  struct sock_filter f[6 + NDENIED + 8];
  const size_t deny = 6 + m + (sysadmin ? 1 : 7);
  size_t n = 0;
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);  // x32 ABI
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  for (size_t i = 0; i < NDENIED; i++) {
    if (denied[i].grant & caps) continue;
    f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i].nr, (unsigned char)(deny - n - 1), 0);
    n++;
  }
  if (!sysadmin) {
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 435 /* clone3 */, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(ENOSYS));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0);
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 2);
    // flags are the first argument of both on x86-64; CLONE_NEWUSER is in the low word
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 1, 0);
  }
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  if (n != deny + 1) {
    errno = EINVAL;
    return -1;
  }
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
