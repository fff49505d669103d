/*
 * error.c - names and messages of the AX_E* error codes (AX_ERRNO_MAP).
 */
#include "../ax.h"

#define ERR_ENTRY(name, code, atom, msg) \
    case code:                           \
        return msg;

const char *ax_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
        AX_ERRNO_MAP(ERR_ENTRY)
    default:
        return "unknown error";
    }
}
#undef ERR_ENTRY

#define ERR_ENTRY(name, code, atom, msg) \
    case code:                           \
        return "E" #name;

const char *ax_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
        AX_ERRNO_MAP(ERR_ENTRY)
    default:
        return "EUNKNOWN";
    }
}
#undef ERR_ENTRY

#define ERR_ENTRY(name, code, atom, msg) \
    case code:                           \
        return atom;

const char *ax_err_reason(int err)
{
    switch (err) {
    case 0:
        return "ok";
        AX_ERRNO_MAP(ERR_ENTRY)
    default:
        return "unknown";
    }
}
#undef ERR_ENTRY
