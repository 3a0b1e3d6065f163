"""Generated digest corpora for tests and benchmarks: arXiv papers, decoys, and their digests.

`generate(entries=1000, seed=0)` builds, deterministically and in well under a second per
thousand entries:

* the papers the fake arXiv serves (`FakePaper`s with version histories), today's metadata
  being the latest version, as on the real arXiv;
* **decoys** that make matching hard: the same title by other authors, near-identical titles,
  later papers by the same authors on the same method, titles that are a prefix or an extension
  of the real one, and other papers by the same authors in the months before;
* digest **entries** of several kinds — exact titles, punctuation/case variants, joined compounds
  ("Pretraining" for "Pre-training"), typos, TeX, accents folded away, arXiv ID hints (good and
  wrong), papers retitled or with changed author lists after the digest, papers that are not on
  arXiv at all, and the same paper listed again in later digests;
* the digests themselves, rendered as the blog's **text** form (the format of `seeds/*.txt`), one
  file per day, so the real parser reads them; some abstracts carry GitHub links, damaged the way
  digests damage them.

`truth` says, per (file, entry index), which arXiv ID the entry must resolve to (None: it must
stay unresolved) and what kind of entry it is.

Test infrastructure, like the fakes that serve it: titles are compared and accents dropped with
the fakes' own folding (`tests.fakes.textfold`), never with the code under test.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes import textfold
from tests.fakes.arxiv_corpus import FakePaper, FakeVersion

START = dt.date(2024, 3, 4)
PER_DIGEST = 50
CATEGORIES = ("无监督/半监督/对比学习", "扩散模型", "检测/分割/跟踪", "医学图像",
              "多模态大模型")
ARXIV_CATEGORIES = ("cs.CV", "cs.LG", "cs.CL", "cs.AI", "eess.IV", "stat.ML", "cs.RO")
FOOTER = ("文章作者: 木子已\n"
          "版权声明: 本博客所有文章除特別声明外,均采用 CC BY 4.0 许可协议。"
          "转载请注明来源 木子已 !\n"
          "  目录\n")

# Shares of digest entries (the rest are exact titles); duplicates come on top of these.
KIND_SHARES = {
    "punctuation": 0.08, "compound": 0.02, "typo": 0.04, "tex": 0.02, "accents": 0.03,
    "hint": 0.08, "wrong-hint": 0.01, "retitled": 0.04, "authors-changed": 0.03,
    "missing": 0.05,
}
DUPLICATE_SHARE = 0.08

# --------------------------------------------------------------------------------------------
# Vocabulary

ADJ = """Robust Efficient Scalable Self-Supervised Unsupervised Semi-Supervised Few-Shot Zero-Shot
Contrastive Hierarchical Multi-Scale Cross-Modal Lightweight Adaptive Generalizable
Interpretable Federated Continual Sparse Dense Probabilistic Equivariant Causal Open-Vocabulary
Long-Tailed Label-Efficient Fine-Grained Domain-Adaptive Uncertainty-Aware Temporal Compositional
Training-Free Privacy-Preserving Real-Time Physics-Informed Geometry-Aware Frequency-Aware
Noise-Robust Class-Incremental Source-Free""".split()
CONCEPTS = [
    "Representation Learning", "Prompt Tuning", "Knowledge Distillation", "Masked Autoencoders",
    "Diffusion Models", "Vision Transformers", "Graph Neural Networks", "Contrastive Pre-training",
    "Feature Alignment", "Token Pruning", "Mixture of Experts", "Neural Radiance Fields",
    "State Space Models", "Optimal Transport", "Test-Time Adaptation", "Pseudo-Labeling",
    "Memory Banks", "Deformable Attention", "Data Augmentation", "Metric Learning",
    "Gaussian Splatting", "Low-Rank Adaptation", "Implicit Neural Representations",
    "Vision-Language Models", "Slot Attention", "Energy-Based Models", "Normalizing Flows",
    "Prototype Networks", "Dynamic Convolutions", "Hypergraph Learning", "Auto-Encoders",
    "Fine-Tuning", "Pre-training", "Score Matching", "Sparse Coding", "Capsule Networks",
]
TASKS = [
    "Semantic Segmentation", "Object Detection", "Image Retrieval", "Video Understanding",
    "Point Cloud Registration", "Medical Image Segmentation", "Crowd Counting",
    "Action Recognition", "Image Super-Resolution", "Depth Estimation",
    "Visual Question Answering", "Text-to-Image Generation", "Person Re-Identification",
    "Anomaly Detection", "Change Detection", "3D Reconstruction", "Pose Estimation",
    "Image Captioning", "Speech Enhancement", "Time Series Forecasting", "Image Deblurring",
    "Optical Flow Estimation", "Scene Graph Generation", "Referring Segmentation",
    "Trajectory Prediction", "Image Dehazing", "Lesion Classification", "Shadow Removal",
    "Visual Grounding", "Instance Segmentation", "Multi-Object Tracking", "Stereo Matching",
]
DOMAINS = [
    "Autonomous Driving", "Histopathology", "Satellite Imagery", "Robotic Manipulation",
    "Low-Light Scenes", "Adverse Weather", "Chest X-rays", "Underwater Images",
    "Egocentric Video", "Aerial Imagery", "Retinal Fundus Images", "Remote Sensing",
    "Surgical Video", "Event Cameras", "Thermal Infrared Images", "Dermoscopy",
]
TECHNIQUES = [
    "Cyclic Consistency", "Hard Negative Mining", "Frequency Decomposition",
    "Curriculum Learning", "Dual-Branch Fusion", "Prototype Calibration", "Spectral Clustering",
    "Cross-Attention", "Stochastic Depth", "Mutual Information Maximization",
    "Adversarial Training", "Wavelet Transforms", "Graph Matching", "Reinforcement Learning",
    "Masked Modeling", "Token Merging", "Uncertainty Estimation", "Knowledge Graphs",
]
PREFIXES = """Neo Syn Flex Proto Hyper Omni Uni Meta Dyna Spec Vox Geo Lumi Astra Quanta Echo
Fusion Deep Trans Mamba Diff Clip Nerf Graph Mask Tok Align Mix Cyclo Strata Vista Pix Sero
Lyra Orbi Terra Nimbus Helio Kairo Zeph Vega Aero Cosmo Rho Sigma Tau Zeta Kappa""".split()
SUFFIXES = """Net Former CLIP Diff GAN Seg Det MAE Mamba NeRF KD Match Prompt Fuse GPT SAM Flow
Track Gen Rec VQA Splat Mix Lite""".split()
_ENDINGS = ("-2", "++", "-X", "v2", "-L", "3D")
# How many method names PREFIXES x SUFFIXES x (no ending or one of _ENDINGS) make.
METHOD_NAMES = len(PREFIXES) * len(SUFFIXES) * (1 + len(_ENDINGS))
DATASETS = """ImageNet COCO ADE20K Cityscapes KITTI nuScenes ScanNet LIDC ISIC-2018 Kinetics-400
UCF101 PASCAL-VOC CIFAR-100 Waymo BraTS ShapeNet ModelNet40 DAVIS MSR-VTT Flickr30k LVIS
iNaturalist DOTA SemanticKITTI Places365 CelebA FFHQ VisDrone ETH-UCY Synapse""".split()
METRICS = ("mIoU", "mAP", "top-1 accuracy", "PSNR", "F1 score", "AUC", "Dice score", "recall@1",
           "FID", "NDS", "SSIM", "AP50")

FIRST_NAMES = """Wei Jun Li Yang Hao Xin Yu Jie Ming Lei Chen Tao Yifan Zihan Ruoxi Haoran Jiaqi
Xiaoyu Minh Anh Sanjay Priya Rahul Ananya Arjun Kavya Vikram Deepa Hyun Ji-woo Min-jun Seo-yeon
Takeshi Yuki Haruto Sakura Kenji Aiko Maria Jose Carlos Lucia Ana Pablo Sofia Diego Elena Marco
Giulia Luca Francesca Anna Thomas Julia Felix Lena Jonas Sarah David Emily Michael Laura James
Olivia Daniel Hannah Pierre Camille Louis Chloe Ahmed Fatima Omar Layla Ivan Olga Dmitri Natalia
Mehmet Elif Kwame Amara Lars Ingrid Sven Astrid Piotr Agnieszka Tomas Eva""".split()
SURNAMES = (
    # Common surnames recur, as they do in machine-learning author lists.
    ["Wang"] * 6 + ["Li"] * 6 + ["Zhang"] * 6 + ["Liu"] * 5 + ["Chen"] * 5 + ["Yang"] * 3
    + ["Huang"] * 3 + ["Zhao"] * 3 + ["Wu"] * 3 + ["Zhou"] * 3 + ["Xu"] * 2 + ["Sun"] * 2
    + ["Kim"] * 3 + ["Lee"] * 3 + ["Park"] * 2 + ["Singh"] * 2 + ["Kumar"] * 2
    + """Ma Zhu Hu Guo He Lin Luo Gao Zheng Liang Xie Tang Han Feng Deng Cao Peng Zeng Xiao Tian
    Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei Su Lu Ding Ren Shen Yao Nguyen Tran Pham Sharma Gupta
    Patel Reddy Iyer Rao Das Mehta Choi Jung Kang Yoon Tanaka Suzuki Sato Watanabe Ito Nakamura
    Kobayashi Rossi Bianchi Romano Colombo Ricci Garcia Martinez Lopez Gonzalez Rodriguez
    Fernandez Sanchez Smith Johnson Brown Taylor Wilson Davies Evans Thomas Clark Lewis Walker
    Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Dubois Martin Bernard Moreau
    Laurent Petrov Ivanov Smirnov Kowalski Nowak Wisniewski Novak Horvat Jensen Nielsen Hansen
    Andersson Johansson Larsen Okafor Mensah Haddad Yilmaz Kaya Demir Cohen Levi""".split()
)
# Names a digest's rendering may print without accents (the `accents` kind), and names whose
# parts break naive author queries.
ACCENTED = """Müller Schäfer Jürgens Šimić Dvořák Østergaard Sørensen García-López Pérez Núñez
Çelik Öztürk Gómez Martín Lehtonen Häkkinen Łukasik Żukowski Ferreira-Gonçalves Ángel""".split()
COMPOUND = ["Smith-Jones", "van der Berg", "de la Cruz", "del Maestro", "Lee-Park",
            "Abdel-Rahman", "Torres-Quevedo", "van Dijk", "O'Brien", "Ben-David"]
ACCENTED_FIRST = ["José", "Zoë", "Bjørn", "Søren", "Ramón", "Hélène", "Jürgen", "Łucja", "Åsa"]

SENTENCES = [
    "{task} remains challenging when {difficulty}.",
    "Existing approaches to {task_l} rely on {concept_l}, which {weakness}.",
    "Recent advances in {concept_l} have improved {task_l}, yet {weakness}.",
    "In this paper, we propose {method}, {adj_l} framework that {does}.",
    "We introduce {method}, which {does} by means of {tech_l}.",
    "The key idea of {method} is to {idea}.",
    "Specifically, {method} {does} and {does2}.",
    "To this end, we design a {module} that {does2}.",
    "We further show that {tech_l} {benefit}.",
    "Unlike prior work on {domain_l}, our approach {does2} without {resource}.",
    "Extensive experiments on {dataset} and {dataset2} show that {method} improves {metric} "
    "by {gain} points over the strongest baseline.",
    "On {dataset}, {method} reaches {score} {metric} while using {fraction} of the parameters.",
    "Ablation studies confirm that each component of {method} contributes to {metric}.",
    "Our analysis reveals that {finding}.",
    "{method} generalises to {domain_l} and runs at {fps} frames per second on a single GPU.",
]
DIFFICULTIES = ["labelled data is scarce", "the target domain shifts at test time",
                "objects are small and densely packed", "annotations are noisy",
                "inputs arrive as sparse and irregular samples", "the scene is poorly lit",
                "classes follow a long-tailed distribution", "compute budgets are tight",
                "modalities are only weakly aligned", "sequences are long and redundant"]
WEAKNESSES = ["ignores the structure shared across samples",
              "scales poorly with the input resolution", "overfits to spurious correlations",
              "requires expensive per-scene optimisation",
              "discards fine-grained spatial detail", "is sensitive to hyper-parameters",
              "fails under distribution shift", "needs large amounts of labelled data"]
DOES = ["aligns local and global features", "decouples content from style",
        "selects informative tokens on the fly", "learns a shared latent space across views",
        "calibrates class prototypes online", "propagates labels over a learned graph",
        "distils a large teacher into a compact student", "models uncertainty explicitly",
        "reconstructs masked regions from context", "fuses complementary frequency bands",
        "re-weights hard examples during training", "predicts residuals at several scales"]
IDEAS = ["treat every frame as a set of reusable tokens",
         "exploit cycle consistency between modalities",
         "mine negatives from a momentum-updated memory bank",
         "factorise the problem into coarse and fine stages",
         "replace quadratic attention with a selective scan",
         "regularise the representation with optimal transport"]
MODULES = ["lightweight gating module", "dual-path decoder", "prototype memory",
           "frequency-aware adapter", "cross-scale aggregation block", "learnable query bank"]
BENEFITS = ["stabilises optimisation in the low-data regime",
            "reduces the gap between training and test distributions",
            "makes the model markedly more robust to corruptions",
            "removes the need for hand-crafted augmentations"]
RESOURCES = ["extra annotations", "test-time optimisation", "external pre-training data",
             "paired supervision", "hand-tuned thresholds"]
FINDINGS = ["simple baselines are stronger than commonly reported",
            "most of the gain comes from better negatives",
            "the learned features transfer across sensors",
            "performance saturates beyond a modest model size"]


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Expectation:
    """What one digest entry must resolve to."""

    file: str
    index: int
    expected: str | None  # the arXiv ID, or None when the paper is not on arXiv
    kind: str
    repo: str | None = None  # owner/name of a GitHub link in the abstract


@dataclass
class BenchCorpus:
    """Papers for the fake arXiv, digest texts, and the truth about every entry."""

    papers: list[FakePaper]
    digests: list[tuple[str, str]]  # (file name, text)
    truth: dict[tuple[str, int], Expectation]
    seed: int
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def entries(self) -> int:
        return len(self.truth)

    @property
    def decoys(self) -> int:
        return sum(1 for p in self.papers if p.decoy)

    def write(self, directory: Path) -> list[Path]:
        """Write the digests as UTF-8 text files; returns their paths in order."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in self.digests:
            path = directory / name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths


