/* SPDX-License-Identifier: ISC */
/* The listening socket and the supervisor (listen.h): where the socket comes
 * from (standard input, or systemd's LISTEN_FDS), KOOGATE_PROCESSES, and the
 * supervisor replacing a killed worker and stopping its workers. */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "listen.h"

/* A listening Unix socket with an abstract name the kernel picks. */
static int listening_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)) != 0 || listen(fd, 8) != 0)
		return -1;
	return fd;
}

static void stdin_from_dev_null(void)
{
	int fd = open("/dev/null", O_RDONLY);

	dup2(fd, 0);
	close(fd);
}

static bool is_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* The live (not zombie) children of PARENT, up to MAX of them. */
static int children_of(pid_t parent, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		FILE *f;
		char state;
		int ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 && ppid == parent && state != 'Z' && n < max)
			out[n++] = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static bool alive(pid_t pid)
{
	char path[64], buf[512], *p, state = 'X';
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && sscanf(p + 1, " %c", &state) == 1 && state != 'Z';
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits up to 5 s until PARENT has WANT children (none of them SKIP). */
static int wait_children(pid_t parent, int want, pid_t skip, pid_t *out)
{
	for (int i = 0; i < 100; i++) {
		int n = children_of(parent, out, 8);
		bool skipped = false;

		for (int k = 0; k < n; k++)
			skipped |= out[k] == skip;
		if (n == want && !skipped)
			return n;
		sleep_ms(50);
	}
	return children_of(parent, out, 8);
}

/* In the test's child: the supervisor, or (where kg_supervise returns) a
 * worker that waits to be stopped. */
static pid_t start_supervisor(unsigned n, void (*term_action)(int))
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, term_action);   /* as inherited from whoever started it */
		kg_supervise("test", n);
		for (;;)
			pause();
	}
	return pid;
}

TEST(processes_wanted_default_and_range)
{
	unsetenv("KOOGATE_PROCESSES");
	CHECK(kg_processes_wanted() == 1);
	setenv("KOOGATE_PROCESSES", "", 1);
	CHECK(kg_processes_wanted() == 1);
	setenv("KOOGATE_PROCESSES", "8", 1);
	CHECK(kg_processes_wanted() == 8);
	setenv("KOOGATE_PROCESSES", "64", 1);
	CHECK(kg_processes_wanted() == KG_MAX_PROCESSES);
}

TEST(processes_wanted_refuses_nonsense)
{
	static const char *bad[] = { "0", "65", "-1", "4x", " 4", "0x10", "99999999999999999999" };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		setenv("KOOGATE_PROCESSES", bad[i], 1);
		CHECK_MSG(kg_processes_wanted() == 0, "KOOGATE_PROCESSES=%s accepted", bad[i]);
	}
}

TEST(adopt_standard_input_socket_nonblocking)
{
	char err[256];
	int fd = listening_socket();

	CHECK(fd >= 0);
	dup2(fd, 0);
	unsetenv("LISTEN_FDS");
	CHECK(kg_listen_adopt(err, sizeof err));
	CHECK(is_listening(0));
	CHECK(fcntl(0, F_GETFL) & O_NONBLOCK);
}

