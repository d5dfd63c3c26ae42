"""What users read: step tables and verdict lines (``render``), statistics lines (``report``),
comparing protocols (``compare``) and sweeping sizes (``sweep``)."""
