// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet C shims (see helpers.h).
 *
 * Module parameters live here rather than in Rust's module! macro because the macro registers
 * every parameter with permission 0: it would never appear under /sys/module/rvnet/parameters,
 * where engineers expect to read it. The version string is here for the same reason: module!
 * has no field for MODULE_VERSION, which modinfo and /sys/module/rvnet/version show.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "helpers.h"

MODULE_VERSION(RVNET_VERSION);

static unsigned int selftest = 1;
module_param(selftest, uint, 0444);
MODULE_PARM_DESC(selftest,
		 "Run the protocol core's known-answer checks at load and refuse to load if one fails (default 1)");

unsigned int rvnet_param_selftest(void)
{
	return READ_ONCE(selftest);
}
