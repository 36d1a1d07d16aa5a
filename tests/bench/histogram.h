/* Log-linear latency histogram (HDR-style): exact below 128 ns, then 128
 * linear sub-buckets per power of two, so any recorded value is reported
 * within 1/128 (< 0.8 %) of what was measured, in constant memory. */
#ifndef BENCH_HISTOGRAM_H
#define BENCH_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_GROUPS   (64 - HIST_SUB_BITS + 1)
#define HIST_BUCKETS  (HIST_GROUPS * HIST_SUB)

struct histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct histogram *h);
void hist_record(struct histogram *h, uint64_t value);
/* Highest value equivalent to the q-quantile (0 < q <= 1); 0 when empty. */
uint64_t hist_quantile(const struct histogram *h, double q);
double hist_mean(const struct histogram *h);

#endif /* BENCH_HISTOGRAM_H */
