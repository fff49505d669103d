# ax - Erlang-style actor runtime for C.  Plain GNU make; see README.md.
#
#   make            build libax, the ax binary and the examples
#   make run        build, then start the demo node and a shell on it
#                   (installs missing Debian packages when run as root)
#   make test       every test: unit, property, vectors, fuzz (short),
#                   AddressSanitizer/UBSan, ThreadSanitizer; the plain
#                   build's unit tests run last, so the runner's summary
#                   is the last line
#   make test-asan  the unit tests under -fsanitize=address,undefined
#   make test-observer-asan  the observer's e2e test, ax under ASan/UBSan
#   make test-e2e-asan  every e2e test, ax under ASan/UBSan (in make test)
#   make tsan       the concurrency tests under ThreadSanitizer
#   make bench      every benchmark in bench/, one `name value unit` a line
#   make fuzz       the libFuzzer targets, FUZZ_TIME seconds each
#   make install    PREFIX=/usr/local DESTDIR=

ifeq ($(origin CC),default)
CC       := gcc
endif
CLANG    ?= clang
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SAN      ?=
FUZZ_TIME ?= 60
FUZZ_SHORT ?= 10
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
           -fno-omit-frame-pointer -MMD -MP -pthread $(SAN)
RT_CFLAGS := $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DAX_BUILDING \
           $(if $(AX_TESTING),-DAX_TESTING) \
           -DAX_INCLUDE_DIR='"$(CURDIR)/runtime"'
# Programs export the API so that the modules they load (dlopen) find it.
EXPORT  := -rdynamic
LDLIBS  := -pthread -lm -ldw -lsqlite3
# The ax binary's own: the shell's line editor, the observer's curses.
AX_LDLIBS := -ledit $(shell pkg-config --libs ncursesw 2>/dev/null || \
               echo -lncursesw -ltinfo)
LDFLAGS ?=

