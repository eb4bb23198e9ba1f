"""OSINT: from a news article to linked, graded STIX knowledge.

Entry points: :meth:`diapason.osint.ingest.Ingestor.ingest_text` and
:class:`diapason.osint.ingest.Ingestor` (ingest into a node),
:func:`diapason.osint.pipeline.analyse` (analysis without storage),
:func:`diapason.osint.gazetteer.record_correction` (an analyst's gazetteer correction).
See docs/osint.md.
"""
