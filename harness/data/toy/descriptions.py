"""What every toy task is: the rules of the intermediate tasks and the designs of the target
tasks (written to ``task.json`` and the README), and the ``task.json`` record itself.
"""

from __future__ import annotations

from harness.data.toy.config import (
    INTERMEDIATE_TASKS,
    LABEL_NOISE,
    LANGUAGES,
    TARGET_TASKS,
    TASK_LABELS,
    ToyConfig,
)
from harness.data.toy.targets import KIND_TASKS, kind_task_sizes, task_languages

_SCENE_RULE = (
    "sentence1 is a scene: a positive clause whose subject is a person or an animal named by a "
    "specific noun, the only person or animal in it (every other noun phrase is a thing, place "
    "or organisation; the verb admits persons and animals alike). "
)
_PLAIN_RULE = (
    "sentence1 is a positive clause sampled as toy_nli's premises are (no negation, no passive). "
)
RULES: dict[str, str] = {
    "toy_negation": (
        _PLAIN_RULE + "sentence2 restates it (its time adverbial moved or, without one, in the "
        "passive voice): 'same' as it is, 'negated' with 'not'. One word of sentence2 decides; "
        "it is the skill of the negated contradictions of toy_nli and toy_mc, whose own "
        "training sets already teach it."
    ),
    "toy_extension": (
        _PLAIN_RULE + "One sentence of the pair is the other with one adjective, PP or time "
        "adverbial dropped: 'entailment' iff sentence2 is the shorter one (a modifier dropped), "
        "'neutral' iff sentence2 is the longer one (a modifier added), as in toy_nli. Both "
        "labels are made of the same sentences, so neither sentence alone tells anything; "
        "comparing the two (their lengths) decides. The skill of half of toy_nli's entailment "
        "and neutral pairs."
    ),
    "toy_roles": (
        "sentence1 is a clause whose agent and patient are both persons or animals and could "
        "swap roles (active, or passive in a quarter of the pairs). sentence2 is the same "
        "event in the other voice (about 60% of the pairs) or the same voice with its time "
        "adverbial moved: 'same_roles' iff agent and patient are kept, 'swapped_roles' iff "
        "swapped. Both sentences have the same words up to 'was/were ... by', and the voice "
        "switch keeps word order from deciding: "
        "only who did what to whom does. The skill of toy_mc's swapped candidates."
    ),
    "toy_lexical": (
        _SCENE_RULE + "sentence2 repeats it with the subject's noun replaced: 'same' iff the new "
        "noun is the subject's hypernym (the dog -> the animal, the nurse -> the person), "
        "'different' iff it is another noun of the same class (the dog -> the cat). One word "
        "of sentence2 decides (a parity of one feature), overlap is equal for both labels."
    ),
    "toy_relational": (
        _SCENE_RULE + "sentence2 says that 'a/some person' or 'a/some animal' did what the "
        "subject did (adjectives dropped). Reading sentence1 as the whole scene (closed world), "
        "'same_event' iff the hypernym is the class of sentence1's subject, 'different_event' "
        "otherwise: a parity of two features, one in each sentence. Like the hypothesis-only "
        "artefacts of real NLI data, the subject is a person in 65% of the pairs of either "
        "label, so 'a person' in sentence2 leans to 'same_event' (65%) and 'an animal' to "
        "'different_event'; sentence1 alone and word overlap tell nothing. 5% label noise."
    ),
    "toy_compositional": (
        _SCENE_RULE + "sentence2 says that 'a/some person (animal)' or that 'no person "
        "(animal)' did what the subject did (adjectives dropped). Reading sentence1 as the "
        "whole scene (closed world), sentence2 is 'entailment' iff the class matches "
        "sentence1's subject and the claim is positive, or the class does not match and it is "
        "negative ('no'); 'contradiction' otherwise: a parity of three features (the subject's "
        "class, the claimed class, the polarity), each, and each pair, balanced across labels. "
        "15% label noise."
    ),
}
DESCRIPTIONS: dict[str, str] = {
    "toy_nli": (
        "Three-way NLI. The hypothesis is derived from a positive premise by one operation; "
        "pairs describe the same scene (SNLI convention). entailment: drop an adjective, PP or "
        "time adverbial, or replace a noun by its hypernym. neutral: add an adjective, PP or "
        "time adverbial, or replace a hypernym by a hyponym. contradiction: negate, replace a "
        "noun or name by another of its class, change a number, or replace an adjective by an "
        "incompatible one. Skills shared with intermediate tasks: negation (toy_negation), "
        "which sentence has the extra modifier (toy_extension), hypernyms against other nouns "
        "of a class (toy_lexical)."
    ),
    "toy_ner": (
        "Named-entity tagging with BIO tags for PER, LOC and ORG; every sentence has one to "
        "three entities, many of them multi-word. Tokens include the final '.' (tag O)."
    ),
    "toy_mc": (
        "Two-way multiple choice (like XCOPA): a premise (context; question empty) and two "
        "candidates; label is the index of the right one, balanced over positions. The right "
        "candidate is entailed: the premise rewritten by one or two of active/passive voice, "
        "moving the time adverbial, dropping an adjective, PP or time adverbial, a hypernym. "
        "The wrong one is the right one contradicted, a third of the items each: negated (one "
        "word decides; toy_negation's skill), a noun or name replaced by another of its class "
        "(overlap with the premise decides), or agent and patient swapped (same words, same "
        "length: only who did what to whom decides; toy_roles's skill)."
    ),
    "toy_qa": (
        "Extractive QA (like XQuAD): a context of 2-4 sentences with distinct verbs and a "
        "who/what/where question about one of them; the answer is the agent, the object or the "
        "noun phrase of the only locative PP, without its determiner, as a SQuAD span "
        "(answers.text, answers.answer_start in characters). Question words are invented per "
        "language like other function words; SVO languages front them ('did' support), SOV "
        "languages keep them in place. Questions end with '?'. Train is half of target_train "
        "(longer inputs)."
    ),
    "toy_retrieval": (
        "Sentence retrieval (like Tatoeba): dev and test only; each query is a sentence in xa, "
        "xb, xc or xd and its target is the English original (same id); the task is to find "
        "the target among all targets of the split. Sentences are sampled on their own stream, "
        "not taken from the other tasks."
    ),
}


def task_json(task: str, config: ToyConfig) -> dict[str, object]:
    """The ``task.json`` record of ``task``."""
    if task in INTERMEDIATE_TASKS:
        return {
            "name": task,
            "role": "intermediate",
            "kind": "pair_classification",
            "labels": list(TASK_LABELS[task]),
            "languages": ["en"],
            "sizes": {"train": config.intermediate_train, "dev": config.intermediate_dev},
            "difficulty": {
                "rank": INTERMEDIATE_TASKS[task],
                "label_noise": LABEL_NOISE[task],
                "rule": RULES[task],
            },
        }
    sizes = {"train": config.target_train, "dev": config.target_dev, "test": config.target_test}
    return {
        "name": task,
        "role": "target",
        "kind": TARGET_TASKS[task],
        "labels": list(TASK_LABELS[task]),
        "languages": task_languages(task) if task in KIND_TASKS else list(LANGUAGES),
        "train_language": "en",
        "sizes": kind_task_sizes(task, config) if task in KIND_TASKS else sizes,
        "sizes_note": "no train (evaluated from the encoder); dev and test sizes are per query "
        "language"
        if TARGET_TASKS[task] == "retrieval"
        else "train is English only; dev and test sizes are per language",
        "description": DESCRIPTIONS[task],
    }
