"""Pure domain records: frozen dataclasses and enums shared by every stage.

This package imports nothing else of gatewatch's. Submodules own one area each:
results (runs and test results), builds (CI builds and changes), logs,
perf (benchmark samples and series).
"""
