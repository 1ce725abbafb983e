"""Regenerate the Python client code from proto/ into clients/ (run after editing a .proto).

    python scripts/gen_proto.py            # write clients/kopilka/v1/*_pb2*.py
    python scripts/gen_proto.py --out DIR  # write elsewhere (the freshness test does this)

The .pyi stubs come from mypy-protobuf (a test extra), not protoc's own --pyi_out: it also
types the *_pb2_grpc modules, so servicers are checked against their service under mypy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def _plugin(name: str) -> str:
    """The path of a protoc plugin script installed beside this Python (or on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: pip install mypy-protobuf (a test extra)")
    return found


def generate(out: Path) -> None:
    """Run protoc (from grpcio-tools) with the Python and gRPC plugins and mypy-protobuf's."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}", f"--mypy_out={out}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--mypy_grpc_out={out}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "clients")
    generate(parser.parse_args().out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
