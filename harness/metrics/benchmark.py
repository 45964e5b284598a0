"""XTREME and XTREME-R: tasks, languages, groups, and how task, group and overall scores are
averaged.

Task names are the official submission names (the folder names of the submission layout).

Averaging, as the official XTREME ``evaluate.py`` does it (scores on its 0-100 scale):

* a task's score per metric is the unweighted mean over the task's languages of the
  benchmark version; its **task score** is mean(EM, F1) for the QA tasks, else the mean F1
  where the task reports F1 (PAN-X, UD-POS, BUCC), else the mean accuracy (XNLI, PAWS-X,
  XCOPA, Tatoeba), and for LAReQA and Mewsli-X the mean mAP@20;
* a **group score** is the unweighted mean of the task scores of the group, reported only when
  every task of the group is present;
* the **overall score** is the unweighted mean of the task scores of *all* tasks of the
  version, reported only when every task is present.

XTREME-R, as the reference ``evaluate.py --xtreme_version xtreme-r`` has it: XQuAD adds
Romanian; the groups are classification (XNLI, XCOPA), tagging, QA, retrieval (Tatoeba,
Mewsli-X) and multi_choice (XCOPA again, whose files are JSON lines); LAReQA is listed with no
language, so the reference scores it in no group and never reports an overall score (LAReQA is
scored by its own script). Here LAReQA is scored by mAP@20 over its eleven languages, and the
overall score is defined the same way as XTREME's: the mean of the ten task scores (LAReQA
included). ``category_average``, the mean of the four paper categories (classification,
tagging, QA, retrieval; multi_choice repeats XCOPA and is left out), is reported as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Version = Literal["xtreme", "xtreme_r"]
VERSIONS: tuple[Version, ...] = ("xtreme", "xtreme_r")

_XTREME_PANX = (
    "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,"
    "th,sw,yo,my,zh,kk,tr,et,fi,hu"
)
_XTREME_UDPOS = (
    "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,"
    "vi,yo,zh"
)
_XTREME_TATOEBA = (
    "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
    "zh,kk,tr,et,fi,hu"
)


def _langs(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


#: task -> version -> evaluated languages (absent version: the task is not part of it)
TASK_LANGUAGES: dict[str, dict[Version, tuple[str, ...]]] = {
    "xnli": {
        "xtreme": _langs("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
        "xtreme_r": _langs("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
    },
    "pawsx": {"xtreme": _langs("de,en,es,fr,ja,ko,zh")},
    "xcopa": {"xtreme_r": _langs("et,ht,id,it,qu,sw,ta,th,tr,vi,zh")},
    "udpos": {
        "xtreme": _langs(_XTREME_UDPOS),
        "xtreme_r": _langs(_XTREME_UDPOS + ",lt,pl,uk,ro,wo"),
    },
    "panx": {
        "xtreme": _langs(_XTREME_PANX),
        "xtreme_r": _langs(_XTREME_PANX + ",qu,pl,uk,az,lt,pa,gu,ro"),
    },
    "xquad": {
        "xtreme": _langs("en,es,de,el,ru,tr,ar,vi,th,zh,hi"),
        "xtreme_r": _langs("en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro"),
    },
    "mlqa": {
        "xtreme": _langs("en,es,de,ar,hi,vi,zh"),
        "xtreme_r": _langs("en,es,de,ar,hi,vi,zh"),
    },
    "tydiqa": {
        "xtreme": _langs("en,ar,bn,fi,id,ko,ru,sw,te"),
        "xtreme_r": _langs("en,ar,bn,fi,id,ko,ru,sw,te"),
    },
    "bucc2018": {"xtreme": _langs("de,fr,ru,zh")},
    "tatoeba": {
        "xtreme": _langs(_XTREME_TATOEBA),
        "xtreme_r": _langs(_XTREME_TATOEBA + ",az,lt,pl,uk,ro"),
    },
    "mewslix": {"xtreme_r": _langs("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk")},
    "lareqa": {"xtreme_r": _langs("ar,de,el,en,es,hi,ru,th,tr,vi,zh")},
}

#: version -> group -> tasks, as the reference evaluate.py groups them (XTREME-R calls the
#: tagging group "structured prediction"; LAReQA is in none of its groups)
GROUPS: dict[Version, dict[str, tuple[str, ...]]] = {
    "xtreme": {
        "classification": ("pawsx", "xnli"),
        "tagging": ("udpos", "panx"),
        "qa": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("bucc2018", "tatoeba"),
    },
    "xtreme_r": {
        "classification": ("xnli", "xcopa"),
        "tagging": ("udpos", "panx"),
        "qa": ("xquad", "mlqa", "tydiqa"),
        "retrieval": ("tatoeba", "mewslix"),
        "multi_choice": ("xcopa",),
    },
}
#: the groups whose mean is XTREME-R's ``category_average`` (the paper's four categories)
CATEGORIES = ("classification", "tagging", "qa", "retrieval")

QA_TASKS = frozenset({"xquad", "mlqa", "tydiqa"})
#: the metric whose language mean is the task score (QA: mean of EM and F1)
TASK_METRIC: dict[str, str] = {
    "xnli": "accuracy",
    "pawsx": "accuracy",
    "xcopa": "accuracy",
    "udpos": "f1",
    "panx": "f1",
    "xquad": "exact_match+f1",
    "mlqa": "exact_match+f1",
    "tydiqa": "exact_match+f1",
    "bucc2018": "f1",
    "tatoeba": "accuracy",
    "mewslix": "map@20",
    "lareqa": "map@20",
}


def tasks_of(version: Version) -> tuple[str, ...]:
    return tuple(t for t in TASK_LANGUAGES if version in TASK_LANGUAGES[t])


def group_of(task: str, version: Version) -> str | None:
    for group, tasks in GROUPS[version].items():
        if task in tasks:
            return group
    return None


def languages(task: str, version: Version) -> tuple[str, ...]:
    try:
        return TASK_LANGUAGES[task][version]
    except KeyError:
        raise ValueError(f"task {task!r} is not part of {version}") from None


def task_average(task: str, per_language: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``avg_<metric>`` over the given languages for every metric, plus ``avg_metric`` (the
    task score), from language -> metric -> value."""
    if not per_language:
        raise ValueError(f"no language scores for task {task!r}")
    metrics: dict[str, list[float]] = {}
    for scores in per_language.values():
        for metric, value in scores.items():
            metrics.setdefault(metric, []).append(value)
    averages = {f"avg_{m}": sum(v) / len(v) for m, v in metrics.items()}
    if task in QA_TASKS:
        averages["avg_metric"] = (averages["avg_exact_match"] + averages["avg_f1"]) / 2
    elif "avg_f1" in averages:
        averages["avg_metric"] = averages["avg_f1"]
    elif "avg_accuracy" in averages:
        averages["avg_metric"] = averages["avg_accuracy"]
    elif "avg_map@20" in averages:
        averages["avg_metric"] = averages["avg_map@20"]
    return averages


def benchmark_summary(version: Version, task_scores: Mapping[str, float]) -> dict[str, float]:
    """Group scores (complete groups only) and the overall score (all tasks present only)."""
    summary: dict[str, float] = {}
    all_tasks = tasks_of(version)
    if all(t in task_scores for t in all_tasks):
        summary["all_task"] = sum(task_scores[t] for t in all_tasks) / len(all_tasks)
    for group, tasks in GROUPS[version].items():
        if all(t in task_scores for t in tasks):
            summary[group] = sum(task_scores[t] for t in tasks) / len(tasks)
    if version == "xtreme_r" and all(g in summary for g in CATEGORIES):
        summary["category_average"] = sum(summary[g] for g in CATEGORIES) / len(CATEGORIES)
    return summary
