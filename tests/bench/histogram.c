/* Log-linear histogram: see histogram.h for the precision contract. */
#include "histogram.h"

#include <string.h>

static unsigned bucket_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < HIST_SUB)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	/* v >> shift is in [HIST_SUB, 2 * HIST_SUB): the top bits pick the sub-bucket. */
	return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* Largest value that lands in bucket i. */
static uint64_t bucket_top(unsigned i)
{
	unsigned group = i / HIST_SUB, sub = i % HIST_SUB;
	uint64_t low;

	if (group == 0)
		return sub;
	low = (uint64_t)(sub + HIST_SUB) << (group - 1);
	return low + ((uint64_t)1 << (group - 1)) - 1;
}

void hist_init(struct histogram *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(struct histogram *h, uint64_t value)
{
	h->buckets[bucket_index(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

uint64_t hist_quantile(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);
			return top > h->max ? h->max : top;
		}
	}
	return h->max;
}

double hist_mean(const struct histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
