// A seccomp filter in the spirit of Docker's default profile, written as a deny list:
// kernel-keyring, module, kexec, clock, swap, reboot, BPF/perf, handle-based opens,
// the new mount API and io_uring return EPERM; creating user namespaces (clone and
// unshare with CLONE_NEWUSER) returns EPERM; clone3 returns ENOSYS so libcs fall
// back to clone, whose flags the filter can see; other ABIs than x86-64 are refused.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "monitor.h"

static const int denied[] = {
    SYS_acct, SYS_add_key, SYS_bpf, SYS_clock_adjtime, SYS_clock_settime, SYS_create_module, SYS_delete_module,
    SYS_finit_module, SYS_get_kernel_syms, SYS_init_module, SYS_ioperm, SYS_iopl, SYS_kcmp, SYS_kexec_file_load,
    SYS_kexec_load, SYS_keyctl, SYS_lookup_dcookie, SYS_mount, SYS_move_pages, SYS_name_to_handle_at,
    SYS_nfsservctl, SYS_open_by_handle_at, SYS_perf_event_open, SYS_pivot_root, SYS_query_module, SYS_quotactl,
    SYS_reboot, SYS_request_key, SYS_setns, SYS_settimeofday, SYS_swapon, SYS_swapoff, SYS_sysfs, SYS__sysctl,
    SYS_umount2, SYS_uselib, SYS_userfaultfd, SYS_ustat,
#ifdef SYS_fsopen
    SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_open_tree, SYS_move_mount,
#endif
#ifdef SYS_io_uring_setup
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
};

#define NDENIED (sizeof denied / sizeof denied[0])
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

int install_seccomp(void) {
  // 0-2 arch check, 3 load nr, 4-5 x32 check, then one JEQ per denied syscall (k = 6 + N),
  // k..k+1 clone3, k+2..k+5 clone/unshare flags, k+6 allow, k+7 deny.
  struct sock_filter f[6 + NDENIED + 8];
  const size_t k = 6 + NDENIED, deny = k + 7;
  size_t n = 0;
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);  // x32 ABI
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  for (size_t i = 0; i < NDENIED; i++, n++)
    f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i], (unsigned char)(deny - n - 1), 0);
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 435 /* clone3 */, 0, 1);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(ENOSYS));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0);
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 2);
  // flags are the first argument of both on x86-64; CLONE_NEWUSER is in the low word
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
  if (n != deny + 1) return -1;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
