#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "endpoint.h"
#include "log.h"
#include "targets.h"

#define MAX_ADDRS_PER_ENDPOINT 16

static char *read_file(const char *file)
{
	FILE *f = fopen(file, "re");
	char *data = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc(len + 1)) && fread(data, 1, len, f) == (size_t)len)
		data[len] = '\0';
	else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

int targets_load(const char *file, struct target **out)
{
	cJSON *root, *servers, *server;
	struct target *t = NULL;
	int n = 0, errors = 0;
	char *text = read_file(file);

	if (!text) {
		log_error("%s: %s", file, strerror(errno));
		return -1;
	}
	root = cJSON_Parse(text);
	free(text);
	if (!root) {
		log_error("%s: invalid JSON near \"%.20s\"", file, cJSON_GetErrorPtr());
		return -1;
	}
	servers = cJSON_GetObjectItemCaseSensitive(root, "servers");
	if (!cJSON_IsObject(servers)) {
		log_error("%s:servers: must be an object of server name -> policy", file);
		errors++;
	}
	if (!cJSON_IsObject(servers))
		servers = NULL;
	cJSON_ArrayForEach(server, servers) {
		cJSON *eps = cJSON_GetObjectItemCaseSensitive(server, "endpoints"), *ep;
		int i = 0;

		if (strlen(server->string) >= MCPF_NAME_LEN) {
			log_error("%s:servers.%s: name longer than %d bytes", file, server->string, MCPF_NAME_LEN - 1);
			errors++;
			continue;
		}
		if (!cJSON_IsArray(eps)) {
			log_error("%s:servers.%s.endpoints: must be an array of \"host:port\"", file, server->string);
			errors++;
			continue;
		}
		cJSON_ArrayForEach(ep, eps) {
			struct mcpf_endpoint addrs[MAX_ADDRS_PER_ENDPOINT];
			char err[256];
			int got = cJSON_IsString(ep) ? endpoint_parse(ep->valuestring, addrs, MAX_ADDRS_PER_ENDPOINT, err, sizeof(err)) : -1;

			if (!cJSON_IsString(ep))
				snprintf(err, sizeof(err), "must be a string");
			if (got < 0) {
				log_error("%s:servers.%s.endpoints[%d]: %s", file, server->string, i, err);
				errors++;
			}
			for (int k = 0; k < got; k++) {
				struct target *grown = realloc(t, (n + 1) * sizeof(*t));

				if (!grown) {
					errors++;
					break;
				}
				t = grown;
				memset(&t[n], 0, sizeof(t[n]));
				t[n].ep = addrs[k];
				snprintf(t[n].server, sizeof(t[n].server), "%s", server->string);
				n++;
			}
			i++;
		}
	}
	cJSON_Delete(root);
	if (errors) {
		free(t);
		return -1;
	}
	*out = t;
	return n;
}
