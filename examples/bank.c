/*
 * bank - the classic gen_server lesson on "let it crash": an account whose
 * withdraw only handles the case it expects. Asking for more than the
 * balance matches no clause, so the callback crashes (here: exits with
 * {badmatch, ...}, as Erlang's pattern match would), the server dies, its
 * supervisor restarts it with a fresh balance, and the caller's call fails
 * with the reason. No defensive code, and the system still heals.
 *
 *   call balance            -> the balance
 *   call {deposit, N}       -> {ok, NewBalance}
 *   call {withdraw, N}      -> {ok, NewBalance} if N =< balance; else crash
 */
#include <ax.h>

static ax_term_t ok(ax_term_t v)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), v);
}

static ax_term_t reply(ax_term_t r, ax_term_t st)
{
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), r, st);
}

static ax_term_t bank_init(ax_term_t args)
{
    ax_term_t start = ax_is_cons(args) ? ax_head(args) : ax_int(NULL, 0);

    return ok(start);
}

static ax_term_t bank_call(ax_term_t req, ax_term_t from, ax_term_t bal)
{
    ax_term_t amount = ax_tuple_get(req, 1);
    ax_term_t next;

    (void)from;
    if (req == ax_atom("balance"))
        return reply(bal, bal);
    if (ax_is_record(req, ax_atom("deposit"), 2) &&
        ax_arith(ax_heap(), AX_OP_ADD, bal, amount, &next) == 0)
        return reply(ok(next), next);
    if (ax_is_record(req, ax_atom("withdraw"), 2) &&
        ax_compare(amount, bal) <= 0 &&
        ax_arith(ax_heap(), AX_OP_SUB, bal, amount, &next) == 0)
        return reply(ok(next), next);
    /* No clause matches: crash, as `{ok, New} = withdraw(...)` would. */
    ax_exit(ax_tuple(ax_heap(), 2, ax_atom("badmatch"), req));
}

static ax_term_t bank_cast(ax_term_t msg, ax_term_t bal)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), bal);
}

AX_MODULE(bank, "1", .init = bank_init, .handle_call = bank_call,
          .handle_cast = bank_cast);