RT_SRCS   := $(sort $(wildcard runtime/*/*.c))
RT_OBJS   := $(RT_SRCS:%.c=$(BUILD)/%.o)
AX_SRCS   := $(sort $(wildcard shell/*.c observer/*.c))
AX_OBJS   := $(AX_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
# The shell's language (not its main or subcommands), for the unit tests.
LANG_SRCS := $(sort $(wildcard shell/lang_*.c)) shell/pretty.c
LANG_OBJS := $(LANG_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
MAN_PAGES := $(sort $(wildcard man/*.[1-9]))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES  := $(EXAMPLE_SRCS:examples/%.c=build/examples/%.so)
# Modules are built as a user would: position-independent, against ax.h.
MODULE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fno-omit-frame-pointer \
                 -fPIC -shared

LIBAX_A  := $(BUILD)/libax.a
LIBAX_SO := $(BUILD)/libax.so
AX_BIN   := $(BUILD)/ax
UNIT_BIN := $(BUILD)/test-unit

.PHONY: all run test test-unit test-e2e test-asan tsan tsan-run bench fuzz \
        test-observer-asan test-e2e-asan \
        fuzz-short \
        install clean deps
.DELETE_ON_ERROR:

all: $(LIBAX_A) $(LIBAX_SO) $(AX_BIN) $(EXAMPLES)

build/examples/%.so: examples/%.c runtime/ax.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MODULE  $@")
	$(Q)$(CC) $(MODULE_CFLAGS) -Iruntime -o $@ $<

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	$(AX_BIN) shell --name demo --path build/examples --tree examples/demo.tree

# The sanitizer and fuzz runs come first so that the last thing printed is
# the runner's summary of the plain build's tests.
test: deps
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-e2e-asan
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory test-e2e
	@$(MAKE) --no-print-directory test-unit

# End-to-end tests drive the real ax binary (tests/e2e/*.t).
test-e2e: all
	@XDG_STATE_HOME=$(CURDIR)/$(BUILD)/state AX=$(AX_BIN) sh tests/e2e/run.sh

# Tests keep their nodes' crash logs in the build tree, not in ~/.local.
test-unit: $(UNIT_BIN) $(EXAMPLES)
	XDG_STATE_HOME=$(CURDIR)/$(BUILD)/state AX_ETF_VECTORS=$(ETF_VECTORS) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    $(UNIT_BIN) --jobs 2

ETF_VECTORS ?= $(firstword $(wildcard ../shared/etf-vectors.txt \
                 $(CURDIR)/../shared/etf-vectors.txt) tests/etf-vectors.txt)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan AX_TESTING=1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    test-unit

# The observer's end-to-end test (its --batch frames, and the views in
# tmux) with the ax binary built under ASan and UBSan.
ASAN_AX := $(MAKE) --no-print-directory BUILD=build/asan AX_TESTING=1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    build/asan/ax
ASAN_ENV := XDG_STATE_HOME=$(CURDIR)/build/asan/state AX=build/asan/ax \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp

test-observer-asan: $(EXAMPLES)
	@$(ASAN_AX)
	@$(ASAN_ENV) sh tests/e2e/observer.t && echo "ok observer (ASan)"

# Every end-to-end test with ax itself under ASan and UBSan.
test-e2e-asan: $(EXAMPLES)
	@$(ASAN_AX)
	@$(ASAN_ENV) sh tests/e2e/run.sh

# Criterion cannot run under ThreadSanitizer (its issue #274), so the
# concurrency tests under TSan are plain programs in tests/tsan/.
TSAN_SRCS := $(sort $(wildcard tests/tsan/*.c))
TSAN_BINS := $(TSAN_SRCS:tests/tsan/%.c=build/tsan/tests/%)

tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan AX_TESTING=1 \
	    SAN="-fsanitize=thread" tsan-run

tsan-run: $(TSAN_BINS)
	@for t in $(TSAN_BINS); do echo "tsan: $$t"; \
	    XDG_STATE_HOME=$(CURDIR)/$(BUILD)/state \
	    TSAN_OPTIONS=halt_on_error=1 $$t || exit 1; done

$(BUILD)/tests/%: tests/tsan/%.c $(LIBAX_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(EXPORT) -Iruntime -o $@ $< \
	    -Wl,--whole-archive $(LIBAX_A) -Wl,--no-whole-archive $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(RT_CFLAGS) -Iruntime -c $< -o $@

$(LIBAX_A): $(RT_OBJS)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

$(LIBAX_SO): $(RT_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(AX_BIN): $(AX_OBJS) $(LIBAX_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN) $(LDFLAGS) $(EXPORT) -o $@ $(AX_OBJS) \
	    -Wl,--whole-archive $(LIBAX_A) -Wl,--no-whole-archive $(LDLIBS) \
	    $(AX_LDLIBS)

$(UNIT_BIN): $(UNIT_OBJS) $(LANG_OBJS) $(LIBAX_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN) $(LDFLAGS) $(EXPORT) -o $@ $(UNIT_OBJS) $(LANG_OBJS) \
	    -Wl,--whole-archive $(LIBAX_A) -Wl,--no-whole-archive \
	    $(shell pkg-config --libs criterion) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIBAX_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(EXPORT) -Iruntime -o $@ $< \
	    -Wl,--whole-archive $(LIBAX_A) -Wl,--no-whole-archive $(LDLIBS)

bench: $(BENCH_BINS) $(EXAMPLES)
	@for b in $(BENCH_BINS); do $$b || exit 1; done

# libFuzzer targets: the runtime rebuilt with clang and the sanitizers.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
           -pthread -DAX_BUILDING -DAX_TESTING -Iruntime \
           -fsanitize=fuzzer-no-link,address,undefined
FUZZ_RT_OBJS := $(RT_SRCS:%.c=build/fuzz/obj/%.o) \
                $(LANG_SRCS:%.c=build/fuzz/obj/%.o)
.SECONDARY: $(FUZZ_RT_OBJS)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/%: tests/fuzz/%.c $(FUZZ_RT_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_RT_OBJS) \
	    $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	    mkdir -p build/fuzz/corpus/$$n; \
	    $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz-short: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	    mkdir -p build/fuzz/corpus/$$n; \
	    echo "fuzz $$n: $(FUZZ_SHORT) s"; \
	    $$f -max_total_time=$(FUZZ_SHORT) -timeout=5 \
	        build/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	        >build/fuzz/$$n.log 2>&1 \
	    || { tail -n 60 build/fuzz/$$n.log; exit 1; }; \
	    grep -E '^Done|^#[0-9]+.*DONE' build/fuzz/$$n.log | tail -n 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(AX_BIN) $(DESTDIR)$(PREFIX)/bin/ax
	install -m 644 $(LIBAX_A) $(DESTDIR)$(PREFIX)/lib/libax.a
	install -m 755 $(LIBAX_SO) $(DESTDIR)$(PREFIX)/lib/libax.so
	install -m 644 runtime/ax.h $(DESTDIR)$(PREFIX)/include/ax.h
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	    install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(AX_VERSION)|g' \
	    ax.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/ax.pc

AX_VERSION := $(shell sed -n 's/^\#define AX_VERSION_STRING "\(.*\)"/\1/p' \
                runtime/ax.h)

clean:
	rm -rf build

-include $(RT_OBJS:.o=.d) $(AX_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) \
         $(FUZZ_RT_OBJS:.o=.d)
