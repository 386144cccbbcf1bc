"""The Digit Lens CNN in NumPy: textbook layers (``layers``), the fused block beside them
(``fast``), the spec-built ``network``, ``checkpoint`` files and ``train``."""
