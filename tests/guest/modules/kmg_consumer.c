// SPDX-License-Identifier: GPL-2.0
/* Uses a symbol of kmg_provider, so it cannot load while that is not loaded. */
#include <linux/module.h>

int kmg_provider_answer(void);

static int __init kmg_consumer_init(void)
{
	pr_info("kmg_consumer: the answer is %d\n", kmg_provider_answer());
	return 0;
}

static void __exit kmg_consumer_exit(void)
{
}

module_init(kmg_consumer_init);
module_exit(kmg_consumer_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodgui guest test: needs kmg_provider");
