/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvnet C shims: the few things Rust cannot reach through the generated bindings. Each one
 * says why it exists. The Rust side declares these in rust/net/ and nowhere else.
 */
#ifndef RVNET_HELPERS_H
#define RVNET_HELPERS_H

unsigned int rvnet_param_selftest(void);

#endif