@dataclass
class _Entry:
    """A digest listing being built: what the digest prints, and the right answer."""

    title: str
    authors: tuple[str, ...]
    abstract: str
    comment: str
    expected: str | None
    kind: str
    repo: str | None = None


@dataclass
class _Paper:
    """A paper as of the digest day, before it becomes a `FakePaper`."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: dt.datetime
    method: str


# --------------------------------------------------------------------------------------------
# The generator


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.titles: set[str] = set()
        self.methods: set[str] = set()
        self.ids: set[str] = set()
        self.counters: dict[str, int] = {}
        self.papers: list[FakePaper] = []

    # -- names and text --------------------------------------------------------------------

    def pick(self, items: Sequence[str]) -> str:
        return items[self.rng.randrange(len(items))]

    def person(self, *, accented: bool = False) -> str:
        roll = self.rng.random()
        first = self.pick(ACCENTED_FIRST) if accented and roll < 0.3 else self.pick(FIRST_NAMES)
        if accented:
            last = self.pick(ACCENTED)
        elif roll < 0.04:
            last = self.pick(COMPOUND)
        else:
            last = self.pick(SURNAMES)
        if self.rng.random() < 0.06:
            first = f"{first} {self.pick('ABCDEFGHJKLMPRSTW')}."
        return f"{first} {last}"

    def people(self, n: int | None = None, *, accented: bool = False) -> tuple[str, ...]:
        count = n if n is not None else self.rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7, 9))
        names: list[str] = []
        while len(names) < count:
            name = self.person(accented=accented and not names)
            if name not in names:
                names.append(name)
        return tuple(names)

    def method(self) -> str:
        while True:
            name = self.pick(PREFIXES) + self.pick(SUFFIXES)
            if self.rng.random() < 0.3:
                name += self.rng.choice(_ENDINGS)
            if len(self.methods) >= METHOD_NAMES * 3 // 4:
                # Most names are taken (past ~5,500 entries): a number makes more, so that
                # any size can be generated (smaller corpora stay as they were).
                name += str(self.rng.randrange(2, 1000))
            if name not in self.methods:
                self.methods.add(name)
                return name

    def title(self, method: str, *, tex: bool = False) -> str:
        adj, concept = self.pick(ADJ), self.pick(CONCEPTS)
        task, domain, tech = self.pick(TASKS), self.pick(DOMAINS), self.pick(TECHNIQUES)
        if tex:
            templates = [f"$k$-NN {concept} for $\\ell_1$-Robust {task}",
                         f"{method}: $\\mathcal{{O}}(n)$ {concept} for {task}",
                         f"Learning $\\beta$-Calibrated {concept} for {adj} {task}"]
        else:
            templates = [
                f"{method}: {adj} {concept} for {task}",
                f"{method}: {concept} with {tech} for {adj} {task}",
                f"{adj} {task} via {tech} and {concept}",
                f"{concept} for {adj} {task} in {domain}",
                f"Towards {adj} {task} with {concept}",
                f"Rethinking {concept} for {adj} {task}",
                f"Does {tech} Help {adj} {task}?",
                f"{method}: Learning {concept} from {domain} for {task}",
                f"When {concept} Meets {tech}: {adj} {task} in {domain}",
                f"{adj} {concept} with {tech} for {task}",
            ]
        return self.pick(templates)

    def unique_title(self, method: str, *, tex: bool = False) -> str:
        while True:
            title = self.title(method, tex=tex)
            key = _title_key(title)
            if key not in self.titles:
                self.titles.add(key)
                return title

    def claim(self, title: str) -> bool:
        """Reserve a decoy's title; False when another paper already has it."""
        key = _title_key(title)
        if key in self.titles:
            return False
        self.titles.add(key)
        return True

    def abstract(self, method: str, title: str) -> tuple[str, str | None]:
        slots = {
            "task": self.pick(TASKS), "concept_l": self.pick(CONCEPTS).lower(),
            "method": method, "adj_l": _article(self.pick(ADJ).lower()), "does": self.pick(DOES),
            "does2": self.pick(DOES), "tech_l": self.pick(TECHNIQUES).lower(),
            "idea": self.pick(IDEAS), "module": self.pick(MODULES),
            "benefit": self.pick(BENEFITS), "domain_l": self.pick(DOMAINS).lower(),
            "resource": self.pick(RESOURCES), "dataset": self.pick(DATASETS),
            "dataset2": self.pick(DATASETS), "metric": self.pick(METRICS),
            "gain": f"{self.rng.uniform(0.4, 9.5):.1f}", "score": f"{self.rng.uniform(30, 95):.1f}",
            "fraction": self.rng.choice(("a third", "half", "a quarter", "10%", "60%")),
            "finding": self.pick(FINDINGS), "fps": str(self.rng.randrange(12, 240)),
            "difficulty": self.pick(DIFFICULTIES), "weakness": self.pick(WEAKNESSES),
        }
        slots["task_l"] = slots["task"].lower()
        opening = f"We study {title.rstrip('?').lower()}."
        body = self.rng.sample(SENTENCES, self.rng.randrange(5, 9))
        text = " ".join([opening, *(s.format(**slots) for s in body)])
        repo = None
        if self.rng.random() < 0.25:
            owner = self.pick(SURNAMES).lower() + self.rng.choice(("-lab", "", "ai", "-group"))
            repo = f"{owner}/{method.replace('+', 'plus')}"
            text += " " + self.rng.choice([
                f"Code is available at https://github.com/{repo}.",
                f"Our code and models are released at https://github.com/{repo}/tree/main.",
                f"The implementation is public (https://github.com/{repo}).",
                f"Code: github.com/{repo}",
                f"Project page and code: https://github.com/{repo}.git, see the README.",
            ])
        return text, repo

    def arxiv_id(self, when: dt.datetime) -> str:
        month = when.strftime("%y%m")
        number = self.counters.get(month, self.rng.randrange(100, 2000))
        number += self.rng.randrange(1, 25)
        self.counters[month] = number
        arxiv_id = f"{month}.{number:05d}"
        assert arxiv_id not in self.ids
        self.ids.add(arxiv_id)
        return arxiv_id

    def moment(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(self.rng.randrange(0, 24),
                                                self.rng.randrange(60)), tzinfo=dt.UTC)

    # -- papers ----------------------------------------------------------------------------

    def add(self, paper: _Paper, *, versions: tuple[FakeVersion, ...] | None = None,
            title: str | None = None, authors: tuple[str, ...] | None = None,
            abstract: str | None = None, decoy: str | None = None) -> FakePaper:
        category = self.pick(ARXIV_CATEGORIES)
        fake = FakePaper(
            arxiv_id=paper.arxiv_id,
            versions=versions or (FakeVersion(1, paper.published),),
            title=title or paper.title, authors=authors or paper.authors,
            abstract=abstract or paper.abstract, primary_category=category,
            categories=(category, self.pick(ARXIV_CATEGORIES)) if self.rng.random() < 0.4
            else (category,),
            comment=self.rng.choice((None, "12 pages, 6 figures", "Accepted to CVPR 2024")),
            decoy=decoy is not None, why=decoy,
        )
        self.papers.append(fake)
        return fake

    def new_paper(self, day: dt.date, *, tex: bool = False, accented: bool = False) -> _Paper:
        method = self.method()
        title = self.unique_title(method, tex=tex)
        authors = self.people(accented=accented)
        roll = self.rng.random()
        # Most papers appear within days of v1; some digests list a revision of an older one.
        back = self.rng.randrange(0, 3) if roll < 0.88 else self.rng.randrange(20, 320)
        published = self.moment(day - dt.timedelta(days=back))
        abstract, _ = self.abstract(method, title)
        return _Paper(self.arxiv_id(published), title, authors, abstract, published, method)

    def decoys(self, paper: _Paper, day: dt.date) -> None:
        """Papers that look like this one and are not it."""
        rng = self.rng

        def before() -> dt.datetime:
            return self.moment(day - dt.timedelta(days=rng.randrange(1, 300)))

        def after() -> dt.datetime:
            return self.moment(day + dt.timedelta(days=rng.randrange(20, 200)))

        def decoy(title: str, authors: tuple[str, ...], when: dt.datetime, why: str,
                  *, reserve: bool = True) -> None:
            if reserve and not self.claim(title):
                return
            text, _ = self.abstract(paper.method, title)
            self.add(_Paper(self.arxiv_id(when), title, authors, text, when, paper.method),
                     decoy=why)

        roll = rng.random()
        if roll < 0.06:
            decoy(paper.title, self.people(), before(), f"same title as {paper.arxiv_id}, "
                  "other authors", reserve=False)
        elif roll < 0.11:
            decoy(_near(paper.title, rng), self.people(), before(),
                  f"near-identical title to {paper.arxiv_id}, other authors")
        elif roll < 0.15:
            decoy(f"{paper.title.rstrip('?')} and Beyond", paper.authors[:3], after(),
                  f"later paper by the authors of {paper.arxiv_id} on the same method")
        elif roll < 0.18:
            words = paper.title.split()
            if len(words) >= 6:
                decoy(" ".join(words[: len(words) - rng.randrange(2, 4)]), self.people(1),
                      before(), f"a prefix of {paper.arxiv_id}'s title, other author")
        elif roll < 0.21:
            decoy(f"{paper.title.rstrip('?')} with {self.pick(TECHNIQUES)}",
                  (self.person(), *paper.authors[-1:]), before(),
                  f"extends {paper.arxiv_id}'s title, one shared author")
        if rng.random() < 0.08:  # another paper by the same first authors, months earlier
            other = self.method()
            decoy(self.unique_title(other), (*paper.authors[:2], self.person()), before(),
                  f"earlier paper by the first authors of {paper.arxiv_id}", reserve=False)

    # -- entries ---------------------------------------------------------------------------

    def entry(self, kind: str, day: dt.date) -> _Entry:
        rng = self.rng
        if kind == "missing":
            method = self.method()
            title = self.unique_title(method)
            authors = self.people()
            abstract, repo = self.abstract(method, title)
            if rng.random() < 0.5:  # arXiv has a look-alike by other people
                when = self.moment(day - dt.timedelta(days=rng.randrange(1, 200)))
                look = title if rng.random() < 0.5 else _near(title, rng)
                if look == title or self.claim(look):
                    text, _ = self.abstract(method, look)
                    self.add(_Paper(self.arxiv_id(when), look, self.people(), text, when,
                                    method), decoy="look-alike of a paper not on arXiv")
            return _Entry(title, authors, abstract, self.comment(), None, kind, repo)

        paper = self.new_paper(day, tex=kind == "tex", accented=kind == "accents")
        abstract, repo = self.abstract(paper.method, paper.title)
        paper.abstract = abstract
        shown_title, shown_authors = paper.title, paper.authors
        comment = self.comment()
        later = self.moment(day + dt.timedelta(days=rng.randrange(10, 150)))
        revised = (paper.published.date() < day - dt.timedelta(days=5))
        v_digest = self.moment(day - dt.timedelta(days=rng.randrange(0, 3)))

        if kind == "retitled":
            method = self.method()
            new_title = self.unique_title(method)
            new_abstract = _revise(abstract, rng)
            self.add(paper, versions=(FakeVersion(1, paper.published, title=paper.title,
                                                  abstract=abstract),
                                      FakeVersion(2, later)),
                     title=new_title, abstract=new_abstract)
        elif kind == "authors-changed":
            if rng.random() < 0.5 or len(paper.authors) < 3:
                now = (*paper.authors, self.person())  # gained an author
            else:
                drop = rng.randrange(1, len(paper.authors))  # lost one (never the first)
                now = paper.authors[:drop] + paper.authors[drop + 1:]
            self.add(paper, versions=(FakeVersion(1, paper.published, authors=paper.authors),
                                      FakeVersion(2, later)), authors=now)
        elif revised:
            self.add(paper, versions=(FakeVersion(1, paper.published),
                                      FakeVersion(2, max(v_digest, paper.published))))
        else:
            self.add(paper)
        self.decoys(paper, day)

        if kind == "punctuation":
            shown_title = _punctuation_variant(paper.title, rng)
        elif kind == "compound":
            shown_title = _join_compound(paper.title)
        elif kind == "typo":
            shown_title = _typo(paper.title, rng)
        elif kind == "accents":
            shown_authors = tuple(textfold.unaccent(a) for a in paper.authors)
        elif kind == "hint":
            comment = self.rng.choice((f"Accepted to ECCV 2024; arXiv:{paper.arxiv_id}",
                                       f"Extended version at https://arxiv.org/abs/"
                                       f"{paper.arxiv_id}v1"))
        elif kind == "wrong-hint":
            mine = _title_key(paper.title)
            other = self.rng.choice([p.arxiv_id for p in self.papers[-40:]
                                     if _title_key(p.title) != mine])
            comment = f"See also arXiv:{other}"
        return _Entry(shown_title, shown_authors, abstract, comment, paper.arxiv_id, kind, repo)

    def comment(self) -> str:
        return self.rng.choice(("", "", "", "10 pages, 5 figures", "Accepted by ICME 2024",
                                "Submitted to NeurIPS 2024", "Technical report",
                                "14 pages, 9 figures, 7 tables"))


