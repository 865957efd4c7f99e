"""Open edX XBlocks: thin adapters over the same domain operations the Flask app calls.

Each block is registered under the ``xblock.v1`` entry point in ``pyproject.toml``.
"""
