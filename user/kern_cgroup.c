#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kern_cgroup.h"
#include "log.h"
#include "sysfs.h"

/* A look at dir that races with another rmdir + mkdir is tried again this
 * many times before the next beat's look. */
#define CHECK_TRIES 4

int cgroup_identity_of(const char *dir, struct cgroup_identity *out)
{
	char real[PATH_MAX];
	unsigned parent_level;
	char *slash;
	int err;

	memset(out, 0, sizeof(*out));
	if (!realpath(dir, real))
		return -errno;
	if ((err = cgroup2_id_level(real, &out->id, &out->level)) || !out->level)
		return err;
	slash = strrchr(real, '/');
	if (snprintf(out->name, sizeof(out->name), "%s", slash + 1) >= (int)sizeof(out->name))
		return -ENAMETOOLONG;
	*slash = '\0';
	return cgroup2_id_level(real, &out->parent_id, &parent_level);
}

int kern_cgroup_publish(const struct kern_cgroup *ac, const struct cgroup_identity *c)
{
	struct mcpf_agents_cgroup want = { .parent_id = c->parent_id };
	struct mcpf_config cfg;
	__u32 zero = 0;

	memcpy(want.name, c->name, sizeof(want.name));
	if (bpf_map_update_elem(ac->watch_fd, &zero, &want, BPF_ANY) ||
	    bpf_map_lookup_elem(ac->settings_fd, &zero, &cfg))
		return -errno;
	cfg.cgroup_id = c->id;
	cfg.cgroup_level = c->level;
	return bpf_map_update_elem(ac->settings_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

/* Do the maps name c already (cgroup_mkdir pointed them at it)? */
static int published(const struct kern_cgroup *ac, const struct cgroup_identity *c)
{
	struct mcpf_agents_cgroup want;
	struct mcpf_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(ac->settings_fd, &zero, &cfg) || bpf_map_lookup_elem(ac->watch_fd, &zero, &want))
		return -errno;
	return cfg.cgroup_id == c->id && want.parent_id == c->parent_id;
}

int kern_cgroup_check(struct kern_cgroup *ac)
{
	struct cgroup_identity now, again;
	bool rewritten = false;
	int err, done;

	err = cgroup_identity_of(ac->dir, &now);
	if (err == -ENOENT) {
		/* removed: cgroup_mkdir (or the next look) takes the new one */
		if (!ac->gone)
			log_warn("agents' cgroup %s was removed: waiting for it to be made again", ac->dir);
		ac->gone = true;
		return 0;
	}
	if (err)
		return err;
	ac->gone = false;
	if (now.id == ac->id)
		return 0;
	/* Rewrite only what the kernel did not: between our look and our write
	 * the directory can be made again, and cgroup_mkdir's newer id must not
	 * be overwritten by ours; a look after the write that still finds ours
	 * proves that any later mkdir comes after it. */
	for (int i = 0; i < CHECK_TRIES; i++) {
		if ((done = published(ac, &now)) < 0)
			return done;
		if (done)
			break;
		if ((err = kern_cgroup_publish(ac, &now)))
			return err;
		rewritten = true;
		if (cgroup_identity_of(ac->dir, &again) || again.id == now.id)
			break;
		now = again;
	}
	ac->id = now.id;
	if (!rewritten)
		log_warn("agents' cgroup %s was recreated: now id %llu (followed by the kernel at mkdir)", ac->dir,
			 (unsigned long long)now.id);
	else
		log_warn("agents' cgroup %s was recreated: now id %llu (rewritten by the daemon: %s; connections "
			 "made in it before now were not intercepted)",
			 ac->dir, (unsigned long long)now.id,
			 ac->traced ? "its parent was made again too" : "no cgroup_mkdir program on this kernel");
	return 1;
}
