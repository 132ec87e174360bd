/* A hostile job's probe, built static and run inside a gpurent container as a real job by
 * tests/agent/test_hostile_images.py. Each line: "<probe> refused|ALLOWED <detail>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *probe, int allowed, const char *detail) {
    printf("%s %s %s\n", probe, allowed ? "ALLOWED" : "refused", detail);
    fflush(stdout);
}

/* Runs fn in a child (a namespace it enters stays with the child); reports its outcome. */
static void in_child(const char *probe, long (*fn)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        long rc = fn();
        _exit(rc < 0 ? (errno & 0x7f) : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 127;
    report(probe, code == 0, code == 0 ? "" : strerror(code));
}

static long new_user(void) { return unshare(CLONE_NEWUSER); }
static long new_net(void) { return unshare(CLONE_NEWNET); }
static long new_mount(void) { return unshare(CLONE_NEWNS); }
static long new_pid(void) { return unshare(CLONE_NEWPID); }
static long new_uts(void) { return unshare(CLONE_NEWUTS); }
static long new_ipc(void) { return unshare(CLONE_NEWIPC); }
static long new_cgroup(void) { return unshare(CLONE_NEWCGROUP); }
static long clone_user(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, 0, 0);
    return pid;
}
static long clone3_user(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, 0, 0);
    return pid;
}
static long setns_net(void) {
    int fd = open("/proc/self/ns/net", O_RDONLY);
    return fd < 0 ? -1 : syscall(SYS_setns, fd, CLONE_NEWNET);
}
static long keyring(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0); }
static long join_keyring(void) { return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "gpurent-probe"); }
static long add_key(void) {
    return syscall(SYS_add_key, "user", "gpurent-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
}
static long request_key(void) {
    long rc = syscall(SYS_request_key, "user", "gpurent-probe", NULL, KEY_SPEC_PROCESS_KEYRING);
    return rc < 0 && errno == ENOKEY ? 0 : rc; /* ENOKEY: the kernel looked, so it was allowed */
}

/* The same calls through the other ABIs of an x86-64 kernel (i386 int 0x80, x32): a profile that
 * names syscalls for x86-64 only would let them through. */
#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c) {
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    if (rc < 0 && rc > -4096) { errno = (int)-rc; return -1; }
    return rc;
}
static long i386_unshare_user(void) { return int80(310, CLONE_NEWUSER, 0, 0); }
static long i386_unshare_net(void) { return int80(310, CLONE_NEWNET, 0, 0); }
static long i386_setns(void) {
    int fd = open("/proc/self/ns/net", O_RDONLY);
    return fd < 0 ? -1 : int80(346, fd, CLONE_NEWNET, 0);
}
static long i386_keyctl(void) { return int80(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0); }
static long i386_mount(void) { /* EFAULT: the kernel read the arguments, so seccomp let it in */
    long rc = int80(21, 0, 0, 1);
    return rc < 0 && errno == EFAULT ? 0 : rc;
}
#define X32 0x40000000L
static long x32_unshare(void) { return syscall(X32 | 272, CLONE_NEWUSER); }
static long x32_keyctl(void) { return syscall(X32 | 250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0); }
#endif
/* Mount-family calls that reach the kernel (Docker's profile stops them without CAP_SYS_ADMIN):
 * a bad type pointer, or an invalid flag, is only noticed by the kernel itself. */
static long mount_reach(void) {
    long rc = syscall(SYS_mount, "none", "/tmp", (const char *)1, 0UL, NULL);
    return rc < 0 && errno == EFAULT ? 0 : rc;
}
static long umount_reach(void) {
    long rc = syscall(SYS_umount2, "/nonexistent", 0x40000000);
    return rc < 0 && errno == EINVAL ? 0 : rc;
}

/* Any capability left to the job (an image label such as io.containers.capabilities). */
static void capabilities(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256], detail[512] = "";
    int any = 0;
    while (status && fgets(line, sizeof line, status)) {
        if (strncmp(line, "Cap", 3) != 0) continue;
        char name[32];
        unsigned long long mask = 0;
        if (sscanf(line, "%31[^:]: %llx", name, &mask) == 2) {
            size_t used = strlen(detail);
            snprintf(detail + used, sizeof detail - used, "%s=%llx ", name, mask);
            any |= mask != 0;
        }
    }
    if (status) fclose(status);
    report("capabilities", any, detail);
}

/* Every mount this container sees: can it be written, how large is it, may files on it run? */
static void writable_paths(const char *self) {
    FILE *mounts = fopen("/proc/mounts", "r");
    char dev[512], dir[512], type[64], opts[512];
    if (!mounts) { report("mounts", 1, "unreadable"); return; }
    while (fscanf(mounts, "%511s %511s %63s %511s %*d %*d", dev, dir, type, opts) == 4) {
        struct stat st;
        char path[1100], detail[1400];
        if (stat(dir, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            snprintf(path, sizeof path, "%s/.gpurent-probe-%d", strcmp(dir, "/") ? dir : "", getpid());
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
            if (fd < 0) continue;
            int src = open(self, O_RDONLY);
            char buf[65536];
            ssize_t n;
            while (src >= 0 && (n = read(src, buf, sizeof buf)) > 0) if (write(fd, buf, n) != n) break;
            if (src >= 0) close(src);
            close(fd);
            int ran = 0;
            pid_t pid = fork();
            if (pid == 0) { execl(path, path, "--true", (char *)0); _exit(126); }
            int status = 0;
            waitpid(pid, &status, 0);
            ran = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            unlink(path);
            struct statvfs vfs;
            unsigned long long size = statvfs(dir, &vfs) == 0 ? (unsigned long long)vfs.f_blocks * vfs.f_frsize : 0;
            snprintf(detail, sizeof detail, "%s type=%s size=%llu exec=%s opts=%s", dir, type, size,
                     ran ? "yes" : "no", opts);
            report("writable", 1, detail);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(dir, O_WRONLY | O_APPEND);
            if (fd < 0) continue;
            close(fd);
            snprintf(detail, sizeof detail, "%s type=%s file opts=%s", dir, type, opts);
            report("writable", 1, detail);
        }
    }
    fclose(mounts);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--true") == 0) return 0;
    in_child("unshare-user", new_user);
    in_child("unshare-net", new_net);
    in_child("unshare-mount", new_mount);
    in_child("unshare-pid", new_pid);
    in_child("unshare-uts", new_uts);
    in_child("unshare-ipc", new_ipc);
    in_child("unshare-cgroup", new_cgroup);
    in_child("clone-newuser", clone_user);
    in_child("clone3-newuser", clone3_user);
    in_child("setns-net", setns_net);
    in_child("keyctl-user-keyring", keyring);
    in_child("keyctl-join-session", join_keyring);
    in_child("add-key", add_key);
    in_child("request-key", request_key);
#if defined(__x86_64__)
    in_child("i386-unshare-user", i386_unshare_user);
    in_child("i386-unshare-net", i386_unshare_net);
    in_child("i386-setns-net", i386_setns);
    in_child("i386-keyctl", i386_keyctl);
    in_child("i386-mount-reach", i386_mount);
    in_child("x32-unshare-user", x32_unshare);
    in_child("x32-keyctl", x32_keyctl);
#endif
    in_child("mount-reach", mount_reach);
    in_child("umount-reach", umount_reach);
    capabilities();
    writable_paths(argv[0]);
    printf("probe-done\n");
    return 0;
}
