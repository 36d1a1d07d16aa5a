/*
 * json_number: numbers a decision may compare exactly. cJSON keeps a JSON
 * number as a double, and one double stands for many literals a server
 * reads apart: 4503599627370497 and 4503599627370496 near 2^52 are still
 * two doubles, but from 2^53 on integers are rounded (Go int64, Python,
 * Java and Rust read the exact digits), and 0.1000000000000000000001 is
 * the same double as 0.1 (a Decimal reader tells them apart).
 *
 * A number is exact when |x| < 2^53 and its literal, as written, has the
 * value of the shortest text that reads back as its double (the "%.15g",
 * "%.16g" or "%.17g" form, whichever comes first): then no two exact
 * literals of different value share a double, and comparing doubles with
 * == compares what was written. "1e2", "100.0" and "100" are one exact
 * value; "0.10000000000000001" and 2^53 are not exact.
 *
 *   json_number_literal_exact("0.1", 3, 0.1)      true
 *   json_numbers_mark(node, text, span)           after cJSON parsed `text`: flags every
 *                                                 number in node (the value whose bytes
 *                                                 are span) whose literal is not exact;
 *                                                 0, -1 if text and tree disagree
 *   json_holds_inexact(v)                         v is, or contains, a flagged number, one
 *                                                 of 2^53 or more, or one not finite
 *   json_number_shortest(d, out)                  the shortest text that reads back as d
 *                                                 (cJSON prints the 15-digit text whenever
 *                                                 it reads back within an epsilon: two
 *                                                 doubles near each other print alike)
 *   json_numbers_to_raw(v)                        every number in v becomes a raw node
 *                                                 holding its shortest text, so that
 *                                                 cJSON_Print writes each double exactly;
 *                                                 0, -ERANGE on one not finite (cJSON
 *                                                 would write null), -ENOMEM
 *   json_equal(a, b)                              JSON equality, numbers compared with ==
 *                                                 (cJSON_Compare takes doubles within a
 *                                                 relative epsilon as equal); call it on
 *                                                 values json_holds_inexact clears
 *
 * The flag is a bit of cJSON's type word above the ones cJSON uses, so it
 * survives cJSON_Duplicate (which keeps every bit but IsReference) and is
 * ignored by cJSON_IsNumber, printing and deletion. A tree nobody marked
 * has only the 2^53 test.
 */
#ifndef MCPF_JSON_NUMBER_H
#define MCPF_JSON_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "json_span.h"

#define JSON_NUMBER_INEXACT (1 << 12)

bool json_number_literal_exact(const char *lit, size_t len, double d);
void json_number_shortest(double d, char out[32]);
int json_numbers_to_raw(cJSON *v);
int json_numbers_mark(cJSON *node, const char *text, struct json_span span);
bool json_holds_inexact(const cJSON *v);
bool json_equal(const cJSON *a, const cJSON *b);

#endif /* MCPF_JSON_NUMBER_H */