TEST(adopt_systemd_listen_fds)
{
	char err[256], pid[16];
	int fd = listening_socket();

	CHECK(fd >= 0);
	CHECK(dup2(fd, 3) == 3);
	if (fd != 3)
		close(fd);
	stdin_from_dev_null();
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDNAMES", "produce.sock", 1);
	CHECK_MSG(kg_listen_adopt(err, sizeof err), "%s", err);
	CHECK(is_listening(0));
	CHECK(fcntl(3, F_GETFD) == -1);         /* moved, not copied */
	/* Nothing the program runs later inherits them. */
	CHECK(getenv("LISTEN_FDS") == NULL && getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDNAMES") == NULL);
}

TEST(adopt_refuses_more_than_one_socket)
{
	char err[256], pid[16];

	stdin_from_dev_null();
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_PID", pid, 1);
	CHECK(!kg_listen_adopt(err, sizeof err));
	CHECK(strstr(err, "exactly one socket") != NULL);
}

TEST(adopt_ignores_listen_fds_of_another_process)
{
	char err[256];
	int fd = listening_socket();

	CHECK(fd >= 0);
	CHECK(dup2(fd, 3) == 3);
	stdin_from_dev_null();
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", "1", 1);           /* meant for PID 1, inherited by mistake */
	CHECK(!kg_listen_adopt(err, sizeof err));
	CHECK(is_listening(3));
	CHECK(strstr(err, "not a listening socket") != NULL);
}

TEST(adopt_refuses_standard_input_that_is_no_socket)
{
	char err[256];

	stdin_from_dev_null();
	unsetenv("LISTEN_FDS");
	CHECK(!kg_listen_adopt(err, sizeof err));
	CHECK(strstr(err, "not a listening socket") != NULL);
}

TEST(accept_with_nothing_waiting_means_a_sibling_took_it)
{
	char err[256];
	FCGX_Request f;
	int fd = listening_socket();

	CHECK(fd >= 0);
	dup2(fd, 0);
	unsetenv("LISTEN_FDS");
	CHECK(kg_listen_adopt(err, sizeof err));
	CHECK(FCGX_Init() == 0 && FCGX_InitRequest(&f, 0, 0) == 0);
	CHECK(kg_listen_accept(&f) == 0);       /* not -1: the process keeps serving */
}

TEST(supervise_one_process_returns_without_forking)
{
	pid_t kids[8];

	kg_supervise("test", 1);
	CHECK(children_of(getpid(), kids, 8) == 0);
}

TEST(supervisor_replaces_a_killed_worker_and_stops_on_sigterm)
{
	pid_t kids[8], again[8], sup = start_supervisor(3, SIG_DFL);
	int status = -1;

	CHECK(sup > 0);
	CHECK_MSG(wait_children(sup, 3, 0, kids) == 3, "workers did not start");
	CHECK(kill(kids[0], SIGKILL) == 0);
	CHECK_MSG(wait_children(sup, 3, kids[0], again) == 3, "killed worker not replaced");
	CHECK(alive(sup));
	CHECK(kill(sup, SIGTERM) == 0);
	CHECK(waitpid(sup, &status, 0) == sup);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "supervisor status %d", status);
	for (int i = 0; i < 3; i++)
		CHECK_MSG(!alive(again[i]), "worker %d outlived its supervisor", (int)again[i]);
}

TEST(workers_end_with_a_killed_supervisor)
{
	pid_t kids[8], sup = start_supervisor(2, SIG_DFL);
	int n;

	CHECK(sup > 0);
	n = wait_children(sup, 2, 0, kids);
	CHECK(n == 2);
	CHECK(kill(sup, SIGKILL) == 0);
	CHECK(waitpid(sup, NULL, 0) == sup);
	for (int i = 0; i < 100 && (alive(kids[0]) || alive(kids[1])); i++)
		sleep_ms(50);
	CHECK_MSG(!alive(kids[0]) && !alive(kids[1]), "workers %d %d still running", (int)kids[0], (int)kids[1]);
}

/* nohup, or a parent that ignores SIGTERM: systemctl stop must still work. */
TEST(supervisor_stops_on_sigterm_inherited_as_ignored)
{
	pid_t kids[8], sup = start_supervisor(2, SIG_IGN);
	int status = -1;

	CHECK(sup > 0);
	CHECK(wait_children(sup, 2, 0, kids) == 2);
	CHECK(kill(sup, SIGTERM) == 0);
	for (int i = 0; i < 100 && waitpid(sup, &status, WNOHANG) == 0; i++)
		sleep_ms(50);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "supervisor still running or status %d", status);
	CHECK(!alive(kids[0]) && !alive(kids[1]));
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(processes_wanted_default_and_range),
		UNIT(processes_wanted_refuses_nonsense),
		UNIT(adopt_standard_input_socket_nonblocking),
		UNIT(adopt_systemd_listen_fds),
		UNIT(adopt_refuses_more_than_one_socket),
		UNIT(adopt_ignores_listen_fds_of_another_process),
		UNIT(adopt_refuses_standard_input_that_is_no_socket),
		UNIT(accept_with_nothing_waiting_means_a_sibling_took_it),
		UNIT(supervise_one_process_returns_without_forking),
		UNIT(supervisor_replaces_a_killed_worker_and_stops_on_sigterm),
		UNIT(workers_end_with_a_killed_supervisor),
		UNIT(supervisor_stops_on_sigterm_inherited_as_ignored),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
