"""Psychometrics: item types, instruments, scoring and norms.

A pure library (numpy/scipy only): no web framework, no database, no I/O beyond
what the command line in ``__main__`` reads. Everything here can be used and
tested on its own.

Modules: ``instrument`` and ``scoring`` (definitions and raw scores), ``norms``
(norm tables per group, standard scores, bands), ``ctt`` (alpha with Feldt's CI,
omega, SEM, item and distractor analysis), ``irt`` (Rasch/1PL/2PL/GRM by
marginal maximum likelihood, EAP/MAP scores, information, S-X² item fit),
``cat`` (adaptive testing and its simulation), ``dif`` (Mantel–Haenszel DIF),
``simulation`` (seeded response data) and ``responses`` (stored answers to
analysis matrices). The heavier modules are imported on use,
so importing the package stays cheap for the web app.
"""

from psychometrics.instrument import (
    Band,
    Instrument,
    InstrumentDefinitionError,
    InvalidResponse,
    Item,
    ItemKind,
    Option,
    Subscale,
    load_instrument,
)
from psychometrics.norms import (
    NormSummary,
    NormTable,
    StandardScores,
    band_for_t,
    build_norm_tables,
    classify,
    make_bands,
    norms_document,
    read_norms_document,
)
from psychometrics.scoring import SubscaleScore, score_instrument

__all__ = [
    "Band",
    "Instrument",
    "InstrumentDefinitionError",
    "InvalidResponse",
    "Item",
    "ItemKind",
    "NormSummary",
    "NormTable",
    "StandardScores",
    "Option",
    "Subscale",
    "SubscaleScore",
    "band_for_t",
    "build_norm_tables",
    "classify",
    "load_instrument",
    "make_bands",
    "norms_document",
    "read_norms_document",
    "score_instrument",
]
