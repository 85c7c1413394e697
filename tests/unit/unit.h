/* SPDX-License-Identifier: ISC */
/* A tiny header-only test harness for koogate's unit tests.
 *
 * One test function is one behaviour (kcgi style). A test file declares
 *
 *     TEST(b64_encode_rfc4648) { CHECK_STR_EQ(..., ...); }
 *
 * and lists its tests in main:
 *
 *     int main(int argc, char **argv)
 *     {
 *             static const struct unit_test tests[] = { UNIT(b64_encode_rfc4648), ... };
 *             return unit_main(tests, UNIT_COUNT(tests), argc, argv);
 *     }
 *
 * A test function that is declared but not listed is a -Wunused-function
 * error, so a test cannot be forgotten.
 *
 * Each test runs in its own child process (fork), so global state does not
 * leak from one test to the next and a crash or a hang (10 s alarm) fails only
 * that test. UNIT_NOFORK=1 runs everything in one process (for a debugger).
 * Command-line arguments select tests by name.
 *
 * Output, one line per test:   ok <test>
 *                              FAIL <test>: <file>:<line>: <what>
 * and at the end:              N passed, N failed
 * The exit status is 0 only when nothing failed.
 *
 * A failing CHECK returns from the test function (the first failure is the
 * one reported), so the checks must be used directly in the TEST body or in
 * a void helper.
 */
#ifndef KG_UNIT_H
#define KG_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

struct unit_test {
	const char *name;
	void      (*fn)(void);
};

/* Exit status of a child whose test failed (and said so); any other non-zero
 * status (a sanitizer report, exit() in the code under test) is reported. */
#define UNIT_EXIT_FAILED 86

#define TEST(name) static void unit_test_##name(void)
#define UNIT(name) { #name, unit_test_##name }
#define UNIT_COUNT(tab) (sizeof(tab) / sizeof((tab)[0]))

static const char *unit_current = "?";
static int unit_current_failed;

__attribute__((format(printf, 3, 4)))
static void unit_fail(const char *file, int line, const char *fmt, ...);

static void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (unit_current_failed++)
		return;               /* only the first failure of a test is shown */
	printf("FAIL %s: %s:%d: ", unit_current, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Prints up to 400 bytes of s (n bytes) with C escapes for non-printables. */
__attribute__((unused))
static void unit_fput_escaped(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	if (!s) {
		fputs("(null)", f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < n && i < 400; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
	fputc('"', f);
	if (n > 400)
		fprintf(f, "...(%zu bytes)", n);
}

__attribute__((unused))
static bool unit_mem_eq(const char *file, int line, const char *what,
                        const void *a, size_t alen, const void *b, size_t blen)
{
	if (a && b && alen == blen && memcmp(a, b, alen) == 0)
		return true;
	if (unit_current_failed++)
		return false;
	printf("FAIL %s: %s:%d: %s: got ", unit_current, file, line, what);
	unit_fput_escaped(stdout, a, alen);
	printf(" (%zu bytes), expected ", alen);
	unit_fput_escaped(stdout, b, blen);
	printf(" (%zu bytes)\n", blen);
	fflush(stdout);
	return false;
}

#define CHECK(cond) do { \
	if (!(cond)) { \
		unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
		return; \
	} \
} while (0)

/* Like CHECK, with a printf-style explanation. */
#define CHECK_MSG(cond, ...) do { \
	if (!(cond)) { \
		unit_fail(__FILE__, __LINE__, __VA_ARGS__); \
		return; \
	} \
} while (0)

/* a is the value under test, b the expected one (NULL-safe). */
#define CHECK_STR_EQ(a, b) do { \
	const char *unit_a_ = (a), *unit_b_ = (b); \
	if (!unit_mem_eq(__FILE__, __LINE__, "CHECK_STR_EQ(" #a ", " #b ")", \
	                 unit_a_, unit_a_ ? strlen(unit_a_) : 0, \
	                 unit_b_, unit_b_ ? strlen(unit_b_) : 0)) \
		return; \
} while (0)

#define CHECK_MEM_EQ(a, alen, b, blen) do { \
	if (!unit_mem_eq(__FILE__, __LINE__, "CHECK_MEM_EQ(" #a ", " #b ")", \
	                 (a), (alen), (b), (blen))) \
		return; \
} while (0)

#define CHECK_INT_EQ(a, b) do { \
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
	if (unit_a_ != unit_b_) { \
		unit_fail(__FILE__, __LINE__, "CHECK_INT_EQ(%s, %s): got %lld, expected %lld", \
		          #a, #b, unit_a_, unit_b_); \
		return; \
	} \
} while (0)

/* Leaves freed, non-zero memory of common small sizes on the heap, so that a
 * later allocation the code under test forgets to initialise shows garbage
 * instead of the zeros a fresh process would give. */
__attribute__((unused))
static void unit_dirty_heap(void)
{
	static const size_t sizes[] = { 16, 32, 64, 128, 256, 512, 1024 };
	void *p[8];
	size_t s, i;

	for (s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		for (i = 0; i < 8; i++) {
			p[i] = malloc(sizes[s]);
			if (p[i])
				memset(p[i], 'X', sizes[s]);
		}
		for (i = 0; i < 8; i++)
			free(p[i]);
	}
}

static bool unit_selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

/* Runs one test; true when it passed. */
static bool unit_run_one(const struct unit_test *t, bool nofork)
{
	pid_t pid;
	int status;

	unit_current = t->name;
	unit_current_failed = 0;
	fflush(stdout);
	fflush(stderr);
	if (nofork) {
		t->fn();
		return unit_current_failed == 0;
	}
	pid = fork();
	if (pid < 0) {
		printf("FAIL %s: %s:%d: fork failed\n", t->name, __FILE__, __LINE__);
		return false;
	}
	if (pid == 0) {
		alarm(10);
		t->fn();
		fflush(stdout);
		_exit(unit_current_failed ? UNIT_EXIT_FAILED : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status))
		printf("FAIL %s: %s:%d: crashed (signal %d%s)\n", t->name, __FILE__, __LINE__,
		       WTERMSIG(status), WTERMSIG(status) == SIGALRM ? ", timeout" : "");
	else if (WEXITSTATUS(status) != UNIT_EXIT_FAILED)
		printf("FAIL %s: %s:%d: exited with status %d\n", t->name, __FILE__, __LINE__,
		       WEXITSTATUS(status));
	return false;
}

static int unit_main(const struct unit_test *tests, size_t n, int argc, char **argv)
{
	const char *nf = getenv("UNIT_NOFORK");
	bool nofork = nf && *nf && strcmp(nf, "0") != 0;
	unsigned passed = 0, failed = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		if (!unit_selected(tests[i].name, argc, argv))
			continue;
		if (unit_run_one(&tests[i], nofork)) {
			printf("ok %s\n", tests[i].name);
			passed++;
		} else {
			failed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
