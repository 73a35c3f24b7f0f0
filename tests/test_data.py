import json
from pathlib import Path

import pytest
from PIL import Image

from altbench.data.demo import TEST_SIZE, TRAIN_SIZE
from altbench.data.formats import read_test_jsonl, read_train_json
from altbench.data.images import ImageLoadError, load_image
from altbench.data.splits import load_split
from altbench.errors import DataError


def test_sample_splits_keep_reference_quirks(sample_root):
    talt = load_split("talt-sample", sample_root)
    palt = load_split("palt-sample", sample_root)
    assert len(talt) == len(palt) == 10
    assert talt.items[0].id == "25490" and talt.items[0].question.startswith("Given an image and context")
    assert palt.items[0].question == palt.items[0].question.lower()  # Pinterest text is lower-cased
    assert palt.items[0].meta["origin_dataset"] == "pinterest"
    train = load_split("talt-sample-train", sample_root)
    # Twitter train questions lack the newline before "Context:", and it is kept
    assert "image.Context:\n" in train.items[0].question
    assert train.items[0].context.startswith("Who y'all got")
    assert all(it.rejected for it in train.items)
    ptrain = load_split("palt-sample-train", sample_root)
    assert ptrain.items[0].chosen == "bowl filled with korean tuna rice bowl, or chamchi deopbap"


def test_every_sample_image_loads(sample_root):
    for name in ("talt-sample", "palt-sample", "talt-sample-train", "palt-sample-train"):
        for item in load_split(name, sample_root).items:
            assert load_image(item).mode == "RGB"


def test_demo_split_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "a"))
    a = load_split("demo")
    a_train = load_split("demo-train")
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "b"))
    b = load_split("demo")
    assert len(a) == TEST_SIZE and len(a_train) == TRAIN_SIZE
    assert a.sha256() == b.sha256()
    assert {it.id for it in a.items}.isdisjoint({it.id for it in a_train.items})
    assert all(it.rejected for it in a_train.items)
    assert any(it.chosen.startswith("a red ") or " red " in it.chosen for it in a_train.items)


def test_split_hash_sees_image_bytes(tmp_path):
    rows = [{"image_path": "a.png", "question": "q\nContext:\nhello", "chosen": "ref", "idx": 1}]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    Image.new("RGB", (4, 4), (1, 2, 3)).save(tmp_path / "a.png")
    h1 = load_split(str(path)).sha256()
    Image.new("RGB", (4, 4), (1, 2, 4)).save(tmp_path / "a.png")
    assert load_split(str(path)).sha256() != h1


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"image_path": "a.png", "question": "q", "chosen": "c", "idx": 1}\n{not json\n', ":2: not a JSON object"),
        ('{"image_path": "a.png", "question": "q", "idx": 1}\n', ":1: missing field(s) chosen"),
        ('[1, 2]\n', ":1: expected a JSON object"),
        ('{"image_path": "a.png", "question": "q", "chosen": "c", "idx": 1}\n' * 2, "duplicate idx '1'"),
        ('{"image_path": 3, "question": "q", "chosen": "c", "idx": 1}\n', "'image_path' must be a string"),
    ],
)
def test_malformed_test_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        read_test_jsonl(path, tmp_path, "x")
    assert str(path) in str(err.value) and message in str(err.value)


