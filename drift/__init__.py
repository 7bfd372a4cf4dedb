"""drift: a patch-application drift auditor.

Compares a fix catalog built from a product's release manifests, file by file and by hash, with what each
tenant actually runs, and says which known fixes are absent, partial or unverifiable, with the evidence.
"""

__version__ = "0.1.0"
