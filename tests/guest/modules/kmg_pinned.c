// SPDX-License-Identifier: GPL-2.0
/* Holds a reference to itself: in use with no holder, removable only by force. */
#include <linux/module.h>

static int __init kmg_pinned_init(void)
{
	__module_get(THIS_MODULE);
	pr_info("kmg_pinned: pinned\n");
	return 0;
}

static void __exit kmg_pinned_exit(void)
{
	pr_info("kmg_pinned: released\n");
}

module_init(kmg_pinned_init);
module_exit(kmg_pinned_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodgui guest test: in use until forced out");