def _title_key(title: str) -> str:
    """Titles that arXiv's index cannot tell apart share a key."""
    return " ".join(textfold.words(title))


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _near(title: str, rng: random.Random) -> str:
    """A title differing in one word: plural/singular or a synonym."""
    words = title.split()
    swaps = {"Learning": "Training", "Robust": "Reliable", "Efficient": "Fast",
             "Models": "Model", "Networks": "Network", "Images": "Image", "Detection":
             "Recognition", "Segmentation": "Parsing", "Adaptive": "Dynamic"}
    spots = [i for i, w in enumerate(words) if w in swaps]
    if spots:
        i = rng.choice(spots)
        words[i] = swaps[words[i]]
    else:
        i = max(range(len(words)), key=lambda k: len(words[k]))
        words[i] = words[i] + "s" if not words[i].endswith("s") else words[i][:-1]
    return " ".join(words)


def _punctuation_variant(title: str, rng: random.Random) -> str:
    """What a digest's rendering does to a title without changing its words."""
    choice = rng.randrange(4)
    if choice == 0:
        return title.replace("-", " ")
    if choice == 1:
        return title[0] + title[1:].lower()
    if choice == 2:
        return title.replace(":", " -").replace("?", "")
    return title.upper() if len(title) < 60 else title.replace("-", "\u2010")


