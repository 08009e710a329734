/* syslogout: events as key=value lines to the local syslog daemon, never blocking the loop. */
#ifndef AW_SYSLOGOUT_H
#define AW_SYSLOGOUT_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "event.h"

struct syslogout;

struct syslogout *syslogout_new(const struct cfg_syslog *cfg);
void syslogout_free(struct syslogout *out);

/* Sends one line; a full or absent syslog socket drops it, counted. */
void syslogout_send(struct syslogout *out, const struct event *event, const char *message);
uint64_t syslogout_dropped(const struct syslogout *out);

/* The line's text after the syslog header, e.g. event=call.started id=... cc=1 ... msg="...". */
void syslogout_format(const struct event *event, const char *message, char *buf, size_t size);

#endif
