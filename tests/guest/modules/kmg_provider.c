// SPDX-License-Identifier: GPL-2.0
/* Exports a symbol that kmg_consumer needs. */
#include <linux/module.h>

int kmg_provider_answer(void)
{
	return 42;
}
EXPORT_SYMBOL_GPL(kmg_provider_answer);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodgui guest test: exports kmg_provider_answer");
