/*
 * slowdisk: an LD_PRELOAD shim for bench/stall.sh. It makes the disk slow (fdatasync, fsync,
 * rename and renameat each sleep BENCH_DISK_DELAY_MS first) and measures the event loop's stalls:
 * the time from epoll_wait returning to the next call of it on the same thread, which is the time
 * one loop iteration kept the loop from waiting; also the loop thread's CPU time in it, and the
 * iteration's length without the time it sat runnable waiting for a CPU (run_delay from
 * /proc/thread-self/schedstat): on a loaded machine that is the stall the daemon itself caused.
 * Every second, and at exit, it rewrites BENCH_STALL_OUT with "iterations N max_us X over_1ms A
 * over_10ms B over_50ms C max_cpu_us D loop_disk_calls E max_own_us F own_over_10ms G"
 * (E: delayed calls made on the loop thread).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static pthread_t loop_thread;
static int have_loop;
static uint64_t loop_disk_calls;

static void disk_delay(void)
{
	static long ms = -1;
	struct timespec ts;

	if (have_loop && pthread_equal(loop_thread, pthread_self()))
		loop_disk_calls++;
	if (ms < 0)
		ms = getenv("BENCH_DISK_DELAY_MS") ? atol(getenv("BENCH_DISK_DELAY_MS")) : 100;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)

int fdatasync(int fd)
{
	REAL(fdatasync);
	disk_delay();
	return real(fd);
}

int fsync(int fd)
{
	REAL(fsync);
	disk_delay();
	return real(fd);
}

int rename(const char *from, const char *to)
{
	REAL(rename);
	disk_delay();
	return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	REAL(renameat);
	disk_delay();
	return real(fromfd, from, tofd, to);
}

/* The loop thread's figures: only the thread that calls epoll_wait first is measured. */
static uint64_t returned_at, returned_cpu, iterations, max_gap, max_cpu, over1, over10, over50;
static uint64_t dumped_at, returned_delay, max_own, own_over10;
static int schedstat_fd = -1;

/* Nanoseconds this thread has waited on a run queue, in µs; 0 when unknown. */
static uint64_t run_delay_us(void)
{
	char buf[128];
	unsigned long long run, delay;
	ssize_t n;

	if (schedstat_fd < 0)
		schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	n = schedstat_fd < 0 ? -1 : pread(schedstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &run, &delay) == 2 ? delay / 1000 : 0;
}

static void dump(void)
{
	const char *out = getenv("BENCH_STALL_OUT");
	char line[256];
	int fd, n;

	if (!out)
		return;
	n = snprintf(line, sizeof(line), "iterations %llu max_us %llu over_1ms %llu over_10ms %llu "
		     "over_50ms %llu max_cpu_us %llu loop_disk_calls %llu max_own_us %llu "
		     "own_over_10ms %llu\n",
		     (unsigned long long)iterations, (unsigned long long)max_gap,
		     (unsigned long long)over1, (unsigned long long)over10,
		     (unsigned long long)over50, (unsigned long long)max_cpu,
		     (unsigned long long)loop_disk_calls, (unsigned long long)max_own,
		     (unsigned long long)own_over10);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0)
			perror("slowdisk");
		close(fd);
	}
}

static int mine(void)
{
	/* The main thread is the loop: the daemon calls epoll on no other. */
	if (!have_loop) {
		loop_thread = pthread_self();
		have_loop = 1;
	}
	return pthread_equal(loop_thread, pthread_self());
}

static void before_wait(void)
{
	uint64_t gap;

	if (!mine() || !returned_at)
		return;
	gap = cpu_us() - returned_cpu;
	if (gap > max_cpu)
		max_cpu = gap;
	gap = now_us() - returned_at;
	iterations++;
	if (gap > max_gap)
		max_gap = gap;
	over1 += gap > 1000;
	over10 += gap > 10000;
	over50 += gap > 50000;
	gap -= run_delay_us() - returned_delay;
	if ((int64_t)gap > (int64_t)max_own)
		max_own = gap;
	own_over10 += (int64_t)gap > 10000;
}

static void after_wait(void)
{
	if (!mine())
		return;
	if (now_us() - dumped_at >= 1000000) {
		dump();
		dumped_at = now_us();
	}
	returned_delay = run_delay_us();
	returned_at = now_us();
	returned_cpu = cpu_us();
}

int epoll_wait(int epfd, struct epoll_event *ev, int n, int timeout)
{
	int r;

	REAL(epoll_wait);
	before_wait();
	r = real(epfd, ev, n, timeout);
	after_wait();
	return r;
}

int epoll_pwait(int epfd, struct epoll_event *ev, int n, int timeout, const sigset_t *mask)
{
	int r;

	REAL(epoll_pwait);
	before_wait();
	r = real(epfd, ev, n, timeout, mask);
	after_wait();
	return r;
}

int epoll_pwait2(int epfd, struct epoll_event *ev, int n, const struct timespec *timeout,
		 const sigset_t *mask)
{
	int r;

	REAL(epoll_pwait2);
	before_wait();
	r = real(epfd, ev, n, timeout, mask);
	after_wait();
	return r;
}

__attribute__((destructor)) static void at_exit(void)
{
	dump();
}
