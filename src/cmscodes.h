/* cmscodes: the CMS's numeric codes (callStatus, callInOut, mediaType, CTI agent state) and their names. */
#ifndef AW_CMSCODES_H
#define AW_CMSCODES_H

#include <stdint.h>

/* A code the CMS did not give (per-agent polling has no call detail; no state poll yet). */
#define CMS_CODE_NONE (-1)

/* CTI agent state codes 0..10 (cms-api.md §2.2, Huawei cec_07_0697). */
#define CMS_STATE_COUNT 11
#define CMS_CALL_STATUS_COUNT 10	/* callStatus 0..9 */

/*
 * Names as product.md gives them ("talking", "wrap_up", "inbound", "phone", ...). Each returns
 * NULL for a code outside its table: the caller then reports the number itself.
 */
const char *cmscodes_call_status_name(int code);
const char *cmscodes_direction_name(int code);
const char *cmscodes_media_name(int code);
const char *cmscodes_state_name(int code);

/*
 * What the agents metric, the API's ?state= and agentwatchctl call a CTI state not known: none
 * polled yet, or a code cmscodes_state_name has no name for.
 */
#define CMS_STATE_UNKNOWN "unknown"

/* The CTI state code of a name ("rest" -> 8); CMS_CODE_NONE when it is none of them. */
int cmscodes_state_from_name(const char *name);

#endif
