"""Build the shipped label-embedding matrices of ``medialens.analyses.evidence``.

For each label set of ``evidence.label_sets()`` (the 1,000 ImageNet class names rewritten for text embedders,
the COCO-80 names, the tag vocabulary, the category taxonomy) this embeds the texts with the installed
``e5-small-q4`` model (``query:`` prefix), stores the unit rows as float16 ``src/medialens/data/<name>_e5.npy``
and records the model, the sha256 of the texts and the shape in ``src/medialens/data/label_embeddings.json``.
At run time a matrix whose texts no longer match is ignored and the labels are embedded afresh.

    python tools/build_label_embeddings.py [--model-dir DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from medialens.analyses import evidence
from medialens.config import Settings

DATA = Path(__file__).resolve().parents[1] / "src" / "medialens" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=None, help="where e5-small-q4 is installed")
    ap.add_argument("--only", nargs="*", default=None, help="label sets to rebuild (default: all)")
    args = ap.parse_args()
    settings = Settings(model_dir=args.model_dir) if args.model_dir else Settings()
    meta_path = DATA / "label_embeddings.json"
    meta = json.loads(meta_path.read_text("utf-8")) if meta_path.is_file() else {}
    for name, texts in evidence.label_sets().items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        m = evidence.embed_texts(texts, settings).astype(np.float16)
        file = f"{name}_e5.npy"
        np.save(DATA / file, m, allow_pickle=False)
        meta[name] = {
            "file": file,
            "model": evidence.TEXT_MODEL,
            "prefix": "query: ",
            "dtype": "float16",
            "shape": list(m.shape),
            "sha256": evidence.texts_sha256(texts),
        }
        print(f"{name}: {m.shape} in {time.perf_counter() - t0:.1f} s")
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
