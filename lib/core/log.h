/* SPDX-License-Identifier: ISC */
/* Logging to stderr, which the web server puts in its error log. One line per
 * request; never a secret, signature or password. */
#ifndef KG_LOG_H
#define KG_LOG_H

#include <stdbool.h>

#ifndef KG_VERSION
#define KG_VERSION "unknown"
#endif

void kg_log_init(const char *program);
/* Points stderr (fd 2) at PATH, appending; called at start and again on
 * SIGHUP, so a rotated log_file is let go of. */
bool kg_log_open(const char *path);
void kg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
