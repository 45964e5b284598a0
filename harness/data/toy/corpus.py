"""The monolingual pretraining corpus of every toy language, with discourse: sentences that
restate the one before them with one detail changed.
"""

from __future__ import annotations

from harness.data.toy.config import LANGUAGES, ToyConfig, seeded_rng
from harness.data.toy.grammar import Clause
from harness.data.toy.languages import SPECS, corpus_size
from harness.data.toy.nli import NLI_OPS, NliOp
from harness.data.toy.sampler import Sampler
from harness.data.toy.world import ToyWorld

# Operations that relate a corpus sentence to the one before it (discourse: a restatement
# with one detail changed), drawn from every NLI relation alike. Ordered by function name:
# renaming an operation reorders them and so changes the corpus.
_DISCOURSE_OPS: tuple[NliOp, ...] = tuple(
    sorted({op for ops in NLI_OPS.values() for op in ops}, key=lambda op: op.__name__)
)
DISCOURSE_PERCENT = 50
"""Share of corpus sentences that restate the previous sentence with one change."""


def build_corpus(lang: str, config: ToyConfig, world: ToyWorld | None = None) -> list[str]:
    """Monolingual pretraining sentences of ``lang`` (independently sampled per language).

    Like running text, the corpus has discourse: about :data:`DISCOURSE_PERCENT` % of the
    sentences restate the sentence before them with one detail changed (an adjective, a PP, the
    time, a hypernym, negation, swapped roles...), so entities recur between neighbouring
    sentences. Pretraining packs neighbouring sentences into one sequence, where this teaches
    the encoder to relate words across sentences, as real documents do.
    """
    if lang not in SPECS:
        raise ValueError(f"unknown toy language {lang!r}; expected one of {LANGUAGES}")
    world = world or ToyWorld(config.seed)
    s = Sampler(seeded_rng(config.seed, "corpus", lang))
    out: list[str] = []
    previous: Clause | None = None
    for _ in range(corpus_size(lang, config)):
        restated: Clause | None = None
        if previous is not None and s.percent(DISCOURSE_PERCENT):
            restated = s.pick(_DISCOURSE_OPS)(s, previous)
            if restated == previous:
                restated = None
        if restated is not None:
            out.append(world.sentence(restated, lang))
            previous = None  # a restatement is not restated again: chains stay short
        else:
            previous = s.clause(passive_p=5)
            out.append(world.sentence(previous, lang))
    return out
