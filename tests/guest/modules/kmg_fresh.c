// SPDX-License-Identifier: GPL-2.0
/* Dropped into the release's directory at test time: only depmod makes it findable. */
#include <linux/module.h>

static int __init kmg_fresh_init(void)
{
	pr_info("kmg_fresh: found by modprobe\n");
	return 0;
}

static void __exit kmg_fresh_exit(void)
{
}

module_init(kmg_fresh_init);
module_exit(kmg_fresh_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodgui guest test: appears after the index was built");
