#!/usr/bin/env python3
"""Writes the references made from the code into README.md, between their
BEGIN and END markers, and the man pages doc/hanfs.conf.5 and doc/hanfs.8:
`update-readme.py HANFS_BINARY`."""
import re
import subprocess
import sys

hanfs = sys.argv[1]
readme = open("README.md").read()
for what in ["primitives", "attributes"]:
    text = subprocess.run([hanfs, "doc", what], capture_output=True, text=True, check=True).stdout
    pattern = re.compile(r"(<!-- BEGIN %s:[^\n]*-->\n).*?(<!-- END %s -->)" % (what, what), re.S)
    readme, n = pattern.subn(lambda m: m.group(1) + text + m.group(2), readme)
    if n != 1:
        sys.exit("README.md: no BEGIN/END markers for %s" % what)
open("README.md", "w").write(readme)
# hanfs.conf(5), made from the attribute table; hanfs(8), from the command line's declarations.
for page in ["hanfs.conf.5", "hanfs.8"]:
    text = subprocess.run([hanfs, "doc", page], capture_output=True, text=True, check=True).stdout
    open("doc/" + page, "w").write(text)
