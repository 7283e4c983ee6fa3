/* libFuzzer target for the propagation header parsers (propagation.h).
 * Every input is handed to each parser in turn (traceparent, the
 * tracestate dd= member, x-datadog-tags, baggage, the decimal and hex id
 * parsers), so one corpus serves them all, and each result is checked
 * against the header's contract, not only for crashes:
 *   - a rejected list reports no pair at all (taken whole or not at all);
 *   - what a parser accepts, the matching formatter writes back and the
 *     parser reads again to the same values (ids, flags, tags);
 *   - formatters never write past their documented sizes.
 * A broken contract calls abort(), so libFuzzer keeps the input. Built
 * with libFuzzer by meson -Dfuzz=true (make fuzz); replayed without clang by ../replay.c in the
 * ordinary test run (meson test propagation_corpus). */
#include "propagation.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_target.h"

/* The pairs a parser reported, copied out (they are borrowed). */
typedef struct pairs {
    size_t count;
    char text[4][CT_PROP_BAGGAGE_MAX_BYTES + 16]; /* the first few, "k\0v" */
    size_t key_len[4], value_len[4];
} pairs;

static int collect(void *arg, const char *key, size_t key_len, const char *value, size_t value_len)
{
    pairs *p = arg;
    CHECK(key_len > 0);
    if (p->count < 4 && key_len + value_len + 1 <= sizeof p->text[0]) {
        memcpy(p->text[p->count], key, key_len);
        memcpy(p->text[p->count] + key_len + 1, value, value_len);
        p->key_len[p->count] = key_len;
        p->value_len[p->count] = value_len;
    }
    p->count++;
    return 0;
}

static void check_traceparent(const char *text, size_t len)
{
    ct_traceparent tp;
    if (ct__prop_parse_traceparent(text, len, &tp) != CT_OK) {
        CHECK(!tp.trace_id_high && !tp.trace_id_low && !tp.parent_id && !tp.flags);
        return;
    }
    CHECK((tp.trace_id_high || tp.trace_id_low) && tp.parent_id);
    char out[56];
    CHECK(ct__prop_format_traceparent(tp.trace_id_high, tp.trace_id_low, tp.parent_id, tp.flags & 1,
                                      out) == 55);
    CHECK(out[55] == '\0');
    ct_traceparent again;
    CHECK(ct__prop_parse_traceparent(out, 55, &again) == CT_OK);
    CHECK(again.trace_id_high == tp.trace_id_high && again.trace_id_low == tp.trace_id_low &&
          again.parent_id == tp.parent_id && again.flags == (tp.flags & 1));
}

static void check_datadog_tags(const char *text, size_t len)
{
    static pairs first, second;
    memset(&first, 0, sizeof first);
    int rc = ct__prop_parse_datadog_tags(text, len, collect, &first);
    if (rc != CT_OK) {
        CHECK(first.count == 0);
        CHECK(rc == CT_EINVAL || rc == CT_ENOSPC);
        return;
    }
    /* Re-encode what was read; it must fit and read back the same. */
    char out[CT_PROP_DATADOG_TAGS_MAX + 1];
    size_t out_len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < first.count && i < 4; i++)
        CHECK(ct__prop_append_datadog_tag(out, &out_len, sizeof out, CT_PROP_DATADOG_TAGS_MAX,
                                          first.text[i], first.key_len[i],
                                          first.text[i] + first.key_len[i] + 1,
                                          first.value_len[i]) == CT_OK);
    CHECK(strlen(out) == out_len);
    memset(&second, 0, sizeof second);
    CHECK(ct__prop_parse_datadog_tags(out, out_len, collect, &second) == CT_OK);
    CHECK(second.count == (first.count < 4 ? first.count : 4));
    for (size_t i = 0; i < second.count; i++)
        CHECK(second.key_len[i] == first.key_len[i] && second.value_len[i] == first.value_len[i] &&
              !memcmp(second.text[i], first.text[i], first.key_len[i] + 1 + first.value_len[i]));
}

static void check_dd_member(const char *text, size_t len)
{
    static pairs found;
    memset(&found, 0, sizeof found);
    ct_dd_member member;
    int rc = ct__prop_parse_dd_member(text, len, &member, collect, &found);
    if (rc != CT_OK) {
        CHECK(found.count == 0);
        CHECK(!member.has_priority && !member.origin && !member.parent);
        return;
    }
    if (member.origin)
        CHECK(member.origin >= text && member.origin + member.origin_len <= text + len);
    if (member.parent)
        CHECK(member.parent >= text && member.parent + member.parent_len <= text + len);
    for (size_t i = 0; i < found.count && i < 4; i++)
        CHECK(found.key_len[i] > 6 && !memcmp(found.text[i], "_dd.p.", 6));
}

/* The encoder for dd= items, fed with the input split in two: whatever it
 * writes is a member the parser accepts (unless it says s: and the value
 * is no integer), within CT_PROP_DD_MEMBER_MAX. */
static void check_dd_item(const char *text, size_t len)
{
    size_t key_len = len ? (unsigned char)text[0] % (len) : 0;
    const char *key = text + (len ? 1 : 0);
    if (len) key_len = key_len < len - 1 ? key_len : len - 1;
    const char *value = key + key_len;
    size_t value_len = len ? len - 1 - key_len : 0;
    char out[CT_PROP_DD_MEMBER_MAX + 1];
    size_t out_len = 0;
    int rc = ct__prop_append_dd_item(out, &out_len, key, key_len, value, value_len);
    if (rc != CT_OK) {
        CHECK(rc == CT_ENOSPC && out_len == 0);
        return;
    }
    CHECK(out_len <= CT_PROP_DD_MEMBER_MAX && strlen(out) == out_len);
    ct_dd_member member;
    static pairs found;
    memset(&found, 0, sizeof found);
    rc = ct__prop_parse_dd_member(out, out_len, &member, collect, &found);
    if (!(key_len == 1 && key[0] == 's')) CHECK(rc == CT_OK);
}

static void check_baggage(const char *text, size_t len)
{
    static pairs found;
    memset(&found, 0, sizeof found);
    char *scratch = malloc(len ? len : 1);
    int rc = ct__prop_parse_baggage(text, len, scratch, collect, &found);
    free(scratch);
    if (rc != CT_OK) CHECK(found.count == 0 && rc == CT_EINVAL);
    CHECK(found.count <= CT_PROP_BAGGAGE_MAX_ITEMS);
}

static void check_ids(const char *text, size_t len)
{
    uint64_t value, high, low;
    if (ct__prop_parse_decimal(text, len, &value) == CT_OK) {
        char out[24];
        int n = snprintf(out, sizeof out, "%llu", (unsigned long long)value);
        uint64_t again;
        CHECK(ct__prop_parse_decimal(out, (size_t)n, &again) == CT_OK && again == value);
    } else {
        CHECK(value == 0);
    }
    if (ct__prop_parse_hex(text, len, &high, &low) != CT_OK) CHECK(high == 0 && low == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copies, so ASan sees any read past the header's end. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    check_traceparent(text, size);
    check_datadog_tags(text, size);
    check_dd_member(text, size);
    check_dd_item(text, size);
    check_baggage(text, size);
    check_ids(text, size);
    free(text);
    return 0;
}
