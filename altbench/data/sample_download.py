"""The released MCM-DPO sample (10 train + 10 test items per platform), fetched when absent.

Pinned to one commit of the reference repository, every file checked against its sha256 before it is
moved into place, so a changed or truncated upstream file can never silently change a benchmark number.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from altbench.errors import DataError

log = logging.getLogger(__name__)

REPOSITORY = "LVUGAI/MCM-DPO"
COMMIT = "d38dada52783be29a61bd5cdf22ecbadc0281a61"
BASE_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/data/"

# path under data/ -> sha256 of the file at COMMIT
SHA256 = {
    "pinterest/image/pinterest_test/091e3d6ca1fb34a43f6b073aef8f87ff.png": "97f9f9d8a9daee4dffb61d0ddb726adbf33b4bc5e2bd23639f38c68a5b865027",
    "pinterest/image/pinterest_test/146ec741cc6c7fba9dbca250692b8588.jpeg": "64dcabdd1a1cd3c35f3bd1de79c6a471b73eb4196000f05ffafd3efb98722a94",
    "pinterest/image/pinterest_test/15cef5830e3b7c7203756fd3831e2ca0.jpeg": "7b82f006991327484ff7a89bb87bbe04c7972b42c89a20c1273d8fa9b67ce20a",
    "pinterest/image/pinterest_test/49911ee2d1ba2d938cb1f5b0e8dbd01f.jpeg": "54a11fb955b3bd3921877ea98af2c06b81f97530bcb22b1f405b050235a88f0f",
    "pinterest/image/pinterest_test/568a267724705f40c25b34290e17eb41.png": "79ccc6405f5803a75386b9aee0b4edd1e3db6f03825039b85e93d7cd78068d0c",
    "pinterest/image/pinterest_test/70f82279926e99f10b75f04580dcdb00.jpeg": "c58d314b4b461745981eb52f8d8bc90858c03027a3d913d8a51daba3f8d912bb",
    "pinterest/image/pinterest_test/b1481e704c12016eab56933f6841297f.jpeg": "8023ce57cee34b4f04e6f01819ecd82024a037048286bf962ca2253507f82ccc",
    "pinterest/image/pinterest_test/b96b45507132b82f5c22664a14056fd5.png": "ecb06e89cf47f0b70a8da319321be519ac426ecc36b49398e4674de2b8de4147",
    "pinterest/image/pinterest_test/e5a378dc16330c05f583c41f17bf4c9c.jpeg": "0355e5ea8b9790fdce0f7bb745b3105c5328416f66a2f2b05cbce5aea0e51313",
    "pinterest/image/pinterest_test/eab371218a95fe21993dab353f81419b.jpeg": "4caa696677931345db57828af076e72d48ed280599c903d796a0a92c766a8989",
    "pinterest/image/pinterest_train/06a82de8b12948eae7e38de1caaa7ab5.jpeg": "1ea880eb456cc05e17d7769e802a19e81f29e390d1ea261e464b8a0b8755c44a",
    "pinterest/image/pinterest_train/09009aa279076d76c40b0ee1023141c6.jpeg": "840085dcd49e7b97292e6ade371290ffba6989427ed9efce97430aa249d92e59",
    "pinterest/image/pinterest_train/2daa695fa76820a9fca51aee28a567d7.jpeg": "2ad1adb2a7239758e518355102822a35dde1f516b0019943f096d5151f59cadc",
    "pinterest/image/pinterest_train/4ffaa1e71f50f27956d452ce288d5664.png": "61bf676ca74b658834d1390906cd3c46617354043e99a6aa812843410506821e",
    "pinterest/image/pinterest_train/51db708fe1ca94211593f219848bb1a0.jpeg": "10660042d9ebb4e69439e7818529b5a0f66857d4dec3013a7fd867cb4684c89a",
    "pinterest/image/pinterest_train/5e99e681c9f14abfec9fe022c21b9d7b.jpeg": "b1bcf17ec059f6bd043d61fb78371d4a9a1d3ab179d78661dd75fab0c38737e9",
    "pinterest/image/pinterest_train/87c14e917a831a3d0a4b702fcce40403.jpeg": "b123e25cc34b238cd49a24d0fcc08bdb22467dd8b02ee382f2745b98c3b56a32",
    "pinterest/image/pinterest_train/93ef6d7ce54da394e2eb1ae574105674.jpeg": "fb11f90f74f1dc716787742084d79a233c7893855d2c9e245cdb28e4413cd48e",
    "pinterest/image/pinterest_train/a33acb2003c95e49d65fe600187d9a94.jpeg": "5b59fe930da1c4699c242fd0fc6e1500dadb72552182a51a926d3a9c73693abc",
    "pinterest/image/pinterest_train/dd37add55c31c838b53d5655564a6371.png": "72f1697270199c258bc53c8fc6a07920b80e358a3c3e8580847cecc8e5e91dcd",
    "pinterest/pinterest_test.json": "09da374b89ee708935a7de12daa8b30adb061770962572a6538aa104472b321d",
    "pinterest/pinterest_train.json": "537e882c35d3bef0236b113d4ddc71d8897b42a4a8b755dfbad38e082b21a4f6",
    "twitter/image/twitter_test/3_1532141595507642369.png": "884793b1d1b2d5c491326a59d095f0e42c9fb85266904cac917c2a1500a4ca7b",
    "twitter/image/twitter_test/3_1532773429027696641.jpg": "37db55bc1bd1880425a479fc7d5e2c4b6898efe8986fd40f7f03461c2a21825f",
    "twitter/image/twitter_test/3_1532844712213749760.jpg": "f1dbbb9be95fc5ed73ce546156095c87accffaa7a30a20b9342393899642238a",
    "twitter/image/twitter_test/3_1533113038135517184.jpg": "debb17d70077277e66abf64e30c0dae7b4b921f2d433743deb3c2ee9674e68d7",
    "twitter/image/twitter_test/3_1533802139742519296.jpg": "c8ff74c0b4af08e421dc21d31401d32c32bb212d3c5a97c445e22c1e9f24a1f6",
    "twitter/image/twitter_test/3_1533937407577538560.png": "5f1e9c1ff03759a7cae01deed7b237b68342a549323d13224092bce5423216b5",
    "twitter/image/twitter_test/3_1534526115787771907.jpg": "4d9fa943f80e74f447b5c8aeecff7f41a648204eca44d5afe6a6b410317f09b4",
    "twitter/image/twitter_test/3_1534633876156448771.jpg": "60ffdbb732264bef92aa0d9bd169f70a028ae67f21bd82d8ccd93a38d0974cdc",
    "twitter/image/twitter_test/3_1534687010790772738.jpg": "ad7cb6d9c44bcb09d0d1d8849ada31512aae48890099871d8241c93aab1638a5",
    "twitter/image/twitter_test/3_1535257361677438977.jpg": "ddc0870e5234649bdd9049d5fc009a399d6f9e98d9be952bc2cb27bd214a59f3",
    "twitter/image/twitter_train/3_1532349479017500675.jpg": "c2c772897c93e5b7fe84d5e5acfe13ba530ba9eacfda550dfa17b9c7d3f78fbf",
    "twitter/image/twitter_train/3_1532390346642046977.jpg": "9ed5f73c90acc59efe129027c9835e91ce7c760fa32024065e41bd017e6e2b1f",
    "twitter/image/twitter_train/3_1532768825174802432.jpg": "22d65231443debd3fcecb8ac51231b4b5b0b365560eaa7dd13321f87fe9d3ad6",
    "twitter/image/twitter_train/3_1533514817511768065.jpg": "5ac2cab8654b5c0e8fca4c3ae8f8ba152319de6673e1c5336c13a5f45d18b583",
    "twitter/image/twitter_train/3_1533556321403822081.jpg": "d5bb0e54291efc7ac2c3dd9c5f1944a87b306bd7b3871899c42886a5dcdd1208",
    "twitter/image/twitter_train/3_1533936208409047040.jpg": "3b06c1a8c7f6fe5f0e364c6afc30b7400c4e03d700a2b45fd177c7307185c4de",
    "twitter/image/twitter_train/3_1534233268685529090.jpg": "89d00e58f35a471197f31cdf50665491e13f7fbb2fdd0187f94d504bd3d20130",
    "twitter/image/twitter_train/3_1534556827223998473.jpg": "4e9a81a4c1f0a258acfcef889c25eef770518fa39a914bfa48b39407a1a6ab75",
    "twitter/image/twitter_train/3_1534906036657823746.jpg": "cefda445ce22b4bfcd4f196fdfe360e21f0f90982ca673004f3fbf298395da7f",
    "twitter/image/twitter_train/3_1535294439354138624.jpg": "f3626c9333450cf15080693966fcd58bc3759c104f1b828579fc3e7473cd5831",
    "twitter/twitter_test.json": "366e70865c9a3589400d0954025332f847420c9994e03d65b28258e3b60adc60",
    "twitter/twitter_train.json": "0f3fd56fc1ed00694f20fae4016c0e72128f9ccf897b58e52c2ebfed102d7f7b",
}


def files_for(platform: str, part: str) -> list[str]:
    """Manifest paths of one platform's test or train part (its index file and its images)."""
    prefix = (f"{platform}/{platform}_{part}.json", f"{platform}/image/{platform}_{part}/")
    return [p for p in SHA256 if p == prefix[0] or p.startswith(prefix[1])]


def is_complete(root: Path, platform: str, part: str) -> bool:
    return all((root / p).is_file() for p in files_for(platform, part))


def download(root: Path, platform: str, part: str, timeout: float = 30.0) -> None:
    """Fetch the missing files of one part into ``root``, verifying each sha256; atomic per file."""
    for rel in files_for(platform, part):
        dest = root / rel
        if dest.is_file():
            continue
        url = BASE_URL + rel
        log.info("downloading %s", url)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(
                f"sample split not found under {root} and download of {url} failed ({exc}); "
                "set --data-root / ALTBENCH_DATA to a folder holding the released sample"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != SHA256[rel]:
            raise DataError(f"{url}: sha256 {digest} does not match the pinned {SHA256[rel]}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
