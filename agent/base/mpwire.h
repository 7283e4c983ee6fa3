/* msgpack's wire format: the tag bytes and the big-endian fields after them
 * (github.com/msgpack/msgpack, spec.md).
 *
 * The agent reads and writes msgpack by hand where msgpack-c's callbacks
 * cost more than the work: the intake's decoder reads tracers' payloads
 * (intake/decode.c, intake/json2mp.c) and the blob codec writes and reads
 * stored chunks (model/blob.c). This is their one description of the
 * format, so the two cannot disagree on a tag. Everything is inline and
 * stateless; nothing here checks bounds or fails: callers check that the
 * bytes they read are there. */
#ifndef AG_MPWIRE_H
#define AG_MPWIRE_H

#include <stdbool.h>
#include <stdint.h>

enum {
    AG_MP_POSFIXINT_MAX = 0x7f, /* 0x00-0x7f: the integer itself */
    AG_MP_FIXMAP = 0x80,        /* 0x80-0x8f: a map of up to 15 pairs */
    AG_MP_FIXARRAY = 0x90,      /* 0x90-0x9f: an array of up to 15 */
    AG_MP_FIXSTR = 0xa0,        /* 0xa0-0xbf: a str of up to 31 bytes */
    AG_MP_NIL = 0xc0,
    AG_MP_NEVER_USED = 0xc1, /* reserved: invalid anywhere */
    AG_MP_FALSE = 0xc2,
    AG_MP_TRUE = 0xc3,
    AG_MP_BIN8 = 0xc4,
    AG_MP_BIN16 = 0xc5,
    AG_MP_BIN32 = 0xc6,
    AG_MP_EXT8 = 0xc7,
    AG_MP_EXT16 = 0xc8,
    AG_MP_EXT32 = 0xc9,
    AG_MP_FLOAT32 = 0xca,
    AG_MP_FLOAT64 = 0xcb,
    AG_MP_UINT8 = 0xcc,
    AG_MP_UINT16 = 0xcd,
    AG_MP_UINT32 = 0xce,
    AG_MP_UINT64 = 0xcf,
    AG_MP_INT8 = 0xd0,
    AG_MP_INT16 = 0xd1,
    AG_MP_INT32 = 0xd2,
    AG_MP_INT64 = 0xd3,
    AG_MP_FIXEXT1 = 0xd4,
    AG_MP_FIXEXT2 = 0xd5,
    AG_MP_FIXEXT4 = 0xd6,
    AG_MP_FIXEXT8 = 0xd7,
    AG_MP_FIXEXT16 = 0xd8,
    AG_MP_STR8 = 0xd9,
    AG_MP_STR16 = 0xda,
    AG_MP_STR32 = 0xdb,
    AG_MP_ARRAY16 = 0xdc,
    AG_MP_ARRAY32 = 0xdd,
    AG_MP_MAP16 = 0xde,
    AG_MP_MAP32 = 0xdf,
    AG_MP_NEGFIXINT = 0xe0, /* 0xe0-0xff: -32 to -1 */
};

/* The longest str a fixstr tag holds, and the count a fixarray or fixmap
 * tag holds (the low bits of the tag). */
#define AG_MP_FIXSTR_MAX 31
#define AG_MP_FIX_MAX 15

static inline bool ag_mp_is_fixmap(unsigned c) { return c >= AG_MP_FIXMAP && c <= 0x8f; }
static inline bool ag_mp_is_fixarray(unsigned c) { return c >= AG_MP_FIXARRAY && c <= 0x9f; }
static inline bool ag_mp_is_fixstr(unsigned c) { return c >= AG_MP_FIXSTR && c <= 0xbf; }

/* Any str tag. */
static inline bool ag_mp_is_str(unsigned c)
{
    return ag_mp_is_fixstr(c) || c == AG_MP_STR8 || c == AG_MP_STR16 || c == AG_MP_STR32;
}

/* Any str or bin tag: the agent reads both as bytes. */
static inline bool ag_mp_is_raw(unsigned c)
{
    return ag_mp_is_str(c) || c == AG_MP_BIN8 || c == AG_MP_BIN16 || c == AG_MP_BIN32;
}

/* Bytes of the length after a str8/16/32 or bin8/16/32 tag: 1, 2 or 4.
 * Only for those tags (a fixstr holds its length in the tag). */
static inline int ag_mp_raw_len_width(unsigned c)
{
    return c == AG_MP_STR8 || c == AG_MP_BIN8 ? 1 : c == AG_MP_STR16 || c == AG_MP_BIN16 ? 2 : 4;
}

/* The n-byte (1 to 8) big-endian unsigned integer at p. */
static inline uint64_t ag_mp_load_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Writes the low n bytes (1 to 8) of v big-endian at p. */
static inline void ag_mp_store_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

#endif
