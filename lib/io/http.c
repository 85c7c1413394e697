/* SPDX-License-Identifier: ISC */
#include "http.h"
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

static CURL *handle;
static bool ca_dir_only;
bool kg_http_allow_plain;

static size_t collect(char *p, size_t size, size_t nmemb, void *arg)
{
	struct kbuf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > KG_HTTP_MAX_RESPONSE)
		return 0;                /* aborts the transfer */
	kbuf_put(b, p, n);
	return n;
}

bool kg_url_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://"), *end;

	if (!h)
		return false;
	h += 3;
	end = h + strcspn(h, "/?#");
	if (end == h || (size_t)(end - h) >= outlen)
		return false;
	memcpy(out, h, (size_t)(end - h));
	out[end - h] = '\0';
	return true;
}

/* Whether the connection (with its TLS handshake, for https) was up: only then
 * can the request have reached the server. A failure before that (DNS, TCP
 * connect, TLS, or a timeout in any of them) may go to a fallback host; one
 * after it, a timeout above all, may have been processed and is retried on the
 * same host (usage-and-open-api.md §2.5.6-7). */
static bool connected(CURL *h)
{
	curl_off_t tcp = 0, tls = 0;
	long sent = 0;
	char *scheme = NULL;

	/* Request bytes went out: the connection was up (also when it was reused). */
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
	if (sent > 0)
		return true;
	curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &tcp);
	curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls);
	curl_easy_getinfo(h, CURLINFO_SCHEME, &scheme);
	if (scheme && strcasecmp(scheme, "https") == 0)
		return tls > 0;
	return tcp > 0;
}

bool kg_http(const char *method, const char *url, const char *const *headers,
             const void *body, size_t n, long timeout_ms, struct kg_http_response *resp)
{
	struct curl_slist *list = NULL;
	curl_version_info_data *info;
	CURLcode rc;

	memset(resp, 0, sizeof *resp);
	kbuf_reserve(&resp->body, 0);
	kbuf_reserve(&resp->headers, 0);
	if (!handle) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(handle = curl_easy_init())) {
			snprintf(resp->error, sizeof resp->error, "libcurl cannot start");
			return false;
		}
		info = curl_version_info(CURLVERSION_NOW);
		ca_dir_only = info->age >= CURLVERSION_SEVENTH && info->capath && *info->capath;
	}
	curl_easy_reset(handle);
	for (; headers && *headers; headers++)
		list = curl_slist_append(list, *headers);
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(handle, CURLOPT_URL, url);
	curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, kg_http_allow_plain ? "http,https" : "https");
	curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(handle, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (kg_cfg.ca_file && *kg_cfg.ca_file)
		curl_easy_setopt(handle, CURLOPT_CAINFO, kg_cfg.ca_file);
	else if (ca_dir_only)
		/* The system CAs from libcurl's hashed CA directory alone, not also
		 * from its bundle file (the same certificates: update-ca-certificates
		 * writes both): OpenSSL then reads the one or two a chain needs instead
		 * of keeping the whole parsed bundle (about 0.85 MB) in every process. */
		curl_easy_setopt(handle, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(handle, CURLOPT_USERAGENT, "koogate/1");
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(handle, CURLOPT_HEADERDATA, &resp->headers);
	if (body) {
		curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	}
	rc = curl_easy_perform(handle);
	curl_slist_free_all(list);
	if (rc != CURLE_OK) {
		snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(rc));
		resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		resp->connect_failed = (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
		                        rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
		                        rc == CURLE_OPERATION_TIMEDOUT) && !connected(handle);
		return false;
	}
	curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &resp->status);
	return true;
}

void kg_http_response_free(struct kg_http_response *resp)
{
	kbuf_free(&resp->body);
	kbuf_free(&resp->headers);
}

bool kg_http_header(const struct kg_http_response *resp, const char *name, char *out, size_t outlen)
{
	const char *p = resp->headers.p;
	size_t n = strlen(name);

	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && strncmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			len -= (size_t)(v - p);
			if (len + 1 > outlen)
				return false;
			memcpy(out, v, len);
			out[len] = '\0';
			return true;
		}
		p = eol ? eol + 2 : NULL;
	}
	return false;
}
