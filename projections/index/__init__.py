"""The index workers: the folds of ``projections`` run over the store (backfill, live
indexing of one file, listing with its filesystem fallback, doctor, replay, and
``thread/read`` from the files). These do I/O through ``store``; the folds they run do not.
"""
