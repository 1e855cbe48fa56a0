"""The query language (pure): elastic-recheck's Lucene subset, parsed and compiled.

``parse_query(text) -> Node`` (parse.py), ``compile_query(text) -> CompiledQuery``
(compile.py), ``build_filter(text) -> BuildFilter`` (filters.py); semantics in
docs/query-language.md.
"""
