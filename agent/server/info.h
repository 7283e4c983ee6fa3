/* The /info document, as the Datadog agent publishes it: tracers read it
 * to learn the endpoints and features the agent supports. Built once at
 * startup (it only depends on the configuration); its hash is the
 * Datadog-Agent-State header of every reply. */
#ifndef AG_INFO_H
#define AG_INFO_H

#include "buf.h"
#include "config.h"

/* Writes the /info JSON into out and its state hash (16 hex) into state. */
void ag_info_build(const ag_config *c, int bound_port, ag_buf *out, char state[17]);

#endif
