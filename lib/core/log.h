/* Logging to stderr, which the web server puts in its error log. One line per
 * request; never a secret, signature or password. */
#ifndef KG_LOG_H
#define KG_LOG_H

void kg_log_init(const char *program);
void kg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