def test_malformed_train_files(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('[{"image_path": "a.png", "idx": 1, "text": "not json"}]')
    with pytest.raises(DataError, match="element 0: field 'text' is not a JSON string"):
        read_train_json(path, tmp_path, "x")
    path.write_text('{"a": 1}')
    with pytest.raises(DataError, match="expected a JSON array"):
        read_train_json(path, tmp_path, "x")
    path.write_text('[{"image_path": "a.png", "idx": 1,')
    with pytest.raises(DataError, match="not valid JSON"):
        read_train_json(path, tmp_path, "x")


def test_unknown_split_suggests_a_name():
    with pytest.raises(DataError, match="did you mean 'talt-sample'"):
        load_split("talt-sampel")


def test_full_split_needs_a_root(monkeypatch):
    monkeypatch.delenv("ALTBENCH_FULL_DATA", raising=False)
    with pytest.raises(DataError, match="ALTBENCH_FULL_DATA"):
        load_split("talt-test")


def _custom(tmp_path: Path, image_path: str) -> Path:
    path = tmp_path / "custom.jsonl"
    path.write_text(json.dumps({"image_path": image_path, "question": "q\nContext:\nc", "chosen": "r", "idx": 7}))
    return path


def test_bad_images_fail_the_item_with_a_reason(tmp_path):
    images = tmp_path / "img"
    images.mkdir()
    (images / "corrupt.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "outside.png").write_bytes(b"x")
    cases = {"missing.png": "image not found", "corrupt.png": "not a readable image"}
    for name, reason in cases.items():
        item = load_split(str(_custom(tmp_path, name)), images=images).items[0]
        with pytest.raises(ImageLoadError, match=reason):
            load_image(item)
    # a path leading out of the image folder is the split file's fault: refused when the split loads
    with pytest.raises(DataError, match=r"custom.jsonl:1: item 7: image_path '../outside.png' leads out"):
        load_split(str(_custom(tmp_path, "../outside.png")), images=images)


def test_resolver_equals_path_resolve(tmp_path, monkeypatch):
    """The folder-caching resolver under split loading gives exactly Path.resolve()'s answers."""
    from altbench.data.images import Resolver

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"y")
    (root / "link.png").symlink_to(outside / "secret.png")  # a file link leading out
    (root / "dirlink").symlink_to(outside)  # a folder link leading out
    (root / "chain.png").symlink_to(root / "link.png")
    monkeypatch.chdir(tmp_path)
    paths = [root / "a.png", root / "missing.png", root / "sub" / ".." / "a.png", root / "link.png",
             root / "dirlink" / "secret.png", root / "chain.png", root / ".." / "outside" / "secret.png",
             Path("root") / "a.png", Path("root/sub/../link.png"), Path("/etc/hostname"), root / "sub" / "..",
             root / "."]
    resolver = Resolver()
    for path in paths + paths:  # the second pass answers from the folder cache
        assert resolver.resolve(path) == path.resolve(), path
    names = ["a.png", "missing.png", "link.png", "chain.png", "dirlink", "sub", "", ".", "..", "sub/../a.png",
             "dirlink/secret.png", "../outside/secret.png", "/etc/hostname", "a.png/"]
    for root_path in (root, Path("root"), root / "sub" / ".."):
        for name in names + names:
            want = (root_path / name).resolve().is_relative_to(root_path.resolve())
            assert resolver.inside(root_path, name) == want, (root_path, name)


def test_image_bytes_fast_path_equals_resolved_read(tmp_path, monkeypatch):
    """image_bytes' plain-name path (no Path.resolve) reads what image_path(...).read_bytes() reads."""
    from altbench.data.images import ImageLoadError, Resolver, image_bytes, image_path
    from altbench.data.items import Item

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(b"x")
    (root / "sub" / "b.png").write_bytes(b"z")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.png").write_bytes(b"y")
    (root / "link.png").symlink_to(outside / "s.png")
    (root / "ok.png").symlink_to(root / "a.png")
    (root / "dirlink").symlink_to(outside)
    monkeypatch.chdir(tmp_path)

    def resolved(item):
        try:
            return image_path(item, Resolver()).read_bytes()
        except (ImageLoadError, OSError):
            return None

    resolver = Resolver()
    for folder in (root, Path("root"), Path("."), root / "sub" / ".."):
        for name in ("a.png", "missing.png", "link.png", "ok.png", "dirlink", "sub", "sub/b.png",
                     "../outside/s.png", "dirlink/s.png", "..", "."):
            item = Item(id="1", image=folder / name, image_root=folder, question="", context="",
                        references=("a",), platform="x")
            assert image_bytes(item, resolver) == resolved(item), (folder, name)
