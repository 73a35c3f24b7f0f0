"""Readers for the public human-judgment sets, when a user has their files, and the MCM-DPO proxy.

- **Flickr8k-Expert** (Hodosh et al. 2013): a folder with ``ExpertAnnotations.txt`` (tab-separated: image
  file, caption id ``<image file>#<0-4>``, then three expert scores 1-4) and ``Flickr8k.token.txt`` (caption id,
  tab, caption). Each expert score is its own record (the CLIPScore / PAC-S protocol: about 17k judgments);
  references are the image's own five captions, less any identical to the candidate. Reported with tau-c.
- **Flickr8k-CF**: the same folder's ``CrowdFlowerAnnotations.txt`` (image, caption id, percent yes, yes
  count, no count); the human score is the share of "yes". Reported with tau-b.
- **Composite** (Aditya et al. 2015): the AMT files ``8k_correctness.csv``, ``30k_correctness.csv``,
  ``coco_correctness.csv`` (``;``-separated, header columns ``Input.image_url``, ``Input.text1..k``,
  ``Answer.Q1Answer..Qk``); each text is a candidate scored by its answer. References: the row's other texts
  (the files carry no separate references; give a JSON Lines file for any other choice).
- **Pascal-50S** (Vedantam et al. 2015): a folder with ``pair_pascal.mat`` (``new_input``: image file and
  the two sentences of each of the 4000 pairs; ``category``: 1..4 = HC, HI, HM, MM) and
  ``consensus_pascal.mat`` (``triplets``: 48 per pair, each a reference, the two sentences and which of them
  the annotator chose). The preference is the majority of the 48 votes (``tie`` when even); references: 5 of
  the 48 drawn with a fixed seed, as the CLIPScore and PAC-S evaluations do.
- **MCM-DPO preference pairs** (a proxy, see ``docs/meta-eval.md``): the released train files' chosen and
  rejected alt-text of each item, chosen being the human preference; no references (the chosen text *is* the
  item's reference), so only reference-free metrics (CLIPScore, the judge) apply. The shown order of the two
  is drawn with a fixed seed, so "a" is not always the answer.

Images: ``images`` names the folder that holds them (Flickr8k ``Flicker8k_Dataset``, VOC2010 ``JPEGImages``).
"""

from __future__ import annotations

import csv
import math
import random
from collections import defaultdict
from pathlib import Path

from altbench.errors import DataError
from altbench.metaeval.records import Judgment, PairJudgment, ScoreJudgment, preference_from_votes, read_jsonl

FORMATS = ("jsonl", "flickr8k-expert", "flickr8k-cf", "composite", "pascal50s", "mcmdpo-pairs")
PASCAL_CATEGORIES = {1: "HC", 2: "HI", 3: "HM", 4: "MM"}


def read(fmt: str, path: Path, images: Path | None = None, seed: int = 0) -> list[Judgment]:
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt in ("flickr8k-expert", "flickr8k-cf"):
        return read_flickr8k(path, expert=fmt == "flickr8k-expert", images=images)
    if fmt == "composite":
        return read_composite(path, images=images)
    if fmt == "pascal50s":
        return read_pascal50s(path, images=images, seed=seed)
    if fmt == "mcmdpo-pairs":
        return mcmdpo_pairs(path, seed=seed)
    raise DataError(f"unknown meta-eval format {fmt!r} (known: {', '.join(FORMATS)})")