_COMPOUNDS = {"Pre-training": "Pretraining", "Auto-Encoders": "Autoencoders",
              "Fine-Tuning": "Finetuning", "Multi-Scale": "Multiscale",
              "Self-Supervised": "Selfsupervised", "Semi-Supervised": "Semisupervised",
              "Cross-Modal": "Crossmodal", "Real-Time": "Realtime"}


def _join_compound(title: str) -> str:
    for hyphenated, joined in _COMPOUNDS.items():
        if hyphenated in title:
            return title.replace(hyphenated, joined, 1)
    return title.replace("-", "", 1)


def _typo(title: str, rng: random.Random) -> str:
    words = title.split()
    spots = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
    if not spots:
        return title
    i = rng.choice(spots)
    word = words[i]
    k = rng.randrange(2, len(word) - 2)
    words[i] = word[:k] + word[k + 1:] if rng.random() < 0.6 else (
        word[:k] + word[k + 1] + word[k] + word[k + 2:])
    return " ".join(words)


def _revise(abstract: str, rng: random.Random) -> str:
    """A later version's abstract: one sentence rewritten, one added."""
    sentences = re.split(r"(?<=\.) ", abstract)
    if len(sentences) > 3:
        sentences[rng.randrange(1, len(sentences))] = (
            "We revise the method and add experiments on two further benchmarks.")
    return " ".join(sentences) + " The camera-ready version adds a study of failure cases."


