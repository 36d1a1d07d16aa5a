/* The lock over what proxy workers share; see enforce_lock.h. */
#include "enforce_lock.h"

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

pthread_mutex_t *enforce_mutex(void)
{
	return &lock;
}

void enforce_lock(void)
{
	pthread_mutex_lock(&lock);
}

void enforce_unlock(void)
{
	pthread_mutex_unlock(&lock);
}
