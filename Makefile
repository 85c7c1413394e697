# SPDX-License-Identifier: ISC
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
# Made anew: `ar r` into an old archive would keep members whose sources moved or went away.
$(B)/libkoogate.a: $(LIB_OBJ)
	rm -f $@
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
$(B)/hello: tools/hello.c $(B)/libkoogate.a lib/app/listen.h
	$(CC) $(CFLAGS) -o $@ $< $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
$(B)/unit/%: tests/unit/%.c tests/unit/unit.h $(B)/libkoogate.a $(HDRS) | $(B)/unit
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libkoogate.a $(LDFLAGS) $(LDLIBS)
$(B)/unit:
	mkdir -p $@

deps:
	tools/deps.sh test

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

# Running needs no test tools (lighttpd, Chromium, clang, Node): only the run profile.
run:
	tools/deps.sh run
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

# Throughput and latency against the real stack, as ratios to the hello-world ceiling; then koogate
# against the Node.js peer on both servers (bench/peer.sh, BENCH_PEER) and a burst after ten quiet
# minutes (bench/coldburst.sh). About 45 minutes; a quiet machine.
bench: deps
	$(MAKE) all
	bench/run.sh
	bench/peer.sh
	bench/coldburst.sh

clean:
	rm -rf build

# ---- Installation (GNU conventions), the Debian package and its test -------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...] [sysconfdir=...] [localstatedir=...] [libexecdir=...]
# Installed text files name their paths in the Debian layout (/usr/bin, /usr/libexec/koogate, /etc,
# /var); install-paths.sed rewrites them to the chosen directories, so all of them agree.
VERSION       := $(shell cat VERSION)
CFLAGS        += -DKG_VERSION='"$(VERSION)"'
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
bindir        ?= $(exec_prefix)/bin
libexecdir    ?= $(exec_prefix)/libexec
datarootdir   ?= $(prefix)/share
datadir       ?= $(datarootdir)
mandir        ?= $(datarootdir)/man
docdir        ?= $(datarootdir)/doc/koogate
sysconfdir    ?= $(prefix)/etc
localstatedir ?= $(prefix)/var
unitdir       ?= $(prefix)/lib/systemd/system
INSTALL       ?= install
KG_PROGRAMS   := $(notdir $(CGI_BIN))
KG_UNITS      := $(wildcard tools/systemd/*.service tools/systemd/*.timer tools/systemd/*.socket)
KG_DROPINS    := $(wildcard tools/systemd/*.service.d/*.conf)
# koogate-fcgi.target wants one koogate-fcgi@<program>.service per installed program.
KG_FCGI_WANTS := $(foreach p,$(KG_PROGRAMS),koogate-fcgi@$(p).service)
KG_DOCGEN     := $(B)/man/koogate.8 $(B)/man/koogate.conf.5 $(B)/koogate.conf.example

.PHONY: docs install uninstall deb test-package test-install
docs: $(KG_DOCGEN)
$(KG_DOCGEN) &: README.md $(wildcard lib/config.c lib/*/config.c) tools/docgen.py $(B)/koogate
	python3 tools/docgen.py --koogate $(B)/koogate --version $(VERSION) --out $(B)

# Written by every `make install`, so it always holds the directories of the last one (tests read it).
kg_paths_sed = printf '%s\n' 's|/usr/libexec/koogate|$(libexecdir)/koogate|g' 's|/usr/share/koogate|$(datadir)/koogate|g' \
	    's|/usr/bin/koogate|$(bindir)/koogate|g' 's|/etc/koogate|$(sysconfdir)/koogate|g' \
	    's|/var/log/koogate|$(localstatedir)/log/koogate|g' 's|/var/lib/koogate|$(localstatedir)/lib/koogate|g' >$(B)/install-paths.sed

# install-text SRC DEST MODE: a text file with the installed paths filled in.
kg_install_text = sed -f $(B)/install-paths.sed $(1) >$(B)/install.tmp && $(INSTALL) -m $(3) $(B)/install.tmp $(2) && rm -f $(B)/install.tmp

