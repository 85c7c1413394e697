/* SPDX-License-Identifier: ISC */
/* The benchmark ceiling: the smallest useful FastCGI program, behind the
 * same web server and started the same way (listen.h), so koogate's cost
 * can be reported as a ratio to it. */
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <stdio.h>
#include "listen.h"
#include "log.h"

int main(void)
{
	static const char reply[] =
		"Status: 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
		"Content-Length: 46\r\n\r\n"
		"{\"resultCode\":\"000000\",\"resultMsg\":\"success.\"}";
	FCGX_Request f;
	char err[256];
	unsigned n = kg_processes_wanted();

	if (n == 0 || !kg_listen_adopt(err, sizeof err)) {
		fprintf(stderr, "hello: %s\n", n ? err : "KOOGATE_PROCESSES out of range");
		return 1;
	}
	kg_log_init("hello");
	kg_supervise("hello", n);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&f, 0, 0) != 0)
		return 1;
	for (;;) {
		struct pollfd in = { .fd = 0, .events = POLLIN };
		int r;

		if (poll(&in, 1, -1) < 0 && errno != EINTR)
			return 1;
		r = kg_listen_accept(&f);
		if (r == 0)
			continue;
		if (r < 0)
			return 0;
		FCGX_PutStr(reply, (int)sizeof reply - 1, f.out);
		FCGX_Finish_r(&f);
	}
}
