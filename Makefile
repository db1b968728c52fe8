# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# allocscope: one non-recursive Makefile. `make V=1` shows the commands.

OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
CXX ?= c++
ARCH ?= $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
VMLINUX_H ?= bpf/vmlinux/$(ARCH)/vmlinux.h
comma := ,

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# System include dirs clang would use for the host, for BPF builds (libbpf-bootstrap).
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_CFLAGS := -g -O2 -Wall -Werror=undef -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -I$(dir $(VMLINUX_H)) $(CLANG_BPF_SYS_INCLUDES)
CFLAGS := -g -O2 -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wundef -Werror -Iinclude -Iuser -I$(OUTPUT) -I$(OUTPUT)/proto $(EXTRA_CFLAGS)
LDLIBS := -lbpf -ldw -lelf -lz -lcapstone -lprotobuf-c -lcurl -lstdc++ -lpthread -lm $(EXTRA_LDFLAGS)
DEPFLAGS = -MMD -MP
# allocscope's own allocator, linked into the executable and exported from it, so every
# malloc it and its libraries (libdw, libelf, libbpf, libc itself) make binds here and never
# reaches the libc malloc that whole-system mode probes for every process. jemalloc's PIC
# archive is Debian's (libjemalloc-dev); it needs libm and libdl.
PRIVATE_MALLOC ?= /usr/lib/x86_64-linux-gnu/libjemalloc_pic.a
MALLOC_EXPORTS := malloc free calloc realloc posix_memalign aligned_alloc memalign valloc \
	malloc_usable_size
APP_LDLIBS := $(PRIVATE_MALLOC) $(addprefix -Wl$(comma)--export-dynamic-symbol=,$(MALLOC_EXPORTS)) \
	-lm -ldl

USER_MODULES := opts words launch procmaps mapfile elfobj symtab syms strpool srcline perfmap jitmap textsafe log \
	report report_json report_oom output output_folded output_pprof pprof push rowkey termwidth placement probes proctree cgroup cgtarget targets residency mapkind mapcat sources \
	collect cfi cfiprog unwtab unwind procmem pyoffsets pylayout pydecode pymemdecode pyalloc pyinline pyattach why pyproc pyline pyname pysym \
	kernel_features linkmap binding exitfree sampling cost trapcost governor report_cost pypool pycount pytype census \
	report_census tracer trend age report_summary
# pprof's profile.proto, as Debian ships it (golang-github-google-pprof-dev), compiled
# with protoc-c at build time: nothing generated is committed.
PROFILE_PROTO ?= /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
PROTO_OBJ := $(OUTPUT)/proto/profile.pb-c.o
USER_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,$(USER_MODULES)) $(PROTO_OBJ)
# The outputs, with what they link (test_opts reaches them through the format table).
OUTPUT_MODS := output output_folded output_pprof pprof push report report_json report_cost report_oom \
	report_census textsafe rowkey termwidth log trend report_summary
APP := $(OUTPUT)/allocscope

# Unit tests: test_<name> links the objects listed in test_<name>_OBJS.
UNIT_TESTS := opts output pprof procmaps mapfile syms srcline perfmap report placement probes cfi pyline pydecode pymemdecode pyoffsets \
	pypool pycount pytype pylayout pyname pysym linkmap exitfree binding proctree residency mapkind cost sampling cgroup \
	trend pyinline
test_opts_OBJS := opts words cgroup $(OUTPUT_MODS)
test_output_OBJS := $(OUTPUT_MODS)
test_pprof_OBJS := $(OUTPUT_MODS)
.DEFAULT_GOAL := all
$(patsubst %,$(OUTPUT)/tests/test_%,opts output pprof): $(PROTO_OBJ)
test_procmaps_OBJS := procmaps
test_mapfile_OBJS := mapfile elfobj procmaps
test_syms_OBJS := syms strpool symtab srcline perfmap jitmap elfobj mapfile procmaps
test_srcline_OBJS := srcline elfobj mapfile procmaps
test_perfmap_OBJS := perfmap mapfile
test_report_OBJS := report report_json report_cost report_summary report_oom report_census trend textsafe \
	rowkey
