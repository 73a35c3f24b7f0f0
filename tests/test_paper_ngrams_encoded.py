"""The streaming n-gram path of CIDEr-D (word ids, one order at a time) equals the token-list path."""

from __future__ import annotations

import numpy as np

from altbench.metrics.paper.ngrams import encode_split, item_blocks, iter_encoded_tables, ngram_tables


def test_encoded_tables_equal_token_list_tables():
    refs = [("a dog runs in the park", "the dog"), ("",), ("cats sit on a mat a mat",)]
    hyps = ["a dog is in the park", "", "a mat a mat cats"]
    docs, doc_block, _, _, _ = item_blocks([tuple(s.split() for s in r) for r in refs], [h.split() for h in hyps])
    texts = [t for r, h in zip(refs, hyps) for t in (*r, h)]
    ids, lengths, n_words = encode_split(texts)
    assert lengths.tolist() == [len(d) for d in docs]
    for old, new in zip(ngram_tables(docs, doc_block), iter_encoded_tables(ids, lengths, n_words, doc_block),
                        strict=True):
        for field in ("gram", "doc", "count", "block", "run", "row_group"):
            assert np.array_equal(getattr(old, field), getattr(new, field)), field
        assert old.n_grams == new.n_grams
