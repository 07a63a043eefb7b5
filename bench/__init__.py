"""Benchmarks: how fast the gallery starts and how close each demo runs to its bare model.

    python -m bench [--only bert,vit] [--quick] [--device cuda] [--update-readme]

Offline (`HF_HUB_OFFLINE=1`): every demo's default architecture is built at full size with random
weights (`bench.architectures`, configs kept in code), saved to a temporary folder and loaded
through the demo's real code (`GALLERY_<KEY>_MODEL` pointing at it, then the module's `predict`).
Each demo runs in its own subprocess (`bench.worker`), so peak RSS is per demo. Results go to
`bench/results/latest.{md,json}` and, with `--update-readme`, into README.md's benchmark section.
A demo is benchmarked when its registry record, its module and a case in `bench.cases` exist;
otherwise the table says why it was skipped.
"""
