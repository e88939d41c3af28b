/*
 * Integration test harness: child processes. Every child is tracked by
 * pid until teardown kills (SIGKILL) and reaps it; each one dies with the
 * test process through PR_SET_PDEATHSIG.
 */

#include "harness.h"
#include "harness_impl.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHILDREN	64

struct child {
	pid_t	 pid;
	bool	 done;
	int	 status;
};

static struct {
	struct child	 kids[MAX_CHILDREN];
	size_t		 nkids;
} H;

void
harness_proc_reset(void)
{
	memset(&H, 0, sizeof H);
}

static struct child *
child_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < H.nkids; i++)
		if (H.kids[i].pid == pid)
			return &H.kids[i];
	return NULL;
}

/* Reaps pid without blocking; true if it has ended (now or before). */
static bool
child_reap(struct child *c)
{
	int st;
	pid_t r;

	if (c->done)
		return true;
	r = waitpid(c->pid, &st, WNOHANG);
	if (r == c->pid || (r == -1 && errno == ECHILD)) {
		c->done = true;
		c->status = r == c->pid ? st : -1;
		return true;
	}
	return false;
}

pid_t
harness_spawn(char *const argv[], const char *logpath)
{
	pid_t parent = getpid(), pid;
	int fd;
	sigset_t none;

	if (H.nkids == MAX_CHILDREN) {
		harness_log("too many children");
		return -1;
	}
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1) {
		harness_log("open %s: %s", logpath, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		harness_log("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int nul;

		/* Die with the test process, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if ((nul = open("/dev/null", O_RDONLY)) != -1)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	H.kids[H.nkids].pid = pid;
	H.kids[H.nkids].done = false;
	H.kids[H.nkids].status = -1;
	H.nkids++;
	return pid;
}

int
harness_kill(pid_t pid, int sig)
{
	struct child *c = child_find(pid);

	if (c == NULL || child_reap(c))
		return -1;
	return kill(pid, sig);
}

int
harness_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	struct child *c = child_find(pid);
	int64_t deadline = harness_elapsed_ms() + timeout_ms;

	if (c == NULL)
		return -1;
	for (;;) {
		if (child_reap(c)) {
			if (status != NULL)
				*status = c->status;
			return 0;
		}
		if (harness_elapsed_ms() >= deadline)
			return -1;
		harness_sleep_ms(20);
	}
}

bool
harness_alive(pid_t pid)
{
	struct child *c = child_find(pid);

	return c != NULL && !child_reap(c);
}

int
harness_exit_status(pid_t pid)
{
	struct child *c = child_find(pid);

	if (c == NULL || !child_reap(c))
		return -1;
	return c->status;
}

void
harness_kill_and_reap(pid_t pid)
{
	struct child *c = child_find(pid);
	int st;

	if (c == NULL || child_reap(c))
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	c->done = true;
	c->status = st;
}

int
harness_run(char *const argv[], const char *logpath, int timeout_ms)
{
	pid_t pid;
	int st;

	if ((pid = harness_spawn(argv, logpath)) == -1)
		return -1;
	if (harness_wait_exit(pid, timeout_ms, &st) == -1) {
		harness_log("%s: still running after %d ms, killed", argv[0],
		    timeout_ms);
		harness_kill_and_reap(pid);
		return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	harness_log("%s: killed by signal %d", argv[0],
	    WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	return -1;
}

int
harness_wait_until(bool (*pred)(void *), void *arg, int timeout_ms,
    const char *what)
{
	int64_t deadline = harness_elapsed_ms() + timeout_ms;

	for (;;) {
		if (pred(arg))
			return 0;
		if (harness_elapsed_ms() >= deadline) {
			harness_log("timed out after %d ms waiting for %s",
			    timeout_ms, what);
			return -1;
		}
		harness_sleep_ms(100);
	}
}


void
harness_kill_all(void)
{
	size_t i;

	/* Newest first: clients go before the servers they talk to. */
	for (i = H.nkids; i > 0; i--)
		harness_kill_and_reap(H.kids[i - 1].pid);
}