test_placement_OBJS := placement
test_probes_OBJS := probes elfobj mapfile procmaps placement
test_cfi_OBJS := cfi cfiprog elfobj mapfile procmaps
test_pyline_OBJS := pyline
test_pydecode_OBJS := pydecode
test_pymemdecode_OBJS := pymemdecode
test_pyinline_OBJS := pyinline placement elfobj mapfile procmaps
test_pyoffsets_OBJS := pyoffsets
test_pypool_OBJS := pypool pyoffsets
test_pycount_OBJS := pycount
test_pytype_OBJS := pytype pypool pyoffsets textsafe
test_pylayout_OBJS := pylayout pyoffsets why
test_pyname_OBJS := pyname
test_pysym_OBJS := pysym pyname pyline procmem pyoffsets log textsafe
test_linkmap_OBJS := linkmap procmaps procmem
test_exitfree_OBJS := exitfree elfobj mapfile procmaps
test_binding_OBJS := binding linkmap probes elfobj mapfile procmaps placement procmem log textsafe
test_proctree_OBJS := proctree
test_residency_OBJS := residency
test_mapkind_OBJS := mapkind
test_cost_OBJS := cost governor report report_json report_cost report_summary report_oom report_census \
	trend textsafe rowkey targets probes elfobj mapfile procmaps placement proctree cgroup cgtarget
test_sampling_OBJS := sampling
test_cgroup_OBJS := cgroup
test_trend_OBJS := trend age
UNIT_BINS := $(patsubst %,$(OUTPUT)/tests/test_%,$(UNIT_TESTS))
FIXTURES := $(OUTPUT)/fixtures
FIXTURE_BINS := $(FIXTURES)/symfix $(FIXTURES)/libsymfix.so $(FIXTURES)/symfix_cpp \
	$(FIXTURES)/symfix_exec \
	$(FIXTURES)/symfix.stripped $(FIXTURES)/symfix.debug $(FIXTURES)/cfifix \
	$(FIXTURES)/libcfirules.so $(FIXTURES)/libcfirules_far.so $(FIXTURES)/libcfirules_dbg.so \
	$(FIXTURES)/libcfirules_dbg.debug $(FIXTURES)/libcfirules_dbg.stripped \
	$(FIXTURES)/libcfibig.so $(FIXTURES)/libcfibomb.so $(FIXTURES)/libcfibomb_frame.so

# Target programs for integration tests and the benchmark: built -O2 without
# frame pointers (as distributions build) and -O0 with them.
TARGETS := alloc_target bench_target deep_target
# Hostile targets (tests/integration/test_hostile_files.sh).
HOSTILE_BINS := $(OUTPUT)/targets/late_libc $(OUTPUT)/targets/pivot_exec \
	$(OUTPUT)/targets/trunc_lib
TARGET_BINS := $(patsubst %,$(OUTPUT)/targets/%,$(TARGETS)) \
	$(patsubst %,$(OUTPUT)/targets/%_fp,$(TARGETS)) $(OUTPUT)/targets/libtarget_dl.so \
	$(OUTPUT)/targets/libdeep_dl.so $(OUTPUT)/targets/libtarget_jmpalloc.so \
	$(OUTPUT)/targets/cache_target $(HOSTILE_BINS) $(OUTPUT)/targets/libcfibig_dl.so \
	$(OUTPUT)/targets/libcfibomb_dl.so $(OUTPUT)/targets/jit_target \
	$(OUTPUT)/targets/alloc_target_stripped $(OUTPUT)/targets/libshim_malloc.so \
	$(OUTPUT)/targets/mem_target $(OUTPUT)/targets/ctor_target $(OUTPUT)/targets/libctor_lib.so
TARGET_NOFP_CFLAGS := -O2 -g -fomit-frame-pointer -Wall -pthread
TARGET_FP_CFLAGS := -O0 -g -fno-omit-frame-pointer -Wall -pthread

.PHONY: all
all: $(APP) $(TARGET_BINS)

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/proto $(OUTPUT)/bpf $(OUTPUT)/tests $(FIXTURES) $(OUTPUT)/targets:
	$(Q)mkdir -p $@

