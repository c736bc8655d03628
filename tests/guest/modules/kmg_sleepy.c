// SPDX-License-Identifier: GPL-2.0
/* A module whose init takes its time: the helper must not wait for it unbounded. */
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int seconds = 40;
module_param(seconds, int, 0444);
MODULE_PARM_DESC(seconds, "How long init sleeps (int, seconds)");

static int __init kmg_sleepy_init(void)
{
	int i;

	pr_info("kmg_sleepy: sleeping for %d s in init\n", seconds);
	for (i = 0; i < seconds; i++)
		msleep(1000);
	pr_info("kmg_sleepy: awake after %d s\n", seconds);
	return 0;
}

static void __exit kmg_sleepy_exit(void)
{
	pr_info("kmg_sleepy: goodbye\n");
}

module_init(kmg_sleepy_init);
module_exit(kmg_sleepy_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodgui tests");
MODULE_DESCRIPTION("kmodgui guest test: an init that sleeps");
