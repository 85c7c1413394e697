/* SPDX-License-Identifier: ISC */
/* The benchmark ceiling: the smallest useful FastCGI program, behind the
 * same web server, so koogate's cost can be reported as a ratio to it. */
#include <fcgiapp.h>

int main(void)
{
	static const char reply[] =
		"Status: 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
		"Content-Length: 46\r\n\r\n"
		"{\"resultCode\":\"000000\",\"resultMsg\":\"success.\"}";
	FCGX_Request f;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&f, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&f) >= 0) {
		FCGX_PutStr(reply, (int)sizeof reply - 1, f.out);
		FCGX_Finish_r(&f);
	}
	return 0;
}
