"""Python-side oracle for ckernel: ctypes binding (ckernel.py) and float64 PyTorch references (reference.py)."""
