"""The intermediate tasks: six English pair tasks, each carrying one constructed skill.

Three of them (toy_negation, toy_extension, toy_roles) take one of the skills the target tasks
need and give it more data than a target's English training set: toy_negation the 'not' of
toy_nli's and toy_mc's negated contradictions, toy_extension toy_nli's entailment (a modifier
dropped) against neutral (a modifier added), toy_roles toy_mc's agent-patient swaps under a
change of voice. The other three (below) are about the subject of a scene.

toy_lexical, toy_relational and toy_compositional: a scene and a claim about its subject.

sentence1 (the scene) is a positive clause whose subject is a person or an animal named by a
specific noun (never a hypernym) and whose other noun phrases are neither persons nor animals,
so the subject is the only person or animal in the scene. sentence2 changes only the subject's
noun phrase (and, in toy_compositional, its determiner). The three labels are parities of one,
two and three binary features: toy_lexical's is visible in sentence2 alone (is the new noun a
hypernym?); toy_relational's relates the two sentences (is the hypernym the one of sentence1's
subject?); toy_compositional's composes that relation with the polarity of sentence2's
determiner (an indefinite or 'no'). The verb admits persons and animals alike and the rest of
the scene is sampled for either class alike. In toy_compositional every feature and every pair
of features is balanced across labels, so neither sentence alone nor word overlap tells
anything; in toy_relational sentence1 alone tells nothing, but sentence2's hypernym is a partial
cue (more subjects are persons), like the hypothesis-only artefacts of real NLI datasets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from harness.data.toy.config import (
    INTERMEDIATE_TASKS,
    NOISE_PERMILLE,
    TASK_LABELS,
    ToyConfig,
    seeded_rng,
)
from harness.data.toy.grammar import NP, Clause, get_np, np_class, np_slots, swappable
from harness.data.toy.items import PairMaker, Record, check_task, pair_items
from harness.data.toy.lexicon import ANIMATE, HYPERNYM, HYPERNYM_KEYS, HYPONYMS, VERBS
from harness.data.toy.nli import (
    NLI_DETS,
    op_drop_adj,
    op_drop_pp,
    op_drop_time,
    op_move_time,
    positive_premise,
)
from harness.data.toy.sampler import THE, Sampler
from harness.data.toy.world import ToyWorld

_SCENE_VERBS = frozenset(v for v in VERBS if set(ANIMATE) <= set(VERBS[v][0]))


def _scene(s: Sampler, cls: str) -> Clause | None:
    """sentence1 of every intermediate task: its subject a specific noun of class ``cls``
    (person or animal), the only person or animal of the clause; no negation, no hypernym.
    Everything but the subject is sampled for either class alike (the verb admits both, no
    'with' PP), so that the rest of the clause says nothing about the class."""
    start = NP(noun=s.pick(HYPONYMS[s.pick(ANIMATE)]), det="d:the")
    c = s.clause(neg_p=0, time_p=30, name_p=20, hypernym_p=0, subject=start)
    if c.verb not in _SCENE_VERBS or any(pp.prep == "p:with" for pp in c.pps):
        return None
    others = [get_np(c, slot) for slot in np_slots(c)[1:]]
    if any(np_class(np_) in ANIMATE or np_.noun in HYPERNYM_KEYS for np_ in others):
        return None
    det, plural = s.determiner((("d:the", 3), ("d:a", 1)))
    k = s.weighted(((0, 50), (1, 35), (2, 15)))
    subj = NP(noun=s.pick(HYPONYMS[cls]), det=det, plural=plural, adjs=s.adjectives(cls, k))
    return replace(c, subj=subj)


def _other_animate(cls: str) -> str:
    return ANIMATE[1 - ANIMATE.index(cls)]


def _lexical_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """'same': sentence2 names sentence1's subject by its hypernym (the dog -> the animal);
    'different': by another noun of its class (the dog -> the cat). Determiner, adjectives and
    the rest of the clause are kept."""
    cls = s.pick(ANIMATE)
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    if label == "same":
        noun = HYPERNYM[cls]
    else:
        noun = s.pick([n for n in HYPONYMS[cls] if n != c1.subj.noun])
    return c1, replace(c1, subj=replace(c1.subj, noun=noun))


def _claim(c1: Clause, hypernym_cls: str, negative: bool) -> Clause:
    """sentence2 of toy_relational and toy_compositional: 'a/some HYPERNYM ...' (or 'no
    HYPERNYM ...' when ``negative``) doing what sentence1's subject did; adjectives dropped."""
    det = "d:no" if negative else ("d:some" if c1.subj.plural else "d:a")
    subj = NP(noun=HYPERNYM[hypernym_cls], det=det, plural=c1.subj.plural)
    return replace(c1, subj=subj)


_RELATIONAL_PERSON_PERCENT = 65
"""Share of toy_relational scenes whose subject is a person, in both labels: sentence2's
hypernym is a partial cue to the label (an artefact, as in real NLI data), sentence1 is none."""


def _relational_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """'same_event': sentence2 says that some person (animal) did what sentence1's subject
    did, and sentence1's subject is a person (animal); 'different_event': it names the other
    class. sentence1 is the whole scene (closed world), so a different_event claim is false."""
    cls = "person" if s.percent(_RELATIONAL_PERSON_PERCENT) else "animal"
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    claimed = cls if label == "same_event" else _other_animate(cls)
    return c1, _claim(c1, claimed, negative=False)


def _compositional_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """sentence2 says that some person (animal) did, or that no person (animal) did, what
    sentence1's subject did. With sentence1 as the whole scene (closed world) the claim is
    entailed iff the claimed class matches the subject's class XOR the claim is negative."""
    cls = s.pick(ANIMATE)
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    negative = s.percent(50)
    match = (label == "entailment") != negative
    return c1, _claim(c1, cls if match else _other_animate(cls), negative)


def _negation_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """'same': sentence2 restates sentence1 (its time adverbial moved or, without one, in the
    passive voice); 'negated': the same restatement, negated. One word of sentence2 ('not')
    decides."""
    c1 = positive_premise(s)
    if c1.time:
        c2 = op_move_time(s, c1)
    elif c1.obj is not None:
        c2 = replace(c1, passive=True)
    else:
        return None
    assert c2 is not None
    return c1, (replace(c2, neg=True) if label == "negated" else c2)


_DROPS = (op_drop_adj, op_drop_pp, op_drop_time)


def _extension_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """A clause and the same clause with one adjective, PP or time adverbial dropped (toy_nli's
    operations on positive premises): 'entailment' is (longer, shorter), 'neutral' is
    (shorter, longer), i.e. a modifier added. Both labels are made of the same sentences, so
    neither sentence alone tells anything: only which of the two has the extra words."""
    longer = positive_premise(s)
    shorter = s.pick(_DROPS)(s, longer)
    if shorter is None:
        return None
    return (longer, shorter) if label == "entailment" else (shorter, longer)


def _roles_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """sentence1: a person or animal acting on another (active, or passive in a quarter of the
    pairs); sentence2: the same event in the other voice (about 60 % of the pairs, in both
    labels alike) or the same voice with the time adverbial moved, 'same_roles' iff agent and
    patient are kept, 'swapped_roles' iff swapped. Both sentences have the same words up to the
    voice's 'was/were ... by', so only who-did-what-to-whom decides; the voice switch keeps the
    word order from giving it away."""
    c1 = s.clause(
        animate_pair=True,
        neg_p=0,
        passive_p=25,
        time_p=60,
        name_p=20,
        pp_weights=(60, 40, 0),
        dets=NLI_DETS,
        obj_dets=NLI_DETS,
        pp_dets=THE,
        hypernym_p=10,
    )
    if not swappable(c1):
        return None
    if s.percent(50):
        c2 = replace(c1, passive=not c1.passive)
    elif c1.time:  # the same voice, the time adverbial moved (so that sentence2 never repeats
        c2 = replace(c1, time_front=not c1.time_front)  # sentence1), in both labels alike
    else:
        return None
    if label == "swapped_roles":
        assert c2.obj is not None
        c2 = replace(c2, subj=c2.obj, obj=c2.subj)
    return c1, c2


_PAIR_MAKERS: dict[str, PairMaker] = {
    "toy_negation": _negation_pair,
    "toy_extension": _extension_pair,
    "toy_roles": _roles_pair,
    "toy_lexical": _lexical_pair,
    "toy_relational": _relational_pair,
    "toy_compositional": _compositional_pair,
}


def _add_noise(
    records: list[Record], labels: Sequence[str], permille: int, rng: random.Random
) -> None:
    """Replace the labels of exactly round(permille/1000 * n) records by another label."""
    n_noisy = (len(records) * permille + 500) // 1000
    for i in sorted(rng.sample(range(len(records)), n_noisy)):
        label = records[i]["label"]
        records[i]["label"] = rng.choice([x for x in labels if x != label])


def build_intermediate_task(
    task: str, config: ToyConfig, world: ToyWorld | None = None, *, label_noise: float | None = None
) -> dict[str, list[Record]]:
    """Records of an intermediate task: ``{"train": [...], "dev": [...]}`` (English).

    ``label_noise`` overrides the task's configured noise (``0.0`` gives the clean labels; the
    items themselves do not depend on it).
    """
    check_task(task, list(INTERMEDIATE_TASKS))
    world = world or ToyWorld(config.seed)
    permille = NOISE_PERMILLE[task] if label_noise is None else round(label_noise * 1000)
    seen: set[tuple[str, ...]] = set()
    out: dict[str, list[Record]] = {}
    for split, n in (("dev", config.intermediate_dev), ("train", config.intermediate_train)):
        items = pair_items(task, split, n, world, config.seed, seen, _PAIR_MAKERS[task])
        records: list[Record] = [
            {
                "id": i,
                "sentence1": world.sentence(a, "en"),
                "sentence2": world.sentence(b, "en"),
                "label": label,
            }
            for i, a, b, label in items
        ]
        _add_noise(
            records, TASK_LABELS[task], permille, seeded_rng(config.seed, "noise", task, split)
        )
        out[split] = records
    return {"train": out["train"], "dev": out["dev"]}
