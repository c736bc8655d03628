// SPDX-License-Identifier: GPL-2.0
/* The classic hello-world module with an int parameter (writable from sysfs). */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int count = 1;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "How many greetings (int)");

static int __init kmg_hello_init(void)
{
	pr_info("kmg_hello: hello, world (count=%d)\n", count);
	return 0;
}

static void __exit kmg_hello_exit(void)
{
	pr_info("kmg_hello: goodbye, world (count=%d)\n", count);
}

module_init(kmg_hello_init);
module_exit(kmg_hello_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodgui tests");
MODULE_DESCRIPTION("kmodgui guest test: hello world with a parameter");
