/*
 * kv - a key-value store whose state is one map: shows that state is an
 * ordinary term, replaced (never mutated) by each callback, and that
 * get_state(Pid) in the shell shows all of it.
 *
 *   call {get, K}       -> {ok, V} | not_found
 *   call {put, K, V}    -> ok
 *   call {delete, K}    -> ok
 *   call keys           -> [K]
 *   call size           -> N
 */
#include <ax.h>

static ax_term_t reply(ax_term_t r, ax_term_t st)
{
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), r, st);
}

static ax_term_t kv_init(ax_term_t args)
{
    (void)args;
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), ax_map_new(ax_heap()));
}

static ax_term_t keys(ax_term_t map)
{
    ax_term_t list = AX_NIL;
    ax_term_t k;
    ax_term_t v;

    for (size_t i = ax_map_size(map); i-- > 0;)
        if (ax_map_pair(map, i, &k, &v))
            list = ax_cons(ax_heap(), k, list);
    return list;
}

static ax_term_t kv_call(ax_term_t req, ax_term_t from, ax_term_t map)
{
    ax_term_t k = ax_tuple_get(req, 1);
    ax_term_t v;

    (void)from;
    if (ax_is_record(req, ax_atom("get"), 2)) {
        v = ax_map_get(map, k);
        return reply(v == AX_NONE
                         ? ax_atom("not_found")
                         : ax_tuple(ax_heap(), 2, ax_atom("ok"), v),
                     map);
    }
    if (ax_is_record(req, ax_atom("put"), 3))
        return reply(ax_atom("ok"),
                     ax_map_put(ax_heap(), map, k, ax_tuple_get(req, 2)));
    if (ax_is_record(req, ax_atom("delete"), 2))
        return reply(ax_atom("ok"), ax_map_remove(ax_heap(), map, k));
    if (req == ax_atom("keys"))
        return reply(keys(map), map);
    if (req == ax_atom("size"))
        return reply(ax_int(NULL, (int64_t)ax_map_size(map)), map);
    return reply(ax_tuple(ax_heap(), 2, ax_atom("error"), req), map);
}

static ax_term_t kv_cast(ax_term_t msg, ax_term_t map)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), map);
}

AX_MODULE(kv, "1", .init = kv_init, .handle_call = kv_call,
          .handle_cast = kv_cast);
