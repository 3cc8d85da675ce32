"""A PEP 517 build backend in the standard library only, so that
`pip install ./clients/python` works offline (no setuptools download into pip's
isolated build environment). It builds a pure-Python wheel of `src/kamino`, an sdist,
and an editable wheel (PEP 660: a .pth file pointing at `src`)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "kamino_client"
DIST_NAME = "kamino-client"
VERSION = "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "src", "kamino")
TAG = "py3-none-any"

METADATA = f"""Metadata-Version: 2.1
Name: {DIST_NAME}
Version: {VERSION}
Summary: Python client for the Kamino double-entry ledger server (standard library only)
Requires-Python: >=3.10
License: Apache-2.0

A Python client for Kamino's binary protocol (docs/protocol.md): sync and asyncio APIs,
automatic batching, pipelining, timeouts, safe retries, reconnects, time-ordered ids.
"""

WHEEL = f"""Wheel-Version: 1.0
Generator: kamino_build {VERSION}
Root-Is-Purelib: true
Tag: {TAG}
"""


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _dist_info() -> str:
    return f"{NAME}-{VERSION}.dist-info"


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    path = os.path.join(metadata_directory, _dist_info())
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(path, "WHEEL"), "w") as f:
        f.write(WHEEL)
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, files: list[tuple[str, bytes]]) -> str:
    filename = f"{NAME}-{VERSION}-{TAG}.whl"
    files = files + [(f"{_dist_info()}/METADATA", METADATA.encode()), (f"{_dist_info()}/WHEEL", WHEEL.encode())]
    record = [_record_line(n, d) for n, d in files] + [f"{_dist_info()}/RECORD,,"]
    files.append((f"{_dist_info()}/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return filename


def _package_files() -> list[tuple[str, bytes]]:
    out = []
    for name in sorted(os.listdir(PACKAGE)):
        if name.endswith(".py") or name == "py.typed":
            with open(os.path.join(PACKAGE, name), "rb") as f:
                out.append((f"kamino/{name}", f.read()))
    return out


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (os.path.join(ROOT, "src") + "\n").encode()
    return _write_wheel(wheel_directory, [(f"{NAME}.pth", pth)])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/kamino_build.py"]:
            tar.add(os.path.join(ROOT, rel), f"{base}/{rel}")
        for name, _ in _package_files():
            tar.add(os.path.join(ROOT, "src", name), f"{base}/src/{name}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = METADATA.encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
