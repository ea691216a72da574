"""Writes the generated pages (recipe keys, CLI, HTTP API, shipped models) into the site at build
time: mkdocs-gen-files runs this; the pages' text comes from nlpseq.reference."""

import mkdocs_gen_files

from nlpseq.reference import PAGES

for path, make in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as fh:
        fh.write(make())
