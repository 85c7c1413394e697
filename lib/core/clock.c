/* SPDX-License-Identifier: ISC */
#include "clock.h"

#include <time.h>

static double ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double kg_now_ms(void)
{
	return ms(CLOCK_REALTIME);
}

double kg_mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}
