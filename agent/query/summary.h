/* `ctrace-agent summary`: services, their top resources and the slowest
 * traces, printed as text straight from the database (read-only), so it
 * works whether the agent is running or not. */
#ifndef AG_SUMMARY_H
#define AG_SUMMARY_H

#include <stdio.h>

/* argv[0] is "summary". Returns the process exit status. */
int ag_summary_main(int argc, char **argv, FILE *out);

#endif