# BPF object -> linked object -> skeleton
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/allocscope.bpf.o: $(OUTPUT)/bpf/allocscope.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/allocscope.skel.h: $(OUTPUT)/allocscope.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name allocscope_bpf > $@

# Only the tracer includes the skeleton.
$(OUTPUT)/user/tracer.o: $(OUTPUT)/allocscope.skel.h

# A pattern rule: one protoc-c run makes both files.
$(OUTPUT)/proto/%.pb-c.c $(OUTPUT)/proto/%.pb-c.h: $(dir $(PROFILE_PROTO))%.proto | $(OUTPUT)/proto
	$(call msg,PROTOC-C,$@)
	$(Q)protoc-c --c_out=$(OUTPUT)/proto -I$(dir $(PROFILE_PROTO)) $(notdir $(PROFILE_PROTO))
# Generated code: our warnings are not its author's.
$(PROTO_OBJ): $(OUTPUT)/proto/profile.pb-c.c $(OUTPUT)/proto/profile.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -c $< -o $@
$(OUTPUT)/user/pprof.o: $(OUTPUT)/proto/profile.pb-c.h
$(PROFILE_PROTO):
	$(error $@ is missing: install golang-github-google-pprof-dev (make deps))

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(APP): $(USER_OBJS) $(OUTPUT)/user/main.o $(PRIVATE_MALLOC)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o,$^) $(APP_LDLIBS) $(LDLIBS) -o $@

$(PRIVATE_MALLOC):
	$(error $@ is missing: install libjemalloc-dev (make deps))

# Unit tests
.SECONDEXPANSION:
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $$(addprefix $(OUTPUT)/user/,$$(addsuffix .o,$$(test_$$*_OBJS))) \
		| $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes $(DEPFLAGS) \
		-DFIXTURE_DIR='"$(abspath $(FIXTURES))"' -DSOURCE_DIR='"$(CURDIR)"' \
		$(filter %.c %.o,$^) $(LDLIBS) -lcmocka -o $@

# Fixtures: a small PIE with a shared library, a C++ object, and a stripped
# copy whose symbols live in a separate debug file (build-id + debuglink).
$(FIXTURES)/libsymfix.so: tests/unit/fixtures/symfix_lib.c | $(FIXTURES)
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fPIC -shared $< -o $@
$(FIXTURES)/symfix: tests/unit/fixtures/symfix.c $(FIXTURES)/libsymfix.so | $(FIXTURES)
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fPIE -pie -Wl,--build-id $< -L$(FIXTURES) -lsymfix -o $@
# The same as ET_EXEC (its addresses fixed, bias 0 where the loader maps it).
$(FIXTURES)/symfix_exec: tests/unit/fixtures/symfix.c $(FIXTURES)/libsymfix.so | $(FIXTURES)
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-pie -no-pie $< -L$(FIXTURES) -lsymfix -o $@
$(FIXTURES)/symfix_cpp: tests/unit/fixtures/symfix_cpp.cc | $(FIXTURES)
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O1 -g -fPIE -pie $< -o $@
$(FIXTURES)/symfix.debug: $(FIXTURES)/symfix
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --only-keep-debug $< $@
$(FIXTURES)/symfix.stripped: $(FIXTURES)/symfix $(FIXTURES)/symfix.debug
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --strip-all --add-gnu-debuglink=$(FIXTURES)/symfix.debug $< $@

# Unwind-table fixtures: a -O2 program without frame pointers (rbp-based,
# rsp-based and > 32 KiB frames, lazy-binding PLT), and hand-written CFI in
# .eh_frame, at addresses beyond 32 bits, and in .debug_frame: in the file,
# then only in a compressed separate debug file.
$(FIXTURES)/cfifix: tests/unit/fixtures/cfifix.c | $(FIXTURES)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -fomit-frame-pointer -fasynchronous-unwind-tables -fno-stack-clash-protection \
		-fcf-protection=none -Wl,-z,lazy $< -o $@
