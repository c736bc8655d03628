"""Dialogs of the module actions: previews and confirmations before anything changes."""
