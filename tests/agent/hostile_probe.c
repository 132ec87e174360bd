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
    writable_paths(argv[0]);
    printf("probe-done\n");
    return 0;
}