def _kinds(n: int, rng: random.Random) -> list[str]:
    kinds: list[str] = []
    for kind, share in KIND_SHARES.items():
        kinds += [kind] * round(n * share)
    kinds += ["exact"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds[:n]


def _render(category: str, day: dt.date, entries: Sequence[_Entry]) -> str:
    parts = [f"{category}\n\n\n{day.isoformat()} 更新\n\n"]
    for entry in entries:
        pdf = f"PDF {entry.comment}" if entry.comment else "PDF"
        parts.append(f"{entry.title}\n\nAuthors:{', '.join(entry.authors)}\n\n"
                     f"{entry.abstract}\n{pdf}\n\n点此查看论文截图\n\n")
    parts.append(FOOTER)
    return "".join(parts)


def generate(entries: int = 1000, seed: int = 0, per_digest: int = PER_DIGEST) -> BenchCorpus:
    """A corpus with `entries` digest entries (duplicates included), deterministic for `seed`."""
    gen = _Generator(seed)
    rng = gen.rng
    duplicates = round(entries * DUPLICATE_SHARE)
    fresh = entries - duplicates
    kinds = _kinds(fresh, rng)
    days = max(1, -(-entries // per_digest))
    # Fresh entries fill the digests in order; duplicates are spread over the later ones.
    slots: list[list[_Entry]] = [[] for _ in range(days)]
    placed: list[tuple[int, _Entry]] = []
    for n, kind in enumerate(kinds):
        day_index = min(days - 1, n * days // max(1, fresh))
        entry = gen.entry(kind, START + dt.timedelta(days=day_index))
        slots[day_index].append(entry)
        placed.append((day_index, entry))
    for _ in range(duplicates):
        day_index, original = placed[rng.randrange(len(placed))]
        target = rng.randrange(day_index, days) if days > 1 else 0
        copy = _Entry(original.title, original.authors, original.abstract, original.comment,
                      original.expected, "duplicate", original.repo)
        if rng.random() < 0.5:  # listed again, rendered a little differently
            copy.title = _punctuation_variant(original.title, rng)
            copy.abstract = original.abstract[: max(200, len(original.abstract) // 2)]
            if copy.repo and f"github.com/{copy.repo}" not in copy.abstract:
                copy.repo = None  # the cut took the link with it
        slots[target].insert(rng.randrange(len(slots[target]) + 1), copy)

    digests: list[tuple[str, str]] = []
    truth: dict[tuple[str, int], Expectation] = {}
    counts: Counter[str] = Counter()
    for day_index, listed in enumerate(slots):
        day = START + dt.timedelta(days=day_index)
        name = f"{day_index:03d}_bench_{day.isoformat()}.txt"
        digests.append((name, _render(CATEGORIES[day_index % len(CATEGORIES)], day, listed)))
        for index, entry in enumerate(listed):
            truth[(name, index)] = Expectation(name, index, entry.expected, entry.kind,
                                               entry.repo)
            counts[entry.kind] += 1
    return BenchCorpus(papers=gen.papers, digests=digests, truth=truth, seed=seed, kinds=counts)
