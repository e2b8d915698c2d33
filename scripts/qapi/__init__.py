"""vmwire's QAPI code generator (see scripts/qapi-gen.py, docs/qapi.md)."""