$(FIXTURES)/libcfirules.so: tests/unit/fixtures/cfi_rules.S | $(FIXTURES)
	$(call msg,AS,$@)
	$(Q)$(CC) -shared -nostdlib $< -o $@
$(FIXTURES)/libcfirules_far.so: tests/unit/fixtures/cfi_rules.S | $(FIXTURES)
	$(call msg,AS,$@)
	$(Q)$(CC) -shared -nostdlib -Wl,-Ttext-segment=0x100000000 $< -o $@
$(FIXTURES)/libcfirules_dbg.so: tests/unit/fixtures/cfi_rules.S | $(FIXTURES)
	$(call msg,AS,$@)
	$(Q)$(CC) -shared -nostdlib -DDEBUG_FRAME $< -o $@
$(FIXTURES)/libcfirules_dbg.debug: $(FIXTURES)/libcfirules_dbg.so
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --only-keep-debug --compress-debug-sections=zlib-gabi $< $@
$(FIXTURES)/libcfirules_dbg.stripped: $(FIXTURES)/libcfirules_dbg.so
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --strip-debug $< $@

# Hostile CFI, generated here (never committed): one FDE of 128001 rows, and
# compressed debug sections that inflate to BOMB_MIB of zeros, beside a real
# .debug_frame (which alone is read) or as the .debug_frame itself.
BOMB_MIB := 256
# bomb IN OUT OBJCOPY-ARGS: OUT is IN with a compressed zero section of BOMB_MIB
# (a sparse file: the build writes the zeros once, into the temporary copy).
define bomb
	$(Q)truncate -s $(BOMB_MIB)M $(2).zero
	$(Q)objcopy $(3) --set-section-flags $(4)=readonly,debug $(1) $(2).tmp
	$(Q)objcopy --compress-debug-sections=zlib-gabi $(2).tmp $(2)
	$(Q)rm -f $(2).zero $(2).tmp
endef
$(FIXTURES)/libcfibig.so: tests/unit/fixtures/cfi_big.S | $(FIXTURES)
	$(call msg,AS,$@)
	$(Q)$(CC) -shared -nostdlib $< -o $@
$(FIXTURES)/libcfibomb.so: $(FIXTURES)/libcfirules_dbg.so
	$(call msg,OBJCOPY,$@)
	$(call bomb,$<,$@,--add-section .debug_ranges=$@.zero,.debug_ranges)
$(FIXTURES)/libcfibomb_frame.so: $(FIXTURES)/libcfirules_dbg.so
	$(call msg,OBJCOPY,$@)
	$(call bomb,$<,$@,-R .debug_frame --add-section .debug_frame=$@.zero,.debug_frame)
# For test_hostile_cfi.sh: dl_leak() (target_dl.c) beside the big FDE, and in a
# library whose only CFI is .debug_frame (-nostartfiles: no crt .eh_frame), beside a compressed zero .debug_ranges.
$(OUTPUT)/targets/libcfibig_dl.so: tests/targets/target_dl.c tests/unit/fixtures/cfi_big.S \
		| $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_NOFP_CFLAGS) -fPIC -shared $^ -o $@
$(OUTPUT)/targets/libcfibomb_dl.so: tests/targets/target_dl.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_NOFP_CFLAGS) -fno-asynchronous-unwind-tables -fno-unwind-tables -fPIC \
		-shared -nostartfiles $< -o $@.dbg
	$(call bomb,$@.dbg,$@,--add-section .debug_ranges=$@.zero,.debug_ranges)
	$(Q)rm -f $@.dbg

# Target programs
# late_libc is static and stripped: no allocator symbol to find until it execs.
$(OUTPUT)/targets/late_libc: tests/targets/late_libc.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -static -s $< -o $@
# A stripped copy (symbols gone, code bytes and offsets unchanged): its frames are named by
# file offset, which test_frames.sh checks against alloc_target's symbol table.
$(OUTPUT)/targets/alloc_target_stripped: $(OUTPUT)/targets/alloc_target
	$(call msg,STRIP,$@)
	$(Q)strip -o $@ $<
