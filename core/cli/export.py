"""`export`: a run's network as an ONNX file (0..1 RGB pixels in, class scores out), checked against PyTorch on
request."""
from __future__ import annotations

from pathlib import Path

from core.cli._common import CliError, add_json, say
from core.data import sources as datasets
from core.runs.folder import load_model, open_run, resolve_cli_run
from core.runs.onnx_export import check_onnx, export_onnx


def add_parser(subparsers) -> None:
    export = subparsers.add_parser("export", help="write a run's network as an ONNX file")
    export.add_argument("--run", required=True, help="a run folder")
    export.add_argument("--onnx", required=True, metavar="FILE", help="where to write the ONNX file (.onnx)")
    export.add_argument("--check", type=int, default=0, metavar="N",
                        help="also run the file in ONNX Runtime on the first N test images and compare with PyTorch")
    export.add_argument("--data", help="with --check: data source (default: the one the run trained on)")
    add_json(export)
    export.set_defaults(handler=cmd_export)


def cmd_export(args) -> dict:
    out = Path(args.onnx)
    if out.suffix.lower() != ".onnx":
        raise CliError(f"--onnx {args.onnx} must end in .onnx")
    if not out.parent.is_dir():
        raise CliError(f"--onnx {args.onnx}: folder {out.parent} does not exist")
    if args.check < 0:
        raise CliError(f"--check must be 0 or more, got {args.check}")
    run = open_run(resolve_cli_run(args.run))
    data = export_onnx(run)
    out.write_bytes(data)
    say(args, f"wrote {out} ({len(data) / 1e6:.1f} MB): input float32 (N, 3, 32, 32) RGB in 0..1, "
              f"output (N, {len(run.classes)}) class scores")
    result = {"onnx": str(out), "bytes": len(data), "classes": list(run.classes)}
    if args.check:
        test_x = datasets.load(args.data or run.summary.source or None).test_x[:args.check]
        check = check_onnx(data, load_model(run), test_x)
        say(args, f"ONNX Runtime vs PyTorch on {check.images:,} test images: max abs difference "
                  f"{check.max_abs_diff:.2e} in the logits, same class for {check.same_class:.2%}")
        result["check"] = {"images": check.images, "max_abs_diff": check.max_abs_diff, "same_class": check.same_class}
    return result