def _lines(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    return [line.rstrip("\n").split("\t") for line in text.splitlines() if line.strip()]


def _judgment(text: str, where: str) -> float:
    """A human judgment written as text: a finite number ("nan" and "inf" parse as floats, and are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: judgment {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: judgment {text.strip()!r} is not a finite number")
    return value


def read_flickr8k(folder: Path, expert: bool, images: Path | None = None) -> list[Judgment]:
    folder = Path(folder)
    captions: dict[str, str] = {}
    by_image: dict[str, list[str]] = defaultdict(list)
    tokens = folder / "Flickr8k.token.txt"
    for n, parts in enumerate(_lines(tokens), 1):
        if len(parts) != 2 or "#" not in parts[0]:
            raise DataError(f"{tokens}:{n}: expected '<image>#<k>' TAB caption")
        captions[parts[0]] = parts[1].strip()
        by_image[parts[0].split("#")[0]].append(parts[1].strip())
    name = "ExpertAnnotations.txt" if expert else "CrowdFlowerAnnotations.txt"
    path = folder / name
    image_dir = Path(images) if images else folder / "Flicker8k_Dataset"
    out: list[Judgment] = []
    for n, parts in enumerate(_lines(path), 1):
        where = f"{path}:{n}"
        if len(parts) != 5:
            raise DataError(f"{where}: expected 5 tab-separated columns, got {len(parts)}")
        image, caption_id = parts[0], parts[1]
        if caption_id not in captions:
            raise DataError(f"{where}: caption {caption_id!r} is not in {tokens.name}")
        candidate = captions[caption_id]
        refs = tuple(r for r in by_image.get(image, []) if r != candidate)
        values = [_judgment(v, where) for v in parts[2:]]
        common = {"image": image_dir / image, "context": "", "references": refs, "candidate": candidate,
                  "group": image}
        if expert:
            out += [ScoreJudgment(id=f"{image}|{caption_id}|{k}", human=v, **common) for k, v in enumerate(values)]
        else:
            out.append(ScoreJudgment(id=f"{image}|{caption_id}", human=values[0], **common))
    return out


def read_composite(path: Path, images: Path | None = None) -> list[Judgment]:
    """One or more Composite AMT files (a file, or a folder: every ``*_correctness.csv`` in it)."""
    path = Path(path)
    files = sorted(path.glob("*_correctness.csv")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no *_correctness.csv file")
    out: list[Judgment] = []
    for file in files:
        with open(file, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=";")
            fields = reader.fieldnames or []
            k = sum(1 for f in fields if f.startswith("Input.text"))
            if "Input.image_url" not in fields or k == 0:
                raise DataError(f"{file}: expected columns Input.image_url, Input.text1.. and Answer.Q1Answer..")
            for n, row in enumerate(reader, 2):
                texts = [row.get(f"Input.text{i}") or "" for i in range(1, k + 1)]
                answers = [row.get(f"Answer.Q{i}Answer") or "" for i in range(1, k + 1)]
                url = (row.get("Input.image_url") or "").strip()
                if not url or not all(t.strip() for t in texts) or not all(a.strip() for a in answers):
                    continue  # an incomplete AMT row, dropped as the published evaluations drop it
                name = url.rsplit("/", 1)[-1]
                for i, (text, answer) in enumerate(zip(texts, answers)):
                    human = _judgment(answer, f"{file}:{n}: Answer.Q{i + 1}Answer")
                    refs = tuple(t.strip() for j, t in enumerate(texts) if j != i)
                    out.append(ScoreJudgment(id=f"{file.stem}|{n}|{i + 1}", image=(Path(images) / name) if images
                                             else None, context="", references=refs, candidate=text.strip(),
                                             human=human, group=f"{file.stem}|{name}"))
    return out


def _mat_str(x) -> str:
    """A MATLAB char array (as scipy.io.loadmat gives it, possibly nested in cells) as a str."""
    while hasattr(x, "shape") and getattr(x, "dtype", None) is not None and x.dtype == object:
        x = x.flat[0]
    if hasattr(x, "shape"):
        return "".join(str(c) for c in x.flat).strip()
    return str(x).strip()


def read_pascal50s(folder: Path, images: Path | None = None, seed: int = 0, n_references: int = 5
                   ) -> list[Judgment]:
    from scipy.io import loadmat

    folder = Path(folder)
    try:
        pairs = loadmat(folder / "pair_pascal.mat")
        consensus = loadmat(folder / "consensus_pascal.mat")
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder}: cannot read pair_pascal.mat / consensus_pascal.mat ({exc})") from None
    data, categories, triplets = pairs["new_input"][0], pairs["category"][0], consensus["triplets"][0]
    per_pair = len(triplets) // len(data)
    rng = random.Random(seed)
    image_dir = Path(images) if images else folder / "JPEGImages"
    out: list[Judgment] = []
    for i, entry in enumerate(data):
        image, a, b = (_mat_str(x) for x in entry[:3])
        votes: dict[str, int] = defaultdict(int)
        refs = []
        for t in triplets[i * per_pair:(i + 1) * per_pair]:
            ref, s1, s2, choice = (_mat_str(x) for x in t[:4])
            refs.append(ref)
            votes[s1 if float(choice) == 1 else s2] += 1  # 1: the annotator chose the first sentence
        chosen = rng.sample(refs, min(n_references, len(refs)))
        out.append(PairJudgment(id=f"pascal50s-{i}", image=image_dir / image, context="", references=tuple(chosen),
                                candidate_a=a, candidate_b=b,
                                preference=preference_from_votes(votes.get(a, 0), votes.get(b, 0)),
                                category=PASCAL_CATEGORIES.get(int(categories[i]), str(categories[i]))))
    return out


def mcmdpo_pairs(data_root: Path, seed: int = 0, splits: tuple[str, ...] = ("talt-sample-train",
                                                                             "palt-sample-train")) -> list[Judgment]:
    """The proxy: each released train item's chosen (preferred) vs rejected alt-text, in a seeded order."""
    from altbench.data.splits import load_split

    rng = random.Random(seed)
    out: list[Judgment] = []
    for name in splits:
        for item in load_split(name, Path(data_root)).items:
            if not item.rejected or not item.references:
                continue
            chosen, rejected = item.references[0], item.rejected
            flip = rng.random() < 0.5
            a, b = (rejected, chosen) if flip else (chosen, rejected)
            out.append(PairJudgment(id=f"{name}/{item.id}", image=item.image, context=item.context, references=(),
                                    candidate_a=a, candidate_b=b, preference="b" if flip else "a",
                                    category=item.platform))
    if not out:
        raise DataError(f"{data_root}: no preference pairs in {', '.join(splits)}")
    return out
