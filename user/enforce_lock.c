/* The lock over what proxy workers share; see enforce_lock.h. */
#include <pthread.h>

#include "enforce_lock.h"

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static _Thread_local unsigned depth;   /* how many times this thread holds it */

void enforce_lock(void)
{
	pthread_mutex_lock(&lock);
	depth++;
}

void enforce_unlock(void)
{
	depth--;
	pthread_mutex_unlock(&lock);
}

bool enforce_release_batch(void)
{
	if (depth != 1)
		return false;
	enforce_unlock();
	return true;
}
