"""Typed view of ``params.yaml``.

Configuration flows one way: ``params.yaml`` -> :func:`load_params` -> explicit arguments.
Nothing else in the package reads the parameters file or environment variables.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from harness.errors import HarnessError
from harness.io import load_yaml_model
from harness.strict import no_bool_as_number

_COMMIT = re.compile(r"^[0-9a-f]{40}$")

BASELINE = "none"
"""The no-intermediate setting in the grid: phase 2 straight from the pretrained encoder."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        return no_bool_as_number(cls, data)


class Paths(_Strict):
    data: Path = Path("data")
    models: Path = Path("models")
    results: Path = Path("results")
    database: Path = Path("results/xtransfer.duckdb")
    cache: Path | None = Path(".cache/features")
    """Tokenised-feature cache (content-addressed, outside DVC; null turns it off)."""


class ToyDataParams(_Strict):
    """Settings of the synthetic toy benchmark generator (profile ``toy`` only)."""

    seed: int = 1234
    corpus_sentences: int = Field(12000, gt=0)
    intermediate_train: int = Field(2000, gt=0)
    intermediate_dev: int = Field(400, gt=0)
    target_train: int = Field(2000, gt=0)
    target_dev: int = Field(300, gt=0)
    target_test: int = Field(500, gt=0)