$(OUTPUT)/targets/jit_target: tests/targets/target_io.h
$(OUTPUT)/targets/lib%.so: tests/targets/%.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_NOFP_CFLAGS) -fPIC -shared $< -o $@
$(patsubst %,$(OUTPUT)/targets/%,$(TARGETS)) $(patsubst %,$(OUTPUT)/targets/%_fp,$(TARGETS)): \
	tests/targets/target_io.h
$(OUTPUT)/targets/mem_target: tests/targets/target_io.h
# ctor_target needs libctor_lib.so (DT_NEEDED though unreferenced, found beside it): two
# constructors run before main.
$(OUTPUT)/targets/ctor_target: tests/targets/ctor_target.c tests/targets/target_io.h \
		$(OUTPUT)/targets/libctor_lib.so | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_NOFP_CFLAGS) $< -L$(OUTPUT)/targets -Wl,--no-as-needed -lctor_lib \
		-Wl,-rpath,'$$ORIGIN' -o $@
$(OUTPUT)/targets/cache_target: tests/targets/cache_target.cc tests/targets/target_io.h \
		| $(OUTPUT)/targets
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(TARGET_NOFP_CFLAGS) $< -o $@
$(OUTPUT)/targets/%_fp: tests/targets/%.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_FP_CFLAGS) $< -ldl -o $@
$(OUTPUT)/targets/%: tests/targets/%.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) $(TARGET_NOFP_CFLAGS) $< -ldl -o $@

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, its man page and its bash
# completion, where distributions and bash-completion look for them.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MAN8DIR ?= $(PREFIX)/share/man/man8
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL ?= install
INSTALLED := $(DESTDIR)$(SBINDIR)/allocscope $(DESTDIR)$(MAN8DIR)/allocscope.8 \
	$(DESTDIR)$(BASH_COMPLETION_DIR)/allocscope

.PHONY: install uninstall
install: $(APP) allocscope.8 scripts/allocscope.bash-completion
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(BASH_COMPLETION_DIR)
	$(Q)$(INSTALL) -m 0755 $(APP) $(DESTDIR)$(SBINDIR)/allocscope
	$(Q)$(INSTALL) -m 0644 allocscope.8 $(DESTDIR)$(MAN8DIR)/allocscope.8
	$(Q)$(INSTALL) -m 0644 scripts/allocscope.bash-completion \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/allocscope

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(INSTALLED)

.PHONY: deps
deps:
	$(Q)scripts/install-deps.sh

.PHONY: demo
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

.PHONY: unit
unit: $(UNIT_BINS) $(FIXTURE_BINS)
	$(Q)scripts/run-unit.sh $(UNIT_BINS)

.PHONY: integration
integration: all
	$(Q)scripts/run-integration.sh

.PHONY: test
test: deps
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

.PHONY: bench
bench: all
	$(Q)scripts/bench.sh

# Boots Debian 12's 6.1 kernel under qemu and runs a smoke subset of the integration tests
# there (scripts/vmtest.sh). Not part of `test`: it downloads a kernel and takes minutes.
.PHONY: vmtest
vmtest: all
	$(Q)scripts/vmtest.sh

# Tools: cfi_bench times unwind-table builds (scripts/bench.sh quotes it).
TOOLS := $(OUTPUT)/tools/cfi_bench
.PHONY: tools
tools: $(TOOLS)
$(OUTPUT)/tools:
	$(Q)mkdir -p $@
$(OUTPUT)/tools/cfi_bench: tests/bench/cfi_bench.c $(OUTPUT)/user/cfi.o $(OUTPUT)/user/cfiprog.o | $(OUTPUT)/tools
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) $^ $(LDLIBS) -o $@

.PHONY: vmlinux
vmlinux:
	$(Q)scripts/gen-vmlinux.sh $(VMLINUX_H)

.PHONY: format check-format
format:
	$(Q)clang-format -i $(wildcard user/*.[ch] include/*.h bpf/*.bpf.c bpf/*.bpf.h tests/unit/*.c)
check-format:
	$(Q)scripts/check-format.sh

.PHONY: clean
clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

.DELETE_ON_ERROR:
.SECONDARY:

-include $(wildcard $(OUTPUT)/*/*.d $(OUTPUT)/*.d)
