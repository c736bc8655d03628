"""The detail pane of the module list: one tab per aspect of the selected module."""
