# koogate — build, run and test.  See README.md.
CC      ?= cc
PKGS    := fcgi json-c libpq openssl libcurl
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
PKGCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# lib/ in layers, bottom up (README "Layout"); program families keep what only they share.
LIB_DIRS    := lib/core lib/proto lib/io lib/app lib/market
FAMILY_DIRS := cgi-bin/login cgi-bin/kit
FAMILY_LIB  := cgi-bin/login/common.c cgi-bin/kit/kit.c
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) $(addprefix -I,$(LIB_DIRS) $(FAMILY_DIRS)) \
           -DKG_SQL_DIR='"$(CURDIR)/sql"'
LDLIBS  += $(PKGLIBS)
B       ?= build

LIB_SRC  := $(wildcard $(addsuffix /*.c,$(LIB_DIRS))) $(FAMILY_LIB)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CGI_SRC  := $(filter-out $(FAMILY_LIB),$(wildcard cgi-bin/*.c $(addsuffix /*.c,$(FAMILY_DIRS))))
# produce is one program built from several sources (one per activity).
PRODUCE_SRC := $(wildcard cgi-bin/produce/*.c)
CGI_BIN  := $(addprefix $(B)/,$(notdir $(CGI_SRC:.c=))) $(if $(PRODUCE_SRC),$(B)/produce)
TOOL_BIN := $(B)/koogate
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
HDRS     := $(wildcard $(addsuffix /*.h,$(LIB_DIRS) $(FAMILY_DIRS)))

.PHONY: all deps run stop test unit valgrind fixtures migrate sanitize fuzz bench clean
all: $(CGI_BIN) $(TOOL_BIN) $(B)/hello

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(B)/libkoogate.a: $(LIB_OBJ)
	$(AR) rcs $@ $^
# One program per source file, wherever its family keeps it.
vpath %.c cgi-bin $(FAMILY_DIRS)
$(B)/%: %.c $(B)/libkoogate.a $(HDRS)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
$(B)/produce: $(PRODUCE_SRC) $(wildcard cgi-bin/produce/*.h) $(B)/libkoogate.a $(HDRS)
	$(CC) $(CFLAGS) -Icgi-bin/produce -o $@ $(PRODUCE_SRC) $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
KOOGATE_SRC := $(wildcard tools/koogate*.c)
$(B)/koogate: $(KOOGATE_SRC) tools/koogate.h $(B)/libkoogate.a $(HDRS)
	$(CC) $(CFLAGS) -Itools -o $@ $(KOOGATE_SRC) $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
# The ceiling for benchmarks: a hello-world FastCGI program behind the same server.
$(B)/hello: tools/hello.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)
$(B)/unit/%: tests/unit/%.c tests/unit/unit.h $(B)/libkoogate.a $(HDRS) | $(B)/unit
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
$(B)/unit:
	mkdir -p $@

deps:
	tools/deps.sh

unit: $(UNIT_BIN)
	tests/unit/run.sh $(UNIT_BIN)

# The unit tests under valgrind (memory errors and definite leaks fail).
valgrind: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do \
	    UNIT_NOFORK=1 valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	        $$t >$$t.valgrind 2>&1 && echo "ok valgrind $$t" || { echo "FAIL valgrind $$t"; tail -n 30 $$t.valgrind; rc=1; }; \
	done; exit $$rc

migrate: all
	$(B)/koogate migrate

run: deps
	$(MAKE) all
	tools/run.sh

stop:
	tools/stack.sh stop

test: deps
	$(MAKE) all
	tests/run.sh

sanitize:
	$(MAKE) B=build/sanitize OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined' \
	        LDFLAGS='-fsanitize=address,undefined' all $(addprefix build/sanitize/unit/,$(notdir $(UNIT_BIN)))

# libFuzzer targets (clang, ASan/UBSan) over the parsers; FUZZ_SECONDS per target.
fuzz:
	tests/fuzz/run.sh

# Throughput and latency against the real stack, as ratios to the hello-world ceiling.
bench: deps
	$(MAKE) all
	bench/run.sh

clean:
	rm -rf build