class ModelParams(_Strict):
    """The pretrained encoder.

    ``source: pretrain`` trains a tokenizer and a small XLM-R-style encoder with MLM on the
    toy corpus (the sizes below apply); ``source: hub`` takes ``hub_id`` at the pinned
    ``revision`` (a local directory also works as ``hub_id``, without a revision). The
    ``pretrain`` stage refuses a Hub id without a revision, so no run uses moving weights.
    """

    name: str
    source: Literal["pretrain", "hub"]
    hub_id: str | None = None
    revision: str | None = None
    vocab_size: int = Field(4000, gt=16)
    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(4, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(256, gt=0)
    max_position: int = Field(130, gt=8)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _hub_needs_revision(self) -> ModelParams:
        if self.source == "hub" and not self.hub_id:
            raise ValueError("model.source 'hub' needs model.hub_id (a Hub id or a local folder)")
        if self.revision is not None and not _COMMIT.match(self.revision):
            raise ValueError(
                f"model.revision must be a full 40-hex commit of the model repository (got "
                f"{self.revision!r}): a branch or tag can move, a commit cannot"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError("model.hidden_size must be divisible by model.num_heads")
        return self


class SelectionParams(_Strict):
    """Best-checkpoint selection during training (phase 1 and phase 2).

    Every ``every_steps`` optimizer steps, and at the last step, the model is scored on English
    dev data (the task's primary metric) and the best-scoring state is kept; training ends with
    that state, not the last one. ``every_steps: 0`` (the default) keeps the last step's model.
    The result records every check, the selected step and its English dev score."""

    every_steps: int = Field(0, ge=0)
    """Optimizer steps between two checks (0: no selection, the last step's model is kept)."""
    dev: Literal["training", "target"] = "training"
    """Which English dev data is scored: ``training``, the dev split of the data being trained
    on (an intermediate task's own; a target trained on other English data, such as XNLI on
    MNLI, that data's: jiant's early stopping on the training task); ``target``, the target
    task's own dev split in its training language (XNLI's English dev: the XTREME scripts).
    The two are the same for a task trained on its own data."""
    subset: int = Field(0, ge=0)
    """Score only the first this-many dev examples at each check (jiant's
    ``eval_subset_num``: 500); 0: all of them."""
    patience: int = Field(0, ge=0)
    """Stop training after this many consecutive checks without a better score (0: never)."""
    oracle: bool = False
    """Phase 2: also score the target's dev split in every other language at each check, and
    record the target-dev oracle (the check with the best mean target-language dev score;
    Keung et al. 2020) beside the English-dev selection. Costs a dev pass per language per
    check; it never changes which model is selected."""


#: TrainParams settings added later, with the default that means "as before"
_LATER_DEFAULTS: dict[str, Any] = {
    "warmup_steps": None,
    "selection": SelectionParams(),
    "packing": 0,
}


class TrainParams(_Strict):
    """Hyperparameters of one training phase for one task."""

    epochs: float = Field(gt=0)
    learning_rate: float = Field(gt=0)
    batch_size: int = Field(gt=0)
    max_length: int = Field(gt=4)
    grad_accumulation: int = Field(1, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int | None = Field(None, ge=0)
    """Linear warm-up over this many optimizer steps instead of ``warmup_ratio`` of them (the
    XTREME QA script's ``--warmup_steps 500``); None: the ratio."""
    weight_decay: float = Field(0.01, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    bf16: bool = True
    """Mixed precision (bfloat16 autocast) when training on a CUDA device; ignored on CPU."""
    compile: bool = False
    """Train through ``torch.compile(model)`` (worth it on a GPU for long runs; the first steps
    pay the compilation)."""
    compile_mode: Literal[
        "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"
    ] = "default"
    """``torch.compile``'s mode when ``compile`` is true. ``reduce-overhead`` replays each step's
    kernels as CUDA graphs, one graph per batch shape: for steps bound by the CPU launching
    kernels (small batches of short sentences on a fast GPU; BENCHMARKS.md). Use it with
    ``pad_to_multiple`` so the shapes are few."""
    pad_to_multiple: int = Field(1, ge=1)
    """Round each training batch's padded length up to a multiple of this, never past
    ``max_length`` (1: pad to the batch's longest example). 16 or 32 bounds the batch shapes a
    compiled model (and its CUDA graphs) meets to about ``max_length / pad_to_multiple``. The
    extra positions are masked; without dropout what is learned is the same up to float
    rounding, with it the dropout masks (drawn over the wider tensors) differ."""
    group_by_length: int = Field(50, ge=0)
    """Length-grouped batches: the shuffled examples are cut into groups of this many batches,
    each group sorted by length before it is cut into batches, and the batches shuffled again
    (:mod:`harness.data.batching`), so dynamic padding pads little (on the toy tasks' training
    sets, 50 computes 29-34 % fewer tokens than plain shuffled batches). 0 or 1: plain shuffled
    batches."""
    packing: int = Field(0, ge=0)
    """Padding-free batches (:mod:`harness.model.packing`): each batch's sequences packed into
    rows of this many tokens (at least ``max_length``), every sequence attending only to itself
    with its own positions; the same batches, losses and gradients as padded ones up to float
    rounding, with a fixed width (few shapes for ``compile``). Classification and tagging:
    single-task training and prediction, and a multi-task setting's batches of such rows (its
    multiple-choice and QA batches, and its dev passes, stay padded). 0: off (dynamically
    padded batches)."""
    doc_stride: int = Field(128, ge=0)
    """Extractive QA: tokens shared by consecutive windows of a long context (the fast
    tokenizer's ``stride``, as the reference ``run_qa.py``); must be below ``max_length -
    max_query_length - 4``."""
    max_query_length: int = Field(64, gt=0)
    """Extractive QA: questions are cut to this many tokens."""
    selection: SelectionParams = SelectionParams()
    """Best-checkpoint selection on English dev (default: off, the last step's model)."""

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Settings added after results were published are left out of a dump while they keep
        # their default, so the parameter hashes (run ids, checkpoint fingerprints) of every
        # earlier configuration stay what they were.
        data: dict[str, Any] = handler(self)
        for name, default in _LATER_DEFAULTS.items():
            if name in data and getattr(self, name) == default:
                del data[name]
        return data

    @model_validator(mode="after")
    def _packing_fits(self) -> TrainParams:
        if self.packing and self.packing < self.max_length:
            raise ValueError(
                f"packing is {self.packing} tokens per row but max_length is {self.max_length}: "
                "a row must hold the longest sequence. Set packing to at least max_length, or "
                "0 to turn it off."
            )
        return self

    @model_validator(mode="after")
    def _compile_mode_needs_compile(self) -> TrainParams:
        if self.compile_mode != "default" and not self.compile:
            raise ValueError(
                f"compile_mode is '{self.compile_mode}' but compile is false: set compile: true "
                "to train through torch.compile, or remove compile_mode."
            )
        return self


class CheckpointParams(_Strict):
    """Crash-resume checkpoints of every training run (pretrain, phase 1, phase 2).

    Kept beside the stage's output in ``<out>.ckpt/`` (outside DVC) and removed when the stage
    finishes; a killed or requeued stage resumes from the newest valid one. They never change a
    result (a resumed run is bit-identical on CPU), so they are not a stage parameter in dvc.yaml.
    Both intervals 0: off.
    """

    every_steps: int = Field(0, ge=0)
    every_minutes: float = Field(0.0, ge=0)
    keep: int = Field(2, ge=1)


class PretrainParams(TrainParams):
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    threads: int | None = Field(None, ge=1)
    """CPU threads of the pretraining stage (default: ``compute.threads``). Pretraining runs
    alone in its wave of a sweep, so it can use every core the others share."""


class ComputeParams(_Strict):
    """How a stage process uses the machine."""

    threads: int = Field(1, ge=1)
    """CPU threads of every stage process (torch intra-op threads). On a CPU, floating-point
    results depend on the thread count (the order of reductions), so it is a parameter of every
    stage that computes with the model: the same count gives bit-identical results, whatever
    the cores of the machine (a stage with more threads than cores warns, and runs slower).
    `harness sweep --executor local` starts stages only while the threads of the running ones
    fit the cores available to it (CPU affinity within the cgroup's quota; `--cores` to
    override, `--jobs` caps the count): on the 2-core toy machine, two 1-thread stages at once.
    On a GPU it only sets host-side threads."""
    tf32: bool = True
    """On CUDA, float32 matrix products on TF32 tensor cores (Ampere and newer): faster, with a
    10-bit mantissa inside the products. Results differ from full float32, hence a parameter."""


class EvalParams(_Strict):
    batch_size: int = Field(128, gt=0)
    max_length: int = Field(128, gt=4)
    splits: list[str] = Field(default_factory=lambda: ["dev", "test"])
    """``max_length`` applies to every kind but extractive QA, whose contexts are windowed at
    evaluation as in training (the task's max_length, doc_stride and max_query_length)."""
    max_answer_length: int = Field(30, gt=0)
    """Extractive QA: the longest answer span decoded, in tokens."""
    n_best: int = Field(20, gt=0)
    """Extractive QA: start and end candidates per window (the highest logits)."""


class DifficultyParams(_Strict):
    """Difficulty measures of the intermediate tasks (:mod:`harness.stages.difficulty`)."""

    train_examples: int = Field(0, ge=0)
    """Fine-tune the difficulty models on a seeded sample of this many training examples
    (0 = all; V-information depends on the training-set size, so keep it fixed across tasks)."""
    cartography_examples: int = Field(1000, ge=0)
    """Training examples whose gold-label probability is tracked across epochs (a seeded
    sample; 0 = all)."""
    hard_confidence: float = Field(0.5, gt=0, le=1)
    """Hard-to-learn: mean gold-label probability over epochs below this ..."""
    hard_variability: float = Field(0.2, gt=0, le=1)
    """... and its standard deviation over epochs below this."""
    tiers: int = Field(3, ge=1)
    """Difficulty tiers per measure (3 = terciles); 1 is the easiest."""


class AnalysisParams(_Strict):
    """The analysis of gains and their relation to difficulty (:mod:`harness.stages.analyze`)."""

    split: str = "test"
    bootstrap_samples: int = Field(1000, ge=100)
    confidence: float = Field(0.95, gt=0, lt=1)
    bootstrap_seed: int = 20260101


class Grid(_Strict):
    intermediate: list[str]
    target: list[str]
    retrieval: list[str] = Field(default_factory=list)
    """Retrieval targets (BUCC, Tatoeba, ...): scored straight from each phase-1 encoder by
    `harness retrieve` (stage ``retrieve@I-T``), with no phase 2, once (the top-level seed)."""
    seeds: list[int] = Field(default_factory=list)
    """Seeds of every phase-2 (+ evaluation) cell; empty = the top-level ``seed`` only."""

    @model_validator(mode="after")
    def _unique(self) -> Grid:
        for field in ("intermediate", "target", "retrieval"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"grid.{field} lists a task twice: {values}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"grid.seeds lists a seed twice: {self.seeds}")
        both = sorted(set(self.target) & set(self.retrieval))
        if both:
            raise ValueError(
                f"grid.target and grid.retrieval both list {both}: a retrieval task is scored "
                "from the phase-1 encoder, so list it in grid.retrieval only"
            )
        if BASELINE not in self.intermediate:
            raise ValueError(
                f"grid.intermediate must include '{BASELINE}' (the baseline every gain is read "
                "against)"
            )
        return self


class TaskInputs(_Strict):
    """What the ``intermediate@<task>`` stage of dvc.yaml depends on: the task's spec file and
    its data folder (for a Hub source, the spec again: it pins the dataset revision)."""

    spec: Path
    data: Path


class Inputs(_Strict):
    """What the profile's stages read besides their own spec and encoder: dvc.yaml takes these
    dependencies from here, so one dvc.yaml runs every profile. Target and retrieval tasks
    follow a layout: spec ``<target_specs>/<task>.yaml``, data folder
    ``<target_data>/<task>`` (everything a target reads, its English training data included,
    is under its own folder; ``harness fetch`` writes them)."""

    pretrain: Path = Path("data/toy/corpus")
    """What the ``pretrain`` stage reads: the toy corpus folder (a Hub checkpoint reads no
    local data: the paper profile names the stage's own code)."""
    languages: Path = Path("data/toy/languages.json")
    """Language metadata the analysis reads (toy: the generated ``languages.json``; paper:
    the built-in XTREME table ``harness/results/languages.yaml``)."""
    target_specs: Path = Path("harness/tasks/builtin")
    target_data: Path = Path("data/toy/tasks")


class DatasetInputs(_Strict):
    """One dataset of the ``fetch@<task>`` stage: the task spec saying where its files come
    from (URLs, digests, converter), and the folder it writes (the task's data folder)."""

    spec: Path
    out: Path


class FetchParams(_Strict):
    """Data acquisition (``harness fetch``, stages ``fetch@<task>`` of dvc.yaml)."""

    mirror: Path | None = None
    """A folder of official release files (each under its ``fetch[].files[].name``, as
    published) looked in before the network: labs keep such copies, and hosted copies rot.
    Not a stage parameter: whatever the source, the files must match the spec's digests."""
    datasets: dict[str, DatasetInputs] = Field(default_factory=dict)
    """Every task of the profile whose data is acquired (the toy profile generates its data
    with ``harness data`` instead: none)."""
    unverified_mirror: bool = False
    """Take the mirror's files whatever their sha256 (and skip the example-count check): for
    the fixture files of the ``paper-smoke`` profile only, never for results to compare.
    Each digest seen is recorded, and ``FETCHED.json`` says ``"unverified_mirror": true``.
    Files from the download cache or a URL are still checked."""


class CostParams(_Strict):
    """The cost plan's assumptions (``harness plan``): how long one training micro-batch takes
    on the profile's device, and the sizes of the training sets.

    A micro-batch of ``b`` examples of ``t`` tokens takes ``max(step_floor_s, b * t /
    tokens_per_second)``: below some size a step is bound by launching its kernels (a floor),
    above it by the arithmetic. Both numbers come from a measurement on the device
    (BENCHMARKS.md); evaluation and retrieval passes are not estimated."""

    device: str = "cpu"
    step_floor_s: float = Field(0.0, ge=0)
    """Seconds of the shortest training micro-batch (forward + backward), however small."""
    tokens_per_second: float = Field(20000.0, gt=0)
    """Training tokens per second once the arithmetic bounds the step."""
    train_examples: dict[str, int] = Field(default_factory=dict)
    """Training examples per task: the documented sizes of the official releases (a target
    trained on English data of another task counts that data; a multi-task setting sums its
    tasks). A task without an entry is left out of the estimate, and the plan says so."""
    tokens_per_example: dict[str, float] = Field(default_factory=dict)
    """Mean tokens per training example (default: the task's ``max_length``, an upper bound)."""
    checkpoint_gb: float = Field(0.01, gt=0)
    """Disk of one saved encoder (weights + tokenizer)."""


class MultitaskParams(TrainParams):
    """A multi-task intermediate setting: one head per task on a shared encoder, for tasks of
    every kind phase 1 trains (classification, tagging, multiple choice, extractive QA; the
    training settings, ``max_length``, ``doc_stride`` and ``max_query_length`` included, are the
    setting's, for every task). Classification and tagging rows share batches; a
    multiple-choice or QA task's batches hold that task alone. Checkpointed (``checkpoint``)
    like a single-task run.

    Each task contributes examples with probability proportional to its training-set size
    (``sampling: proportional``) or to size**(1/temperature) (``sampling: temperature``;
    temperature 1 is proportional, larger values flatten the mixture towards uniform).
    ``specs`` and ``data`` are the folders holding every task's spec and data: the dvc stage
    depends on both (DVC cannot depend on a list taken from params)."""

    tasks: list[str] = Field(min_length=2)
    sampling: Literal["proportional", "temperature"] = "temperature"
    temperature: float = Field(2.0, gt=0)
    shared_head: bool = False
    """One head for all tasks (they must share kind and labels): training on the concatenation
    of their data, as the reference study's ANLI+ (ANLI rounds 1-3, MNLI, SNLI, one NLI head)."""
    specs: Path
    data: Path

    @model_validator(mode="after")
    def _distinct(self) -> MultitaskParams:
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"multitask tasks lists a task twice: {self.tasks}")
        return self


class LaunchParams(_Strict):
    """Where each stage command runs: on the host (``local``) or inside the project's container
    image (``docker`` / ``apptainer``). Used by ``harness sweep``; see :mod:`harness.launch`."""

    backend: Literal["local", "docker", "apptainer"] = "local"
    image: str | None = None
    """docker: an image reference pinned by digest (``name@sha256:...``); apptainer: a SIF file."""
    image_digest: str | None = None
    """The digest recorded in each result's provenance (default: the digest in ``image`` for
    docker, the SIF file's sha256 for apptainer)."""
    runtime: str = "docker"
    """The docker-compatible executable (``docker`` or ``podman``); docker backend only."""
    runtime_args: list[str] = Field(default_factory=list)
    """Extra global arguments of the runtime (e.g. podman's ``--runtime runc``)."""
    run_args: list[str] = Field(default_factory=list)
    """Extra arguments of ``run`` (e.g. ``--shm-size 8g``, ``--ulimit nproc=8192:8192``)."""
    gpus: bool = False
    """Expose the GPUs (``--gpus all`` / ``--nv``)."""
    binds: list[str] = Field(default_factory=list)
    """Extra bind mounts ``host[:container[:opts]]`` (the workspace is always bound)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables set inside the container."""

    @model_validator(mode="after")
    def _image_given(self) -> LaunchParams:
        if self.backend != "local" and not self.image:
            raise ValueError(f"launch.backend '{self.backend}' needs launch.image")
        return self


class ClusterParams(_Strict):
    """SLURM resources of ``harness sweep --executor slurm`` (one job array per wave)."""

    partition: str | None = None
    gpus_per_job: int = Field(0, ge=0)
    cpus_per_job: int = Field(1, gt=0)
    mem_gb: float | None = Field(None, gt=0)
    time_min: int = Field(60, gt=0)
    """Time limit of one job; a job that reaches it is requeued and its stage resumes."""
    array_parallelism: int = Field(16, gt=0)
    """How many jobs of one array run at the same time."""
    max_requeues: int = Field(3, ge=0)
    """How often a killed, timed-out or preempted job is requeued before the sweep gives up."""
    log_dir: Path = Path(".sweep")
    """Job scripts, logs and pickles (submitit's folder), relative to the workspace."""
    poll_s: float = Field(5.0, gt=0)
    """Seconds between two checks of the jobs' states."""
    extra: dict[str, str | int] = Field(default_factory=dict)
    """Further sbatch options (submitit's ``slurm_additional_parameters``)."""


class Params(_Strict):
    profile: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    """The profile's name (``profiles/<name>.yaml``). ``toy`` generates its data (``harness
    data``); every other profile acquires it (``harness fetch``)."""
    protocol: Literal["paper", "xtreme"] | None = None
    """The reference protocol whose phase-1, phase-2 and retrieval settings the profile was
    rendered from (:mod:`harness.profiles`; ``harness/protocols/<name>.yaml``); None: the
    profile's own values only."""
    seed: int
    paths: Paths = Paths()
    toy_data: ToyDataParams = ToyDataParams()
    model: ModelParams
    pretrain: PretrainParams | None = None
    grid: Grid
    phase1: dict[str, TrainParams]
    """Hyperparameters of every intermediate task trained (the baseline has none)."""
    phase2: dict[str, TrainParams]
    evaluation: EvalParams = EvalParams()
    difficulty: DifficultyParams = DifficultyParams()
    analysis: AnalysisParams = AnalysisParams()
    checkpoint: CheckpointParams = CheckpointParams()
    compute: ComputeParams = ComputeParams()
    task_dirs: list[Path] = Field(default_factory=list)
    """Extra folders of task specs (YAML) besides the built-in ones."""
    inputs: Inputs = Inputs()
    """Defaults: the toy profile's layout."""
    fetch: FetchParams = FetchParams()
    cost: CostParams = CostParams()
    intermediate_inputs: dict[str, TaskInputs] = Field(default_factory=dict)
    """Spec and data of every single-task phase-1 stage (dvc.yaml iterates over it)."""
    multitask: dict[str, MultitaskParams] = Field(default_factory=dict)
    """Multi-task intermediate settings, trained by `harness intermediate --task NAME`."""
    launch: LaunchParams = LaunchParams()
    cluster: ClusterParams = ClusterParams()
    retrieval: RetrievalParams = Field(default_factory=lambda: RetrievalParams())
    """Retrieval targets (BUCC, Tatoeba, LAReQA, Mewsli-X) scored from the phase-1 encoder."""

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        if BASELINE in self.phase1:
            raise ValueError(
                f"phase1 must not have an entry '{BASELINE}': the baseline is not trained"
            )
        for task in self.grid.intermediate:
            if task != BASELINE and task not in self.phase1 and task not in self.multitask:
                raise ValueError(
                    f"grid.intermediate has '{task}' but phase1 has no entry for it (nor is it "
                    "a multitask setting)"
                )
        for task in self.phase1:
            if task not in self.grid.intermediate:
                raise ValueError(f"phase1 trains '{task}' but grid.intermediate does not list it")
        for task in self.multitask:
            if task not in self.grid.intermediate:
                raise ValueError(f"multitask.{task} is not listed in grid.intermediate; add it")
        both = sorted(set(self.phase1) & set(self.multitask))
        if both:
            raise ValueError(f"{both} are in both phase1 and multitask; keep each in one")
        for name, setting in self.multitask.items():
            nested = [t for t in setting.tasks if t in self.multitask or t == BASELINE]
            if nested:
                raise ValueError(
                    f"multitask.{name} trains {nested}, which are not single tasks; list "
                    "intermediate tasks (a component need not be a grid setting of its own)"
                )
        if self.intermediate_inputs and set(self.intermediate_inputs) != set(self.phase1):
            raise ValueError(
                "intermediate_inputs must have one entry per phase1 task (dvc.yaml's "
                f"intermediate stage iterates over it): phase1 has {sorted(self.phase1)}, "
                f"intermediate_inputs has {sorted(self.intermediate_inputs)}"
            )
        for task in self.grid.target:
            if task not in self.phase2:
                raise ValueError(f"grid.target has '{task}' but phase2 has no entry for it")
        if self.model.source == "pretrain" and self.pretrain is None:
            raise ValueError("model.source 'pretrain' needs a 'pretrain' section")
        return self

    def phase1_params(self, task: str) -> TrainParams:
        if task in self.multitask:
            return self.multitask[task]
        value = self.phase1.get(task)
        if value is None:
            raise HarnessError(
                f"No phase-1 hyperparameters for intermediate task '{task}'. "
                f"Add a 'phase1.{task}' section to params.yaml."
            )
        return value

    def stage_threads(self, stage: str = "") -> int:
        """CPU threads of a stage process: ``compute.threads``, or the pretraining stage's own
        ``pretrain.threads`` (it runs alone in its wave of a sweep)."""
        if stage == "pretrain" and self.pretrain is not None and self.pretrain.threads:
            return self.pretrain.threads
        return self.compute.threads

    def cell_seeds(self) -> list[int]:
        """Seeds of the phase-2 cells: ``grid.seeds``, or the top-level seed alone."""
        return list(self.grid.seeds) or [self.seed]

    def with_seed(self, seed: int | None) -> Params:
        """These parameters with another top-level seed (a phase-2 cell's seed)."""
        return self if seed is None or seed == self.seed else self.model_copy(update={"seed": seed})

    def phase2_params(self, task: str) -> TrainParams:
        if task not in self.phase2:
            raise HarnessError(
                f"No phase-2 hyperparameters for target task '{task}'. "
                f"Add a 'phase2.{task}' section to params.yaml."
            )
        return self.phase2[task]


def load_params(path: Path) -> Params:
    """Read and validate ``params.yaml``; raise :class:`HarnessError` saying what to fix."""
    if not path.is_file():
        raise HarnessError(
            f"Parameters file '{path}' not found. Run from the repository root or pass "
            "--params PATH."
        )
    return load_yaml_model(path, Params, "Parameters file", "parameters")


def stable_hash(obj: Any) -> str:
    """Hash of a JSON-able object, independent of key order (first 16 hex digits of sha256)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class RetrievalParams(_Strict):
    """Retrieval targets, scored straight from a phase-1 encoder (``harness retrieve``).

    Sentences are the attention-mask weighted mean of hidden states ``layer`` (special tokens
    included, as XTREME's ``mean_pool_embedding``), compared by cosine similarity.
    ``layer`` indexes the encoder's hidden states: 0 is the embedding output, ``L`` (the
    number of layers) the last layer. ``None`` takes the middle layer ``L // 2``, the choice of
    the reference study (X-STILTs: "mean-pooled hidden states of a middle layer"). XTREME's run
    scripts use ``--specific_layer 13`` of the 24 layer outputs of XLM-R large (= layer 14 here)
    and 7 of mBERT's 12 (= layer 8); set ``layer`` to replicate them exactly.
    """

    layer: int | None = Field(None, ge=0)
    batch_size: int = Field(128, gt=0)
    max_length: int = Field(128, gt=4)
    """Sub-tokens per sentence, special tokens included (longer ones are truncated)."""
    bucc_margin_k: int = Field(4, gt=0)
    """Neighbours of the ratio margin in BUCC mining (both directions; XTREME/LASER: 4)."""
    accuracy_direction: Literal["query_to_target", "target_to_query"] = "query_to_target"
    """Tatoeba-style accuracy: each query sentence retrieves among the targets (English), or
    each English target retrieves among the queries. XTREME's ``similarity_search`` indexes the
    non-English sentences and searches them with the English ones (``target_to_query``)."""
    block_size: int = Field(8192, gt=0)
    """Rows per block of the blocked top-k similarity search (memory stays bounded)."""
    fine_tune: dict[str, TrainParams] = Field(default_factory=dict)
    """Retrieval targets trained as a dual encoder before they are scored, as XTREME-R trains
    LAReQA (on SQuAD v1.1) and Mewsli-X (on English Wikipedia mention-entity pairs): task ->
    its training settings, on the pairs of the task's ``english_training`` data
    (:mod:`harness.model.dual`). ``max_query_length`` cuts the queries, ``max_length`` the
    candidates. A listed task is scored with the dual encoder's vectors; every other retrieval
    target with the mean-pooled states of ``layer``, untrained."""

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # fine_tune came later: left out while empty, so earlier parameter hashes stay
        data: dict[str, Any] = handler(self)
        if not self.fine_tune:
            data.pop("fine_tune", None)
        return data
