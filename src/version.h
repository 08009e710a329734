/* version: what --version prints, the package version and the libraries it runs with. */
#ifndef AW_VERSION_H
#define AW_VERSION_H

#include <stdio.h>

/* Writes the version lines to out: the first is "agentwatchd VERSION". */
void version_print(FILE *out);

#endif