install: all docs
	$(kg_paths_sed)
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libexecdir)/koogate $(DESTDIR)$(datadir)/koogate/sql \
	    $(DESTDIR)$(datadir)/koogate/apache $(DESTDIR)$(datadir)/koogate/lighttpd $(DESTDIR)$(datadir)/koogate/prometheus \
	    $(DESTDIR)$(mandir)/man5 \
	    $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(docdir) $(DESTDIR)$(unitdir) $(DESTDIR)$(sysconfdir)/koogate \
	    $(DESTDIR)$(sysconfdir)/apache2/conf-available $(DESTDIR)$(sysconfdir)/logrotate.d
	$(INSTALL) -m 0755 $(B)/koogate $(DESTDIR)$(bindir)/koogate
	$(INSTALL) -m 0755 $(addprefix $(B)/,$(KG_PROGRAMS)) $(DESTDIR)$(libexecdir)/koogate/
	$(INSTALL) -m 0644 sql/*.sql $(DESTDIR)$(datadir)/koogate/sql/
	$(call kg_install_text,apache-conf/koogate-server.conf,$(DESTDIR)$(sysconfdir)/apache2/conf-available/koogate.conf,0644)
	$(call kg_install_text,apache-conf/koogate-proxy.conf,$(DESTDIR)$(sysconfdir)/apache2/conf-available/koogate-proxy.conf,0644)
	$(call kg_install_text,apache-conf/koogate.conf,$(DESTDIR)$(datadir)/koogate/apache/koogate-vhost.conf,0644)
	$(call kg_install_text,apache-conf/site-acme.conf,$(DESTDIR)$(datadir)/koogate/apache/site-acme.conf,0644)
	$(call kg_install_text,apache-conf/site-own-cert.conf,$(DESTDIR)$(datadir)/koogate/apache/site-own-cert.conf,0644)
	$(call kg_install_text,apache-conf/lighttpd-koogate.conf,$(DESTDIR)$(datadir)/koogate/lighttpd/50-koogate.conf,0644)
	$(call kg_install_text,apache-conf/lighttpd-status-403.html,$(DESTDIR)$(datadir)/koogate/lighttpd/status-403.html,0644)
	$(foreach u,$(KG_UNITS),$(call kg_install_text,$(u),$(DESTDIR)$(unitdir)/$(notdir $(u)),0644) &&) true
	$(foreach d,$(KG_DROPINS),$(INSTALL) -d $(DESTDIR)$(unitdir)/$(notdir $(patsubst %/,%,$(dir $(d)))) && \
	    $(call kg_install_text,$(d),$(DESTDIR)$(unitdir)/$(notdir $(patsubst %/,%,$(dir $(d))))/$(notdir $(d)),0644) &&) true
	sed 's/@WANTS@/$(KG_FCGI_WANTS)/' tools/systemd/koogate-fcgi.target.in >$(B)/koogate-fcgi.target
	$(INSTALL) -m 0644 $(B)/koogate-fcgi.target $(DESTDIR)$(unitdir)/koogate-fcgi.target
	$(call kg_install_text,tools/systemd/koogate.cron,$(DESTDIR)$(datadir)/koogate/koogate.cron,0644)
	$(call kg_install_text,tools/logrotate/koogate,$(DESTDIR)$(sysconfdir)/logrotate.d/koogate,0644)
	$(call kg_install_text,tools/example-provisioner.sh,$(DESTDIR)$(datadir)/koogate/example-provisioner.sh,0755)
	$(call kg_install_text,tools/prometheus/koogate-alerts.yml,$(DESTDIR)$(datadir)/koogate/prometheus/koogate-alerts.yml,0644)
	$(call kg_install_text,$(B)/koogate.conf.example,$(DESTDIR)$(datadir)/koogate/koogate.conf.example,0644)
	$(call kg_install_text,$(B)/man/koogate.8,$(DESTDIR)$(mandir)/man8/koogate.8,0644)
	$(call kg_install_text,$(B)/man/koogate.conf.5,$(DESTDIR)$(mandir)/man5/koogate.conf.5,0644)
	$(INSTALL) -m 0644 README.md LICENSE doc/protocol.md $(DESTDIR)$(docdir)/
	@# The configuration holds secrets: never replace an existing one, never world-readable.
	test -e $(DESTDIR)$(sysconfdir)/koogate/koogate.conf || \
	    $(INSTALL) -m 0640 $(DESTDIR)$(datadir)/koogate/koogate.conf.example $(DESTDIR)$(sysconfdir)/koogate/koogate.conf

uninstall:
	rm -f $(DESTDIR)$(bindir)/koogate $(DESTDIR)$(mandir)/man8/koogate.8 $(DESTDIR)$(mandir)/man5/koogate.conf.5 \
	    $(DESTDIR)$(sysconfdir)/apache2/conf-available/koogate.conf $(DESTDIR)$(sysconfdir)/logrotate.d/koogate \
	    $(DESTDIR)$(sysconfdir)/apache2/conf-available/koogate-proxy.conf $(DESTDIR)$(unitdir)/koogate-fcgi.target \
	    $(addprefix $(DESTDIR)$(unitdir)/,$(notdir $(KG_UNITS)))
	rm -rf $(addprefix $(DESTDIR)$(unitdir)/,$(sort $(notdir $(patsubst %/,%,$(dir $(KG_DROPINS))))))
	rm -rf $(DESTDIR)$(libexecdir)/koogate $(DESTDIR)$(datadir)/koogate $(DESTDIR)$(docdir)
	@echo "kept $(DESTDIR)$(sysconfdir)/koogate (configuration and keys) and the database"

# The .deb from Debian's own build dependencies (debian/control), into build/deb/.
deb:
	tools/deps.sh package
	tools/build-deb.sh

# The package on a clean Debian 12 root, following the README's production steps (slow: see README).
test-package:
	tools/deps.sh package
	tests/package/run.sh

# make install DESTDIR=tmp, Apache over HTTPS from the installed files (also part of `make test`).
test-install: all
	tests/install/run.sh
