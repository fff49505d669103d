/*
 * tls.h - thread-local variables of the runtime. They use the initial-exec
 * model: one fs-relative load, even in libax.so (which programs link at
 * start, never dlopen), instead of a __tls_get_addr call per access.
 */
#ifndef AX_CORE_TLS_H
#define AX_CORE_TLS_H

#define AX_TLS _Thread_local __attribute__((tls_model("initial-exec")))

#endif /* AX_CORE_TLS_H */
