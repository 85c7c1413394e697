/* SPDX-License-Identifier: ISC */
/* Time in milliseconds, as doubles: one definition for every module. */
#ifndef KG_CLOCK_H
#define KG_CLOCK_H

double kg_now_ms(void);         /* wall clock, epoch ms */
double kg_mono_ms(void);        /* monotonic: for intervals and deadlines */

#endif
