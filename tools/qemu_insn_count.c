/* A qemu-user TCG plugin that counts the guest instructions the program's first thread
 * executes and prints "insns N" at exit (with -d plugin). tools/insns_per_row.sh builds and
 * loads it. The plugin API (version 1, qemu 7.2) is declared here rather than included:
 * Debian ships qemu's plugin loader but not its header. Each instruction adds one when it
 * runs on vCPU 0 (qemu-user's first thread): other threads (an idle thread pool's waits)
 * would make the count depend on time. Per instruction, not per translated block: block
 * counts of identical code depended on where the linker put it (more where an instruction
 * straddled a page: AVX2 8-bit D=128 lookups, one kernel object in two builds, 156.2
 * against 154.2 instructions a row; per instruction 154.2 in both;
 * bench/results/qemu-insns-lookup-pairs-2026-11-28). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct {
  const char* target_name;
  struct {
    int min, cur;
  } version;
  bool system_emulation;
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum { kNoRegs = 0 }; /* QEMU_PLUGIN_CB_NO_REGS */

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb*));
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn* insn,
                                            void (*cb)(unsigned int vcpu_index, void* userdata),
                                            int flags, void* userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void*),
                                    void* userdata);
void qemu_plugin_outs(const char* text);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static uint64_t executed; /* written by vCPU 0 only */

static void on_insn(unsigned int vcpu_index, void* userdata) {
  (void)userdata;
  if (vcpu_index == 0) ++executed;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), on_insn, kNoRegs, NULL);
  }
}

static void on_exit_report(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  char line[48];
  snprintf(line, sizeof line, "insns %llu\n", (unsigned long long)executed);
  qemu_plugin_outs(line);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                               char** argv) {
  (void)info;
  (void)argv;
  if (argc != 0) return 1; /* takes no arguments */
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit_report, NULL);
  return 0;
}
