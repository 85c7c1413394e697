# koogate — build, run and test.  See README.md.
CC      ?= cc
PKGS    := fcgi json-c libpq openssl libcurl
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
PKGCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(PKGCFLAGS) -Ilib -DKG_SQL_DIR='"$(CURDIR)/sql"'
LDLIBS  += $(PKGLIBS)
B       ?= build

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
CGI_SRC  := $(wildcard cgi-bin/*.c)
# produce is one program built from several sources (one per activity).
PRODUCE_SRC := $(wildcard cgi-bin/produce/*.c)
CGI_BIN  := $(CGI_SRC:cgi-bin/%.c=$(B)/%) $(if $(PRODUCE_SRC),$(B)/produce)
TOOL_BIN := $(B)/koogate
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
HDRS     := $(wildcard lib/*.h)

.PHONY: all deps run stop test unit valgrind fixtures migrate sanitize fuzz bench clean
all: $(CGI_BIN) $(TOOL_BIN) $(B)/hello

$(B)/lib/%.o: lib/%.c $(HDRS) | $(B)/lib
	$(CC) $(CFLAGS) -c -o $@ $<
$(B)/libkoogate.a: $(LIB_OBJ)
	$(AR) rcs $@ $^
$(B)/%: cgi-bin/%.c $(B)/libkoogate.a $(HDRS)
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
$(B)/lib $(B)/unit:
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
