"""The module workbench: write, build, check and sign one's own kernel module.

Qt-free so the CLI (``kmodgui new|build|keygen|sign``) and the window's
Workbench page share it: a template (:mod:`.template`), an unprivileged build
whose log lines stream to a callback (:mod:`.runner`), the log parsed into
plain diagnostics (:mod:`.logparse`), which headers package a distribution
needs (:mod:`.headers`), the built file checked against the target kernel
(:mod:`.check`) and module signing (:mod:`.signing`).
"""
