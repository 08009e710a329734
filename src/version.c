/* version: the package version and the versions of the libraries linked in, for --version. */
#include "config.h"

#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <json-c/json_c_version.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <yajl/yajl_version.h>

#include "version.h"

/*
 * libcurl, OpenSSL, json-c, yajl and libmicrohttpd report the version loaded at run time; libconfig
 * and libsystemd have no such call, so theirs is the one pkg-config reported when this binary was
 * built.
 */
void version_print(FILE *out)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	fprintf(out, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	fprintf(out, "libcurl %s (%s)\n", curl->version, curl->ssl_version ? curl->ssl_version : "no TLS");
	fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));	/* "OpenSSL 3.0.x DATE" */
	fprintf(out, "json-c %s\n", json_c_version());
	fprintf(out, "yajl %d.%d.%d\n", yajl_version() / 10000, yajl_version() / 100 % 100,
		yajl_version() % 100);
	fprintf(out, "libmicrohttpd %s\n", MHD_get_version());
	fprintf(out, "libconfig %s (built with)\n", AW_LIBCONFIG_VERSION);
	fprintf(out, "libsystemd %s (built with)\n", AW_LIBSYSTEMD_VERSION);
}
