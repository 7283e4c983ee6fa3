/* Small parsers and formatters shared by the agent: clock, durations and
 * sizes from the command line, ids in hex or decimal (hashing is hash.h). */
#ifndef AG_UTIL_H
#define AG_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <time.h>

/* On a function whose result says whether it worked: ignoring it is a
 * compile-time warning (an error with -Werror). */
#define AG_MUST_CHECK __attribute__((warn_unused_result))

/* Wall clock, nanoseconds since the epoch. Can't fail. */
int64_t ag_now_ns(void);
/* Monotonic clock in nanoseconds. Can't fail. */
int64_t ag_mono_ns(void);
/* The wall-clock time `seconds` from now, as pthread_cond_timedwait takes
 * it. Can't fail. */
struct timespec ag_realtime_in(double seconds);

/* "7d", "12h", "30m", "45s", "500ms", plain seconds; "0" means none.
 * Returns 0 and *out in seconds (ms rounded up), or -1 when malformed. */
AG_MUST_CHECK int ag_parse_duration(const char *s, double *out_seconds);
/* "1GiB", "512MiB", "10MB", "4096", "0"; case-insensitive.
 * Returns 0 and *out in bytes, or -1 when malformed or overflowing. */
AG_MUST_CHECK int ag_parse_size(const char *s, uint64_t *out);

/* A trace id as the query API accepts it: 32 hex digits (128-bit), 16 hex
 * digits, or decimal digits (64- or 128-bit). Returns 0 and fills high/low, -1 otherwise.
 * A 16-digit string of decimal digits is read as hex, but could also be a
 * decimal id: then *has_decimal_alt is set and *decimal_alt holds that
 * reading (the caller may retry with it); otherwise *has_decimal_alt is
 * false and *decimal_alt is left alone. */
AG_MUST_CHECK int ag_parse_trace_id(const char *s, uint64_t *high, uint64_t *low,
                                    uint64_t *decimal_alt, bool *has_decimal_alt);
/* Exactly 16 hex digits (either case) -> 0 and *out; -1 otherwise. */
AG_MUST_CHECK int ag_parse_hex64(const char *s, size_t len, uint64_t *out);

/* Writes 16 lowercase hex digits and a '\0' into out[17]. */
void ag_hex64(uint64_t v, char out[17]);

#endif
