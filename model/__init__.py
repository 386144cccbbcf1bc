"""The Digit Lens CNN in NumPy: textbook layers (``layers``), the fused block beside them
(``fast``), the spec-built ``network``, ``checkpoint`` files and ``train``.

Importing this package before NumPy (as ``python -m model.train`` and ``python -m
bench.model`` do) asks OpenBLAS for one thread unless OPENBLAS_NUM_THREADS says otherwise:
the network's matrix products are small, and on a machine of two cores a second BLAS thread
mostly spins, waiting for a core that other work holds (bench.model prints the figures).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
