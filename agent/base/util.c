/* Helpers with no state (see util.h). Parsers reject anything they do not
 * fully understand rather than guessing, so a typo on the command line is
 * an error at startup and not a surprising retention policy. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int64_t ag_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ag_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct timespec ag_realtime_in(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t ns = (int64_t)t.tv_nsec + (int64_t)(seconds * 1e9);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

int ag_parse_duration(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v)) return -1;
    double mult;
    if (!*end || !strcmp(end, "s")) mult = 1;
    else if (!strcmp(end, "ms")) mult = 0.001;
    else if (!strcmp(end, "m")) mult = 60;
    else if (!strcmp(end, "h")) mult = 3600;
    else if (!strcmp(end, "d")) mult = 86400;
    else if (!strcmp(end, "w")) mult = 7 * 86400;
    else return -1;
    *out = v * mult;
    return 0;
}

int ag_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v)) return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1e3},
        {"kb", 1e3},
        {"kib", 1024.0},
        {"m", 1e6},
        {"mb", 1e6},
        {"mib", 1048576.0},
        {"g", 1e9},
        {"gb", 1e9},
        {"gib", 1073741824.0},
        {"t", 1e12},
        {"tb", 1e12},
        {"tib", 1099511627776.0},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix)) continue;
        double bytes = v * units[i].mult;
        if (bytes >= 1.8e19) return -1;
        *out = (uint64_t)bytes;
        return 0;
    }
    return -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ag_parse_hex64(const char *s, size_t len, uint64_t *out)
{
    if (len != 16) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0) return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* Decimal up to 128 bits (ddtrace prints 128-bit ids in decimal). */
static int parse_decimal128(const char *s, size_t len, uint64_t *high, uint64_t *low)
{
    if (len == 0 || len > 39) return -1;
    unsigned __int128 v = 0, max = ~(unsigned __int128)0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *high = (uint64_t)(v >> 64);
    *low = (uint64_t)v;
    return 0;
}

static int parse_decimal(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ag_parse_trace_id(const char *s, uint64_t *high, uint64_t *low, uint64_t *decimal_alt,
                      bool *has_decimal_alt)
{
    size_t len = strlen(s);
    *has_decimal_alt = false;
    if (len == 32) return ag_parse_hex64(s, 16, high) || ag_parse_hex64(s + 16, 16, low) ? -1 : 0;
    if (len == 16 && ag_parse_hex64(s, 16, low) == 0) {
        *high = 0;
        *has_decimal_alt = parse_decimal(s, len, decimal_alt) == 0;
        return 0;
    }
    return parse_decimal128(s, len, high, low);
}

void ag_hex64(uint64_t v, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[v & 15];
        v >>= 4;
    }
    out[16] = '\0';
}
